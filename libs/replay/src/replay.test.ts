import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dayDir, listArchive } from '@leadscorer/archive';
import { createCatalogue, type InputTopicName } from '@leadscorer/contracts';
import {
  advanceLead,
  applyItem,
  HISTORY_LENGTH,
  type LeadRecord,
  newRecord,
  sourceId,
  TYPE_CODES,
} from '@leadscorer/core';
import { evaluateEvent, loadModel, nextChangeAt, stateView } from '@leadscorer/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateEvents, prng } from '../../../test/support/event-gen.ts';
import { toRecord } from '../../../test/support/records.ts';
import { MODEL_FILE } from '../../../test/support/scorer.ts';
import { replay } from './replay.ts';
import { type SeededMessage, type SeedMessage, writeArchive } from './test-support.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5);
const model = loadModel(readFileSync(MODEL_FILE, 'utf8'), MODEL_FILE);
const catalogue = createCatalogue({ prefix: 'r.', partitions: 3 });
const ORDER = catalogue.inputs.map((t) => t.name);

/**
 * A month of mixed traffic for 40 leads (negative rules, duplicates, bots, late events) and
 * outcomes, in the order producers publish it. Producers' clocks differ: one message in ten is
 * stamped up to two hours behind, so a partition's timestamps go back now and then.
 */
function history(): SeedMessage[] {
  const generated = generateEvents({
    seed: 7,
    leads: 40,
    events: 3000,
    start: T0,
    stepMs: 15 * 60_000,
    maxLagMs: 2 * DAY,
    leadPrefix: 'r',
  });
  const rnd = prng(3);
  const out: (SeedMessage & { published: number })[] = generated.map((g) => {
    const { topic, record } = toRecord(g.event);
    return { topic, leadId: g.event.leadId, record, timestamp: g.arrival, published: g.arrival };
  });
  for (let i = 0; i < 60; i++) {
    const lead = `r-${i % 40}`;
    const t = T0 + Math.floor(rnd() * 30 * DAY);
    const record = {
      eventId: `o-${i}`,
      leadId: lead,
      eventTime: t,
      result: rnd() < 0.4 ? 'WON' : 'LOST',
      opportunityId: null,
      amount: null,
      currency: null,
      reason: null,
    };
    out.push({ topic: 'lead.outcome.v1', leadId: lead, record, timestamp: t, published: t });
  }
  out.sort((a, b) => a.published - b.published);
  for (const m of out) if (rnd() < 0.1) m.timestamp -= Math.floor(rnd() * 2 * 3_600_000);
  return out.map(({ published: _, ...m }) => m);
}

interface Step {
  m: SeededMessage;
  time: number;
}

/** The merge order, computed independently: per partition the running max of timestamps. */
function ordered(seeded: SeededMessage[]): Step[] {
  const byPartition = new Map<string, SeededMessage[]>();
  for (const m of seeded) {
    const k = `${m.topic}/${m.partition}`;
    byPartition.set(k, [...(byPartition.get(k) ?? []), m]);
  }
  const steps: Step[] = [];
  for (const list of byPartition.values()) {
    let max = Number.NEGATIVE_INFINITY;
    for (const m of list.sort((a, b) => a.offset - b.offset)) {
      max = Math.max(max, m.timestamp);
      steps.push({ m, time: max });
    }
  }
  const rank = (t: InputTopicName) => ORDER.indexOf(t);
  return steps.sort(
    (a, b) =>
      a.time - b.time ||
      rank(a.m.topic) - rank(b.m.topic) ||
      a.m.partition - b.m.partition ||
      a.m.offset - b.m.offset,
  );
}

/** The oracle: the scoring core, event by event in that order, and fading-leads' moves between. */
function oracle(steps: Step[], opts: { timeDriven: boolean; now?: number }) {
  const records = new Map<string, LeadRecord & { lastNow: number }>();
  const atOutcome: string[] = [];
  const changes: unknown[] = [];
  const catchUp = (lead: string, r: LeadRecord & { lastNow: number }, now: number) => {
    for (;;) {
      const due = nextChangeAt(r.state, r.lastNow, model);
      if (!opts.timeDriven || due === null || due > now) return;
      advanceLead(r, lead, due, model, HISTORY_LENGTH);
      r.lastNow = due;
    }
  };
  for (const { m, time } of steps) {
    const now = opts.now ?? time;
    const topic = catalogue.get(m.topic);
    let r = records.get(m.leadId);
    if (topic.eventType === null) {
      if (r) catchUp(m.leadId, r, now);
      atOutcome.push(JSON.stringify(r ? stateView(r.state) : null));
      continue;
    }
    const fresh = !r;
    r ??= { ...newRecord(model), lastNow: now };
    if (!fresh) catchUp(m.leadId, r, now);
    const source = sourceId(TYPE_CODES[topic.eventType]!, m.partition);
    const { mapToScoringEvent } = contracts;
    const event = mapToScoringEvent(m.topic, m.record as never)!;
    const item = { leadId: m.leadId, source, offset: m.offset, effect: evaluateEvent(model, event) };
    const outcome = applyItem(r, item, now, model, HISTORY_LENGTH, changes as never[]);
    if (outcome === 'applied') r.lastNow = now;
    if (!fresh || outcome !== 'filtered') records.set(m.leadId, r);
  }
  return { records, atOutcome };
}

