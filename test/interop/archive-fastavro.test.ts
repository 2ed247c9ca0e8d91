import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listArchive } from '@leadscorer/archive';
import { createCatalogue } from '@leadscorer/contracts';
import { describe, expect, it } from 'vitest';
import { writeArchive } from '../../libs/replay/src/test-support.ts';

// A reader we did not write: fastavro (installed by scripts/ensure-tools.sh into .infra/python)
// reads archive files as any Avro tool would, schema from the header, both codecs, and sees each
// message with its Kafka partition, offset and timestamp as ordinary fields.

const root = join(import.meta.dirname, '../..');
const PYTHON = '/usr/bin/python3';
const env = { ...process.env, PYTHONPATH: join(root, '.infra/python'), PYTHONDONTWRITEBYTECODE: '1' };
const available = spawnSync(PYTHON, ['-c', 'import fastavro'], { env }).status === 0;

const READ = `
import json, sys, fastavro
out = []
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        reader = fastavro.reader(f)
        codec = reader.codec
        for r in reader:
            out.append({'codec': codec, 'partition': r['partition'], 'offset': r['offset'],
                        'timestamp': r['timestamp'].timestamp() * 1000 if hasattr(r['timestamp'], 'timestamp') else r['timestamp'],
                        'leadId': r['value']['leadId'], 'eventId': r['value']['eventId']})
print(json.dumps(out))
`;

describe.skipIf(!available)('archive files read by fastavro', () => {
  it('gives every record with its Kafka coordinates, deflate and null codecs alike', async () => {
    const catalogue = createCatalogue({ prefix: 'fa.' });
    const t0 = Date.UTC(2026, 4, 1, 8);
    const messages = Array.from({ length: 120 }, (_, i) => ({
      topic: 'lead.outcome.v1' as const,
      leadId: `lead-${i % 9}`,
      record: {
        eventId: `o-${i}`,
        leadId: `lead-${i % 9}`,
        eventTime: t0 + i,
        result: i % 2 ? 'WON' : 'LOST',
        opportunityId: null,
        amount: i % 2 ? 100.5 : null,
        currency: i % 2 ? 'EUR' : null,
        reason: null,
      },
      timestamp: t0 + i * 1000,
    }));
    const expected: {
      partition: number;
      offset: number;
      timestamp: number;
      leadId: string;
      eventId: string;
    }[] = [];
    const files: string[] = [];
    for (const codec of ['deflate', 'null'] as const) {
      const dir = mkdtempSync(join(tmpdir(), `archive-fastavro-${codec}-`));
      const seeded = await writeArchive(dir, catalogue, messages, { codec, recordsPerFile: 25 });
      for (const m of seeded)
        expected.push({
          partition: m.partition,
          offset: m.offset,
          timestamp: m.timestamp,
          leadId: m.leadId,
          eventId: m.record.eventId as string,
        });
      for (const partitions of listArchive(dir).values())
        for (const list of partitions.values()) files.push(...list.map((f) => f.path));
    }
    const r = spawnSync(PYTHON, ['-c', READ, ...files], { env, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as ((typeof expected)[number] & { codec: string })[];
    expect(new Set(got.map((g) => g.codec))).toEqual(new Set(['deflate', 'null']));
    const key = (x: (typeof expected)[number]) =>
      `${x.partition}/${x.offset}/${x.timestamp}/${x.leadId}/${x.eventId}`;
    expect(got.map(key).sort()).toEqual(expected.map(key).sort());
  });
});
