import { advanceTo, applyEvent, type LeadState, loadModel, nextChangeAt } from '@leadscorer/engine';
import { isLeadScorerError } from '@leadscorer/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byArrival, type HistoryItem, historyItem } from './history.ts';
import { replay } from './replay.ts';
import { handModel, web } from './test-support.ts';
import { weekStart } from './time.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 6);
const model = loadModel(handModel(40, 10), 'hand.yaml');
const subject = { label: 'm', file: 'hand.yaml', model };

/**
 * The engine alone, the obvious way, for one lead: every move due before an event replayed at
 * its millisecond, then the event; returns every stage change with its time, and the final stage.
 */
function engineRun(items: HistoryItem[], lead: string, end: number) {
  let state: LeadState | undefined;
  let at = 0;
  const changes: { from: string; to: string; at: number }[] = [];
  const advance = (t: number) => {
    if (!state) return;
    for (
      let due = nextChangeAt(state, at, model);
      due !== null && due <= t;
      due = nextChangeAt(state, at, model)
    ) {
      const moved = advanceTo(state, due, model);
      if (moved.transition) changes.push({ from: moved.transition.from, to: moved.transition.to, at: due });
      state = moved.state;
      at = due;
    }
  };
  for (const item of items) {
    if (item.kind !== 'event' || item.event.leadId !== lead || item.at > end) continue;
    advance(item.at);
    const r = applyEvent(state, item.event, item.at, model);
    if (r.transition) changes.push({ from: r.transition.from, to: r.transition.to, at: item.at });
    state = r.state;
    at = item.at;
  }
  advance(end);
  return { stage: state?.stage, changes };
}

describe('replay', () => {
  it('moves every lead as the engine does on its own: stages reached, entries per week, final stage', async () => {
    const visit = fc.record({
      lead: fc.constantFrom('a', 'b', 'c'),
      hours: fc.integer({ min: 0, max: 30 * 24 }),
      path: fc.constantFrom('/pricing', '/blog/x', '/blog/y', '/other'),
    });
    const from = T0 + 7 * DAY;
    const to = T0 + 21 * DAY;
    await fc.assert(
      fc.asyncProperty(fc.array(visit, { minLength: 1, maxLength: 40 }), async (visits) => {
        const items = byArrival(
          visits.map((v) => historyItem(web(v.lead, T0 + v.hours * 3_600_000, v.path))!),
        );
        const result = await replay(items, [subject], { from, to });
        const run = result.runs[0]!;
        const entries = new Map<number, number>();
        for (const lead of ['a', 'b', 'c']) {
          const i = result.leadIds.indexOf(lead);
          const engine = engineRun(items, lead, to - 1);
          const l = i < 0 ? undefined : run.leads[i];
          expect(l?.state.stage).toBe(engine.stage);
          if (!l) continue;
          // The first entry into each stage in the period; the stage held at its start counts at `from`.
          const before = engine.changes.filter((c) => c.at < from);
          const held = before.length > 0 ? before[before.length - 1]!.to : 'unqualified';
          const firsts = new Map<string, number>();
          if (
            engine.changes.some((c) => c.at < from) ||
            items.some((x) => x.kind === 'event' && x.event.leadId === lead && x.at < from)
          ) {
            firsts.set(held, from);
          }
          for (const c of engine.changes)
            if (c.at >= from && c.at < to && !firsts.has(c.to)) firsts.set(c.to, c.at);
          expect(new Map([...l.reached].map(([s, r]) => [s, r.at]))).toEqual(firsts);
          for (const c of engine.changes) {
            if (c.to === 'mql' && c.at >= from && c.at < to)
              entries.set(weekStart(c.at), (entries.get(weekStart(c.at)) ?? 0) + 1);
          }
        }
        expect(new Map([...run.entries].map(([w, m]) => [w, m.get('mql') ?? 0]))).toEqual(entries);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses a history out of time order, naming the item', async () => {
    const items = [web('a', T0 + DAY, '/pricing'), web('b', T0, '/pricing')].map((r) => historyItem(r)!);
    const err = await replay(items, [subject]).catch((e: unknown) => e);
    expect(isLeadScorerError(err) && err.message).toBe(
      'history item 2 (event of lead b) is at 2025-01-06T00:00:00.000Z, before the item ahead of it (2025-01-07T00:00:00.000Z): the history must be in time order',
    );
  });

  it('refuses an empty period', async () => {
    const items = [historyItem(web('a', T0, '/pricing'))!];
    const err = await replay(items, [subject], { from: T0 + DAY, to: T0 + DAY }).catch((e: unknown) => e);
    expect(isLeadScorerError(err) && err.code).toBe('CONFIG_INVALID');
  });
});