const contracts = await import('@leadscorer/contracts');

function comparable(r: LeadRecord) {
  return { state: stateView(r.state), offsets: [...r.offsets].sort(), history: r.history, due: r.due };
}

describe('replay from the archive', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-test-'));
  let seeded: SeededMessage[] = [];
  let steps: Step[] = [];
  beforeAll(async () => {
    seeded = await writeArchive(dir, catalogue, history(), { partitions: 3, recordsPerFile: 97 });
    steps = ordered(seeded);
  });

  it('ends in the states the scoring core reaches event by event in replay order, with fading between', async () => {
    const { records } = oracle(steps, { timeDriven: true });
    for (const [, r] of records) r.due = nextChangeAt(r.state, r.lastNow, model);
    const result = await replay({ model, catalogue, archiveDir: dir });
    expect(result.records.size).toBe(records.size);
    for (const [lead, want] of records) {
      const { lastNow: _, ...w } = want;
      expect(comparable(result.records.get(lead)!), lead).toEqual(comparable(w));
    }
    const causes = [...result.records.values()].flatMap((r) => r.history.map((h) => h.cause.kind));
    expect(causes, 'time-driven moves happened').toContain('decay');
    expect(result.stats.events + result.stats.outcomes).toBe(seeded.length);
    expect(result.stats.files).toBeGreaterThan(30);
    // Positions: one past the last offset of every partition.
    const ends = new Map<string, number>();
    for (const m of seeded) {
      const k = `${catalogue.get(m.topic).topic}/${m.partition}`;
      ends.set(k, Math.max(ends.get(k) ?? 0, m.offset + 1));
    }
    expect(new Map(result.positions.map((p) => [`${p.topic}/${p.partition}`, p.offset]))).toEqual(ends);
  });

  it('hands the observer every record in replay order, outcomes with the lead as it is then', async () => {
    const { atOutcome } = oracle(steps, { timeDriven: true });
    const seen: string[] = [];
    const times: number[] = [];
    const offsets = new Map<string, number>();
    let changes = 0;
    await replay({
      model,
      catalogue,
      archiveDir: dir,
      observer: {
        event: (s) => {
          times.push(s.time);
          const k = `${s.topic}/${s.partition}`;
          expect(s.offset).toBeGreaterThan(offsets.get(k) ?? -1);
          offsets.set(k, s.offset);
          expect(s.record.state).toBeDefined();
        },
        outcome: (s) => {
          times.push(s.time);
          seen.push(JSON.stringify(s.record ? stateView(s.record.state) : null));
        },
        stageChange: (c, r) => {
          expect(r.history[0]!.seq).toBe(c.seq);
          changes++;
        },
      },
    });
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times).toHaveLength(seeded.length);
    expect(seen).toEqual(atOutcome);
    expect(changes).toBeGreaterThan(20);
  });

  it('without time-driven moves, at a fixed now, and with every field decoded: as the oracle says', async () => {
    const plain = oracle(steps, { timeDriven: false, now: T0 + 40 * DAY }).records;
    const result = await replay({
      model,
      catalogue,
      archiveDir: dir,
      timeDriven: false,
      now: T0 + 40 * DAY,
      allFields: true,
    });
    for (const [lead, want] of plain) {
      expect(stateView(result.records.get(lead)!.state), lead).toEqual(stateView(want.state));
      expect(result.records.get(lead)!.history.some((h) => h.cause.kind === 'decay')).toBe(false);
    }
    let url: unknown;
    await replay({
      model,
      catalogue,
      archiveDir: dir,
      allFields: true,
      observer: {
        event: (s) => {
          if (s.event.type === 'web') url ??= s.event.props.url;
        },
      },
    });
    expect(url).toMatch(/^https:/);
  });

  it('stops at `until`, with positions at the first record not replayed', async () => {
    const until = T0 + 10 * DAY;
    const prefix = steps.filter((s) => s.time <= until);
    const { records } = oracle(prefix, { timeDriven: true });
    const result = await replay({ model, catalogue, archiveDir: dir, until });
    expect(result.stats.events + result.stats.outcomes).toBe(prefix.length);
    for (const [lead, want] of records)
      expect(stateView(result.records.get(lead)!.state), lead).toEqual(stateView(want.state));
    for (const p of result.positions) {
      const rest = steps.filter(
        (s) => catalogue.get(s.m.topic).topic === p.topic && s.m.partition === p.partition && s.time > until,
      );
      if (rest.length > 0) expect(p.offset).toBe(Math.min(...rest.map((s) => s.m.offset)));
    }
  });

  it('stops each partition at its `stopAt` offset, with positions there', async () => {
    // Every partition stops at a third of its offsets; one topic is not limited at all.
    const limited = (topic: string) => !topic.endsWith('engagement.email.v1');
    const stop = (topic: string, partition: number) => {
      const offsets = steps
        .filter((s) => catalogue.get(s.m.topic).topic === topic && s.m.partition === partition)
        .map((s) => s.m.offset);
      return limited(topic) ? Math.floor(Math.max(0, ...offsets) / 3) : undefined;
    };
    const kept = steps.filter((s) => {
      const at = stop(catalogue.get(s.m.topic).topic, s.m.partition);
      return at === undefined || s.m.offset < at;
    });
    expect(kept.length).toBeLessThan(steps.length);
    const { records } = oracle(kept, { timeDriven: true });
    const result = await replay({ model, catalogue, archiveDir: dir, stopAt: stop });
    expect(result.stats.events + result.stats.outcomes).toBe(kept.length);
    for (const [lead, want] of records)
      expect(stateView(result.records.get(lead)!.state), lead).toEqual(stateView(want.state));
    for (const p of result.positions) {
      const at = stop(p.topic, p.partition);
      if (at !== undefined) expect(p.offset, `${p.topic}/${p.partition}`).toBe(at);
    }
  });

  it('split by lead into parts: the parts hold the whole replay records, and the lowest positions are its', async () => {
    const stop = (_topic: string, partition: number) => (partition === 1 ? 40 : undefined);
    const whole = await replay({ model, catalogue, archiveDir: dir, stopAt: stop });
    const parts = await Promise.all(
      [0, 1, 2].map((index) =>
        replay({ model, catalogue, archiveDir: dir, stopAt: stop, part: { index, of: 3 } }),
      ),
    );
    const merged = new Map<string, LeadRecord>();
    for (const p of parts) for (const [lead, r] of p.records) merged.set(lead, r);
    expect(parts.every((p) => p.records.size > 0)).toBe(true);
    expect(parts.reduce((n, p) => n + p.records.size, 0)).toBe(whole.records.size);
    for (const [lead, r] of whole.records) expect(comparable(merged.get(lead)!), lead).toEqual(comparable(r));
    expect(parts.reduce((n, p) => n + p.stats.events + p.stats.outcomes, 0)).toBe(
      whole.stats.events + whole.stats.outcomes,
    );
    const lowest = new Map<string, number>();
    for (const p of parts)
      for (const q of p.positions) {
        const k = `${q.topic}/${q.partition}`;
        lowest.set(k, Math.min(lowest.get(k) ?? Number.POSITIVE_INFINITY, q.offset));
      }
    expect(lowest).toEqual(new Map(whole.positions.map((q) => [`${q.topic}/${q.partition}`, q.offset])));
  });

  it('reads each offset once when two files overlap, and refuses a broken file by name', async () => {
    const other = mkdtempSync(join(tmpdir(), 'replay-overlap-'));
    const copied = await writeArchive(other, catalogue, history().slice(0, 400), {
      partitions: 3,
      recordsPerFile: 50,
    });
    const file = [...listArchive(other).values()][0]!.get(0)![1]!;
    const elsewhere = dayDir(other, file.topic, '1999-01-01');
    mkdirSync(elsewhere, { recursive: true });
    copyFileSync(file.path, join(elsewhere, file.path.split('/').pop()!));
    const result = await replay({ model, catalogue, archiveDir: other });
    expect(result.stats.overlaps).toBeGreaterThan(0);
    expect(result.stats.events + result.stats.outcomes).toBe(copied.length);
    writeFileSync(join(elsewhere, file.path.split('/').pop()!), 'not avro');
    await expect(replay({ model, catalogue, archiveDir: other })).rejects.toThrow(
      /1999-01-01.*byte 0: not an Avro object container file/,
    );
  });
});
