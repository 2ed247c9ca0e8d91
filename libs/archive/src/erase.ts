import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { encodeContainer, readHeader } from './container.ts';
import { META_KEYS, writeAtomically } from './files.ts';
import { listArchive } from './layout.ts';
import { forEachRecord } from './read.ts';

/**
 * Erasure (right to be forgotten, issue 14): rewrites every archive file that holds records of
 * the given leads without them, each atomically (a temporary file, fsync, rename over the old
 * name), so a reader sees either the old file or the new one, never half of one.
 *
 * Safe beside a running archiver: it only rewrites files under their final names, which the
 * archiver never touches again (it only adds new offset ranges). The file keeps its name: its
 * offset range still says which offsets it covers, the erased ones included, so the archiver's
 * progress and the replay's positions do not move. What it does not reach: records of these leads
 * that the archiver still holds in memory (at most ARCHIVE_FLUSH_INTERVAL_MS old) and new events
 * of the leads; run it after that interval, once the leads' producers have stopped, and again if
 * in doubt (it is idempotent). One erasure at a time: two running at once can each rewrite the
 * same file from its old content, and the later rename brings back what the earlier removed.
 */
export interface EraseResult {
  filesScanned: number;
  filesRewritten: number;
  recordsRemoved: number;
}

export async function eraseLeads(
  root: string,
  leadIds: ReadonlySet<string>,
  options: { topics?: ReadonlySet<string> } = {},
): Promise<EraseResult> {
  const result: EraseResult = { filesScanned: 0, filesRewritten: 0, recordsRemoved: 0 };
  for (const partitions of listArchive(root, options.topics).values()) {
    for (const files of partitions.values()) {
      for (const f of files) {
        result.filesScanned++;
        const removed = await eraseInFile(f.path, leadIds);
        if (removed > 0) {
          result.filesRewritten++;
          result.recordsRemoved += removed;
        }
      }
    }
  }
  return result;
}

async function eraseInFile(path: string, leadIds: ReadonlySet<string>): Promise<number> {
  const buf = readFileSync(path);
  const header = readHeader(buf, path);
  const kept: Buffer[][] = [];
  let removed = 0;
  forEachRecord(buf, header, path, (record, encoding) => {
    const lead = (record.value as { leadId?: unknown }).leadId;
    if (typeof lead === 'string' && leadIds.has(lead)) removed++;
    else kept.push([Buffer.from(encoding)]);
  });
  if (removed === 0) return 0;
  const chunks = encodeContainer({
    schema: header.schema,
    codec: header.codec,
    meta: { ...header.meta, [META_KEYS.records]: String(kept.length) },
    records: kept,
  });
  await writeAtomically(dirname(path), basename(path), chunks);
  return removed;
}
