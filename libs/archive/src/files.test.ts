import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AVRO_SCHEMAS } from '@leadscorer/contracts';
import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { eraseLeads } from './erase.ts';
import { META_KEYS, removeTemporaryFiles, writeSegment } from './files.ts';
import { dayDir, listArchive, nextOffset, temporaryFiles } from './layout.ts';
import { readArchiveFile } from './read.ts';
import { PartitionLog, type Segment } from './segment.ts';

const TOPIC = 'x.engagement.email.v1';
const SCHEMA = AVRO_SCHEMAS['engagement.email.v1'];
const type = avsc.Type.forSchema(SCHEMA as avsc.Schema);
const T0 = Date.UTC(2026, 2, 3, 10);

function email(i: number, lead: string) {
  return {
    eventId: `e-${i}`,
    leadId: lead,
    eventTime: T0 + i,
    action: 'OPEN',
    campaignId: 'c1',
    messageId: `m-${i}`,
    deliveredAt: null,
    userAgent: null,
    linkUrl: null,
  };
}

/** A partition's messages as segments of `per` records: offsets 0.., leads a, b, c in turn. */
function segments(partition: number, count: number, per: number): Segment[] {
  const log = new PartitionLog(TOPIC, partition, 0);
  const out: Segment[] = [];
  for (let i = 0; i < count; i++) {
    log.add(i, T0 + i, 11, type.toBuffer(email(i, ['a', 'b', 'c'][i % 3]!)), 0);
    const due = log.take({ records: per, bytes: 1e9, ageMs: 1e9 }, 0);
    if (due) out.push(due);
  }
  const last = log.take({ records: per, bytes: 1e9, ageMs: 1e9 }, 0, true);
  if (last) out.push(last);
  return out;
}

describe('archive files on disk', () => {
  it('are written under their offset range, listed in order, and read back record by record', async () => {
    const root = mkdtempSync(join(tmpdir(), 'archive-files-'));
    for (const seg of segments(1, 25, 10)) await writeSegment(root, seg, SCHEMA, 'deflate');
    for (const seg of segments(0, 3, 10)) await writeSegment(root, seg, SCHEMA, 'null');
    const listed = listArchive(root).get(TOPIC)!;
    expect(listed.get(1)!.map((f) => [f.first, f.last])).toEqual([
      [0, 9],
      [10, 19],
      [20, 24],
    ]);
    expect(nextOffset(listed.get(1))).toBe(25);
    expect(nextOffset(listed.get(0))).toBe(3);
    expect(nextOffset(listed.get(5))).toBe(0);
    expect(listed.get(1)![0]!.path).toBe(
      join(dayDir(root, TOPIC, '2026-03-03'), `p1-${'0'.repeat(19)}-${'9'.padStart(19, '0')}.avro`),
    );
    const second = readArchiveFile(listed.get(1)![1]!.path);
    expect(second.header.meta[META_KEYS.first]).toBe('10');
    expect(second.header.meta[META_KEYS.schemaId]).toBe('11');
    expect(second.records.map((r) => [r.partition, r.offset, r.timestamp])).toEqual(
      Array.from({ length: 10 }, (_, i) => [1, 10 + i, T0 + 10 + i]),
    );
    expect(second.records[0]!.value).toEqual(email(10, 'b'));
    // Nothing but the final names is left behind.
    for (const files of listed.values())
      for (const f of files)
        expect(readdirSync(join(f.path, '..')).every((n) => !n.startsWith('.'))).toBe(true);
  });

  it('ignore and remove the temporary files an interrupted write leaves', async () => {
    const root = mkdtempSync(join(tmpdir(), 'archive-tmp-'));
    const [seg] = segments(0, 5, 10);
    await writeSegment(root, seg!, SCHEMA, 'null');
    const dir = dayDir(root, TOPIC, '2026-03-03');
    const stale = join(dir, `.p0-${'5'.padStart(19, '0')}-${'9'.padStart(19, '0')}.avro.tmp`);
    writeFileSync(stale, 'half a file');
    mkdirSync(join(root, 'not-a-topic'));
    expect(nextOffset(listArchive(root).get(TOPIC)?.get(0))).toBe(5);
    expect(temporaryFiles(root)).toEqual([stale]);
    expect(await removeTemporaryFiles(root)).toBe(1);
    expect(temporaryFiles(root)).toEqual([]);
  });

  it('erasure rewrites only the files holding the leads, keeps names and the other records', async () => {
    const root = mkdtempSync(join(tmpdir(), 'archive-erase-'));
    // Partition 0: leads a, b, c in turn; partition 2: lead a only.
    for (const seg of segments(0, 30, 12)) await writeSegment(root, seg, SCHEMA, 'deflate');
    const log = new PartitionLog(TOPIC, 2, 0);
    for (let i = 0; i < 4; i++) log.add(i, T0, 11, type.toBuffer(email(100 + i, 'a')), 0);
    await writeSegment(root, log.take({ records: 1, bytes: 1, ageMs: 1 }, 0)!, SCHEMA, 'null');
    const before = listArchive(root).get(TOPIC)!;
    const untouched = before.get(2)![0]!;
    const inodeBefore = statSync(untouched.path).ino;
    const content = (path: string) => readArchiveFile(path).records;

    const result = await eraseLeads(root, new Set(['b', 'nobody']));
    expect(result).toEqual({ filesScanned: 4, filesRewritten: 3, recordsRemoved: 10 });
    const after = listArchive(root).get(TOPIC)!;
    expect(after.get(0)!.map((f) => f.path)).toEqual(before.get(0)!.map((f) => f.path));
    const kept = after.get(0)!.flatMap((f) => content(f.path));
    expect(kept.map((r) => r.offset)).toEqual(
      Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 !== 1),
    );
    expect(kept.every((r) => (r.value as { leadId: string }).leadId !== 'b')).toBe(true);
    expect(readArchiveFile(after.get(0)![0]!.path).header.meta[META_KEYS.records]).toBe('8');
    expect(statSync(untouched.path).ino).toBe(inodeBefore);
    expect(temporaryFiles(root)).toEqual([]);

    expect(await eraseLeads(root, new Set(['b']))).toMatchObject({ filesRewritten: 0, recordsRemoved: 0 });
  });
});
