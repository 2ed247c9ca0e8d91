import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dayOf } from './layout.ts';
import { PartitionLog, type Segment, type SegmentLimits } from './segment.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1, 23, 59, 59, 990);
const NEVER: SegmentLimits = { records: 1e9, bytes: 1e12, ageMs: 1e12 };
const body = (n: number) => Buffer.from(`body-${n}`);

describe('PartitionLog', () => {
  it('starts a new segment when the day or the writer schema changes', () => {
    const log = new PartitionLog('t', 2, 10);
    expect(log.add(10, T0, 1, body(10), 0)).toBeUndefined();
    expect(log.add(11, T0 + 5, 1, body(11), 0)).toBeUndefined();
    const first = log.add(12, T0 + 20, 1, body(12), 0); // the next UTC day
    expect(first).toMatchObject({ first: 10, last: 11, date: '2026-01-01', schemaId: 1 });
    const second = log.add(13, T0 + 21, 2, body(13), 0); // another writer schema
    expect(second).toMatchObject({ first: 12, last: 12, date: '2026-01-02', schemaId: 1 });
    expect(log.take(NEVER, 0, true)).toMatchObject({ first: 13, last: 13, schemaId: 2 });
    expect(log.next).toBe(14);
  });

  it('keeps skipped offsets in the range of the file written next, with or without records', () => {
    const log = new PartitionLog('t', 0, 0);
    log.skip(0, T0, 0);
    log.skip(1, T0, 0);
    log.add(2, T0 + DAY, 7, body(2), 0);
    log.skip(3, T0, 0);
    expect(log.take(NEVER, 0, true)).toMatchObject({ first: 0, last: 3, schemaId: 7, date: dayOf(T0 + DAY) });
    log.skip(4, T0, 0);
    const empty = log.take(NEVER, 0, true);
    expect(empty).toMatchObject({ first: 4, last: 4, schemaId: null, records: [] });
  });

  it('is due by records, bytes or age', () => {
    const log = new PartitionLog('t', 0, 0);
    log.add(0, T0, 1, body(0), 1_000);
    log.add(1, T0, 1, body(1), 1_000);
    expect(log.take({ ...NEVER, records: 3 }, 1_000)).toBeUndefined();
    expect(log.take({ ...NEVER, ageMs: 500 }, 1_400)).toBeUndefined();
    expect(log.take({ ...NEVER, bytes: 1_000 }, 1_000)).toBeUndefined();
    expect(log.pending()).toBe(2);
    expect(log.take({ ...NEVER, ageMs: 500 }, 1_500)?.records).toHaveLength(2);
    log.add(2, T0, 1, body(2), 2_000);
    log.add(3, T0, 1, body(3), 2_000);
    expect(log.take({ ...NEVER, records: 2 }, 2_000)?.first).toBe(2);
    log.add(4, T0, 1, Buffer.alloc(100), 2_000);
    expect(log.take({ ...NEVER, bytes: 100 }, 2_000)?.first).toBe(4);
    expect(log.pending()).toBe(0);
  });

  it('refuses an offset below the next one (a duplicate would follow)', () => {
    const log = new PartitionLog('t', 0, 5);
    expect(() => log.add(4, T0, 1, body(4), 0)).toThrow(/below the next one/);
    expect(() => log.skip(4, T0, 0)).toThrow(/below the next one/);
  });

  it('property: segments tile the offsets seen, one day and one schema each, every record once', () => {
    const step = fc.record({
      gap: fc.nat(3),
      accept: fc.boolean(),
      dayJump: fc.nat(2).map((n) => (n === 2 ? DAY : 0)),
      schema: fc.constantFrom(1, 1, 1, 2),
      take: fc.nat(4),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), fc.integer({ min: 1, max: 5 }), (steps, maxRecords) => {
        const log = new PartitionLog('t', 0, 0);
        const segments: Segment[] = [];
        const accepted: number[] = [];
        const seen: number[] = [];
        let offset = -1;
        let t = T0;
        let clock = 0;
        for (const s of steps) {
          offset += 1 + s.gap; // compacted topics have holes in their offsets
          t += s.dayJump;
          clock += 10;
          seen.push(offset);
          if (s.accept) {
            const done = log.add(offset, t, s.schema, Buffer.from(`${offset}:${t}:${s.schema}`), clock);
            if (done) segments.push(done);
            accepted.push(offset);
          } else log.skip(offset, t, clock);
          const due = log.take({ records: maxRecords, bytes: 1e9, ageMs: 25 }, clock, s.take === 0);
          if (due) segments.push(due);
        }
        const last = log.take(NEVER, clock, true);
        if (last) segments.push(last);
        // In order and disjoint; every offset seen lies in exactly one segment's range.
        for (let i = 1; i < segments.length; i++)
          expect(segments[i]!.first).toBeGreaterThan(segments[i - 1]!.last);
        for (const o of seen) expect(segments.filter((g) => g.first <= o && o <= g.last)).toHaveLength(1);
        const archived: number[] = [];
        for (const seg of segments) {
          for (const r of seg.records) {
            const [o, time, schema] = r[1]!.toString().split(':').map(Number) as [number, number, number];
            expect(o).toBeGreaterThanOrEqual(seg.first);
            expect(o).toBeLessThanOrEqual(seg.last);
            expect(dayOf(time)).toBe(seg.date);
            expect(schema).toBe(seg.schemaId);
            archived.push(o);
          }
        }
        expect(archived).toEqual(accepted);
        expect(log.next).toBe(offset + 1);
      }),
    );
  });
});
