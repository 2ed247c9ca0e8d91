import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { archivedSchema } from './archived-record.ts';
import { type Codec, encodeContainer } from './container.ts';
import { dayDir, fileName, temporaryFiles, temporaryName } from './layout.ts';
import type { Segment } from './segment.ts';

/**
 * Writing a file so that it is either entirely on disk under its final name or not there at all:
 * write a temporary name in the same directory, fsync it, rename it, fsync the directory (and
 * the directories created for it, so their entries survive a power loss too). After a crash the
 * final names on disk are exactly the files whose rename completed.
 */

export interface WrittenFile {
  path: string;
  bytes: number;
  records: number;
}

/** Header metadata of an archive file (besides avro.schema and avro.codec). */
export const META_KEYS = {
  topic: 'leadscorer.topic',
  partition: 'leadscorer.partition',
  first: 'leadscorer.offset.first',
  last: 'leadscorer.offset.last',
  schemaId: 'leadscorer.schema.id',
  records: 'leadscorer.records',
} as const;

/**
 * Writes a segment as an archive file. `valueSchema` is the records' writer schema (for a segment
 * without records, any schema of the topic: the file holds none).
 */
export async function writeSegment(
  root: string,
  seg: Segment,
  valueSchema: Record<string, unknown>,
  codec: Codec,
): Promise<WrittenFile> {
  const chunks = encodeContainer({
    schema: JSON.stringify(archivedSchema(valueSchema)),
    codec,
    meta: {
      [META_KEYS.topic]: seg.topic,
      [META_KEYS.partition]: String(seg.partition),
      [META_KEYS.first]: String(seg.first),
      [META_KEYS.last]: String(seg.last),
      [META_KEYS.schemaId]: seg.schemaId === null ? '' : String(seg.schemaId),
      [META_KEYS.records]: String(seg.records.length),
    },
    records: seg.records,
  });
  const dir = dayDir(root, seg.topic, seg.date);
  const path = await writeAtomically(dir, fileName(seg.partition, seg.first, seg.last), chunks);
  return { path, bytes: chunks.reduce((n, c) => n + c.length, 0), records: seg.records.length };
}

/** Writes `chunks` as dir/name (replacing it if it exists), atomically and durably. */
export async function writeAtomically(dir: string, name: string, chunks: readonly Buffer[]): Promise<string> {
  await ensureDir(dir);
  const tmp = join(dir, temporaryName(name));
  const path = join(dir, name);
  const fh = await open(tmp, 'w');
  try {
    await fh.writev(chunks as Buffer[]);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await syncDir(dir);
  return path;
}

/** Removes temporary files a crash left behind; returns how many. */
export async function removeTemporaryFiles(root: string): Promise<number> {
  const files = temporaryFiles(root);
  for (const f of files) await rm(f, { force: true });
  return files.length;
}

async function ensureDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created === undefined) return;
  // New directories are entries of their parents: make each of those entries durable, from the
  // first new one's parent down to the parent of `dir` (`dir` itself is synced after the rename).
  const parts = relative(dirname(created), dir).split(sep);
  let at = dirname(created);
  for (const p of parts) {
    await syncDir(at);
    at = join(at, p);
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
