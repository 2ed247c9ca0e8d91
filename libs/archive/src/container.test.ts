import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AVRO_SCHEMAS } from '@leadscorer/contracts';
import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { archivedSchema, encodeMeta } from './archived-record.ts';
import { BlockReader, type Codec, encodeContainer, readHeader } from './container.ts';
import { forEachRecord } from './read.ts';

const dir = mkdtempSync(join(tmpdir(), 'archive-container-'));
const schema = archivedSchema(AVRO_SCHEMAS['engagement.web-visit.v1']);
const type = avsc.Type.forSchema(schema as avsc.Schema);
const valueType = avsc.Type.forSchema(AVRO_SCHEMAS['engagement.web-visit.v1'] as avsc.Schema);

function visit(i: number) {
  return {
    eventId: `ev-${i}`,
    leadId: `lead-${i % 7}`,
    eventTime: 1_767_262_500_000 + i,
    url: `https://example.com/pricing?i=${i}`,
    path: '/pricing',
    referrer: i % 2 ? null : 'https://www.google.com/',
    userAgent: 'Mozilla/5.0 (Macintosh) Safari/605.1',
    sessionId: null,
    durationSeconds: i % 3 ? i : null,
  };
}

const archived = (i: number) => ({
  partition: 3,
  offset: 1000 + i,
  timestamp: 1_767_262_600_000 + i,
  value: visit(i),
});

/** Reads a file with avsc's own container decoder (a stream), as any other tool would. */
function readWithAvsc(path: string): Promise<{ records: unknown[]; meta: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const records: unknown[] = [];
    let meta: Record<string, string> = {};
    avsc
      .createFileDecoder(path)
      .on('metadata', (_type: unknown, _codec: unknown, header: { meta: Record<string, Buffer> }) => {
        meta = Object.fromEntries(Object.entries(header.meta).map(([k, v]) => [k, v.toString()]));
      })
      .on('data', (r: unknown) => records.push(r))
      .on('error', reject)
      .on('end', () => resolve({ records, meta }));
  });
}

describe('Avro object container files', () => {
  for (const codec of ['null', 'deflate'] as Codec[]) {
    it(`written from raw value bodies, read by avsc's container decoder (${codec})`, async () => {
      // Several blocks: 300 records of ~150 bytes with 4 KiB blocks.
      const records = Array.from({ length: 300 }, (_, i) => {
        const r = archived(i);
        return [encodeMeta(r.partition, r.offset, r.timestamp), valueType.toBuffer(r.value)];
      });
      const path = join(dir, `raw-${codec}.avro`);
      writeFileSync(
        path,
        Buffer.concat(
          encodeContainer({
            schema: JSON.stringify(schema),
            codec,
            meta: { 'leadscorer.topic': 'engagement.web-visit.v1' },
            records,
            blockBytes: 4096,
          }),
        ),
      );
      const { records: got, meta } = await readWithAvsc(path);
      expect(got.map((r) => JSON.parse(JSON.stringify(r)))).toEqual(
        Array.from({ length: 300 }, (_, i) => archived(i)),
      );
      expect(meta['avro.codec']).toBe(codec);
      expect(meta['leadscorer.topic']).toBe('engagement.web-visit.v1');
      expect(JSON.parse(meta['avro.schema']!)).toEqual(schema);
    });

    it(`reads, block by block, what avsc's container encoder wrote (${codec})`, async () => {
      const path = join(dir, `avsc-${codec}.avro`);
      await new Promise<void>((resolve, reject) => {
        const enc = avsc.createFileEncoder(path, type, { codec, blockSize: 2048 });
        enc.on('finish', resolve).on('error', reject);
        for (let i = 0; i < 200; i++) enc.write(archived(i));
        enc.end();
      });
      // The file stream flushes after the encoder finishes: wait for the bytes.
      await new Promise((r) => setTimeout(r, 50));
      const buf = readFileSync(path);
      const header = readHeader(buf, path);
      expect(header.codec).toBe(codec);
      const got: unknown[] = [];
      const blocks = new BlockReader(buf, header, path);
      let count = 0;
      while (blocks.next()) count++;
      expect(count).toBeGreaterThan(1);
      forEachRecord(buf, header, path, (r) => got.push(r));
      expect(JSON.parse(JSON.stringify(got))).toEqual(Array.from({ length: 200 }, (_, i) => archived(i)));
    });
  }

  it('refuses a file that is not a container, is cut short or has a block overwritten, naming it', () => {
    const records = Array.from({ length: 50 }, (_, i) => [valueType.toBuffer(visit(i))]);
    const good = Buffer.concat(
      encodeContainer({
        schema: JSON.stringify(AVRO_SCHEMAS['engagement.web-visit.v1']),
        codec: 'null',
        meta: {},
        records,
      }),
    );
    const readAll = (buf: Buffer) => forEachRecord(buf, readHeader(buf, 'x.avro'), 'x.avro', () => {});
    expect(() => readAll(good)).not.toThrow();
    expect(() => readAll(Buffer.from('{"json": true}'))).toThrow(
      /x\.avro: byte 0: not an Avro object container file/,
    );
    expect(() => readAll(good.subarray(0, good.length - 20))).toThrow(/x\.avro: byte \d+: truncated block/);
    const broken = Buffer.from(good);
    broken.fill(0, broken.length - 16);
    expect(() => readAll(broken)).toThrow(/sync marker mismatch/);
    try {
      readAll(broken);
    } catch (err) {
      expect((err as { code: string }).code).toBe('ARCHIVE_INVALID');
    }
  });

  it('keeps the avro. metadata namespace to the specification', () => {
    expect(() =>
      encodeContainer({ schema: '"long"', codec: 'null', meta: { 'avro.mine': 'x' }, records: [] }),
    ).toThrow(/reserved/);
  });
});
