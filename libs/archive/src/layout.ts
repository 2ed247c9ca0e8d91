import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where archive files live, and what their names say. Hive-style directories, so Spark, DuckDB and
 * friends can prune by topic and day from the path alone:
 *
 *   <ARCHIVE_DIR>/topic=<physical topic>/date=<YYYY-MM-DD>/p<partition>-<first offset>-<last offset>.avro
 *
 * The day is the UTC day of the records' Kafka timestamps (a file holds one day). The name's
 * offset range is the Kafka offsets the file covers: every offset of the partition in
 * [first, last] is either in the file or was not archivable (could not be decoded; counted by the
 * archiver). Offsets are zero-padded to 19 digits so names sort by offset. The file names are the
 * archive's progress: the next offset to archive for a partition is one past the highest `last`
 * on disk. Files are written under a dot-name ending in `.tmp` and renamed when complete, so a
 * listing never sees a partial file; a `.tmp` left by a crash is removed at the next start.
 */

export interface ArchiveFile {
  /** Physical topic name. */
  topic: string;
  partition: number;
  /** YYYY-MM-DD (UTC). */
  date: string;
  first: number;
  last: number;
  path: string;
}

const FILE = /^p(\d+)-(\d{19})-(\d{19})\.avro$/;
const TOPIC_DIR = /^topic=(.+)$/;
const DATE_DIR = /^date=(\d{4}-\d{2}-\d{2})$/;

export function fileName(partition: number, first: number, last: number): string {
  return `p${partition}-${pad(first)}-${pad(last)}.avro`;
}

/** A temporary name in the same directory (rename is atomic only within one file system). */
export function temporaryName(name: string): string {
  return `.${name}.tmp`;
}

export function isTemporary(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

export function dayDir(root: string, topic: string, date: string): string {
  return join(root, `topic=${topic}`, `date=${date}`);
}

/** The UTC day of an epoch-ms time, YYYY-MM-DD. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function pad(n: number): string {
  return String(n).padStart(19, '0');
}

export function parseFileName(name: string): { partition: number; first: number; last: number } | undefined {
  const m = FILE.exec(name);
  if (!m) return undefined;
  return { partition: Number(m[1]), first: Number(m[2]), last: Number(m[3]) };
}

/**
 * Every archive file under `root` (of the given physical topics, or all), per topic and partition,
 * in offset order. Synchronous: the archiver lists at start, before it consumes anything.
 */
export function listArchive(
  root: string,
  topics?: ReadonlySet<string>,
): Map<string, Map<number, ArchiveFile[]>> {
  const out = new Map<string, Map<number, ArchiveFile[]>>();
  for (const t of entries(root)) {
    const topic = TOPIC_DIR.exec(t)?.[1];
    if (topic === undefined || (topics && !topics.has(topic))) continue;
    const partitions = new Map<number, ArchiveFile[]>();
    out.set(topic, partitions);
    for (const d of entries(join(root, t))) {
      const date = DATE_DIR.exec(d)?.[1];
      if (date === undefined) continue;
      const dir = join(root, t, d);
      for (const f of entries(dir)) {
        const parsed = parseFileName(f);
        if (!parsed) continue;
        const list = partitions.get(parsed.partition) ?? [];
        list.push({ topic, date, ...parsed, path: join(dir, f) });
        partitions.set(parsed.partition, list);
      }
    }
    for (const list of partitions.values()) list.sort((a, b) => a.first - b.first);
  }
  return out;
}

/** Temporary files left by an interrupted write, anywhere under root. */
export function temporaryFiles(root: string): string[] {
  const out: string[] = [];
  for (const t of entries(root)) {
    if (!TOPIC_DIR.test(t)) continue;
    for (const d of entries(join(root, t))) {
      for (const f of entries(join(root, t, d))) if (isTemporary(f)) out.push(join(root, t, d, f));
    }
  }
  return out;
}

/** One past the highest archived offset of a partition's files (sorted by listArchive), or 0. */
export function nextOffset(files: readonly ArchiveFile[] | undefined): number {
  let next = 0;
  for (const f of files ?? []) next = Math.max(next, f.last + 1);
  return next;
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return [];
    throw err;
  }
}
