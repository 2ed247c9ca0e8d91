import type { LeadRecord } from '@leadscorer/core';
import { type Model, scoresAt } from '@leadscorer/engine';
import { expect } from 'vitest';
import { normalizeState } from './oracle.ts';

/**
 * Two sets of lead records that applied the same events, possibly in another order (several
 * services at once, a replay, a rescore): the same leads, stages, scores at `now`, rule
 * contributions, dedupe ring sizes per event type, and exactly the same offset watermarks (the
 * highest offset applied per source does not depend on the order). Valid for workloads whose
 * result is order-independent: positive rules only, duplicates right after their original (see
 * docs/model.md on order). Sequences are not compared (a rescore continues published ones).
 */
export function expectSameRecords(
  got: Map<string, LeadRecord>,
  want: Map<string, LeadRecord>,
  model: Model,
  now: number,
): void {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  const stages = new Set<string>();
  for (const [lead, w] of want) {
    const g = got.get(lead)!;
    expect(g.state.stage, `stage of ${lead}`).toBe(w.state.stage);
    stages.add(w.state.stage);
    const [gScores, wScores] = [scoresAt(g.state, now, model), scoresAt(w.state, now, model)];
    for (const [dim, v] of Object.entries(wScores))
      expect(gScores[dim], `${dim} of ${lead}`).toBeCloseTo(v, 5);
    const { c: gc, ring: gr, seq: _gs, ...gs } = normalizeState(g.state);
    const { c: wc, ring: wr, seq: _ws, ...ws } = normalizeState(w.state);
    expect(gs, `state of ${lead}`).toEqual(ws);
    expect(Object.keys(gc).sort(), `contributions of ${lead}`).toEqual(Object.keys(wc).sort());
    for (const [rule, [v, t]] of Object.entries(wc)) {
      expect(gc[rule]![1], `${lead} ${rule} time`).toBe(t);
      expect(Math.abs(gc[rule]![0] - v), `${lead} ${rule} value`).toBeLessThanOrEqual(
        1e-6 * Math.max(1, Math.abs(v)),
      );
    }
    // Each event type's ring holds as many hashes either way (which ones depends on the order).
    const sizes = (r: typeof gr) => Object.fromEntries(Object.entries(r).map(([t, h]) => [t, h?.length]));
    expect(sizes(gr), `dedupe ring sizes of ${lead}`).toEqual(sizes(wr));
    expect(new Map(g.offsets), `offsets of ${lead}`).toEqual(new Map(w.offsets));
  }
  expect([...stages].sort()).toEqual(expect.arrayContaining(['mql', 'pql', 'cql']));
}
