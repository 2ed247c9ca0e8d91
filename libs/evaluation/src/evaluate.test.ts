import { loadModel } from '@leadscorer/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { byArrival, historyItem } from './history.ts';
import { replay } from './replay.ts';
import { buildReport, type EvaluationReport, type ModelReport } from './report.ts';
import { handModel, outcome, unsubscribe, web } from './test-support.ts';

/**
 * The hand-computed history of docs/evaluation.md ("A worked example"): six leads, four weeks,
 * a 14-day horizon, and two models that disagree on what engagement is worth (current: pricing
 * 40, blog 10; candidate: pricing 10, blog 40; MQL enters at 30 and stays at 20, half-life 7d).
 * Every figure below was worked out by hand from the definitions; the derivations are in the doc.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 0, 6); // a Monday
const d = (days: number, hours = 0) => T0 + days * DAY + hours * HOUR;

const HISTORY = [
  web('x', d(-10, 10), '/blog/a'),
  outcome('x', d(-2, 12), 'LOST'), // closed before the period: left out
  web('e', d(-3, 10), '/pricing'), // MQL before the period (current), held at its start
  web('a', d(1, 10), '/pricing'),
  web('d', d(1, 11), '/blog/b'),
  web('b', d(2, 10), '/blog/c'),
  web('b', d(3, 10), '/blog/d'),
  unsubscribe('f', d(5, 10)),
  web('c', d(8, 10), '/pricing'),
  outcome('a', d(10, 12), 'WON', 1000),
  outcome('a', d(11), 'LOST'), // a later outcome: ignored
  outcome('e', d(12, 12), 'WON', 4000),
  outcome('b', d(20, 12), 'LOST'),
  outcome('c', d(30, 12), 'WON', 2000),
  web('d', d(36, 10), '/blog/e'), // after the period: not replayed, but the history runs to here
];

let report: EvaluationReport;
let current: ModelReport;
let candidate: ModelReport;

beforeAll(async () => {
  const subjects = [
    { label: 'current', file: 'current.yaml', model: loadModel(handModel(40, 10), 'current.yaml') },
    { label: 'candidate', file: 'candidate.yaml', model: loadModel(handModel(10, 40), 'candidate.yaml') },
  ];
  const items = byArrival(HISTORY.map(historyItem).filter((i) => i !== null));
  const result = await replay(items, subjects, { from: T0, to: d(28) });
  report = buildReport(result, { horizonMs: 14 * DAY, source: 'hand' });
  [current, candidate] = report.models as [ModelReport, ModelReport];
});

describe('the hand-computed history', () => {
  it('counts the leads of the period', () => {
    expect(report.counts).toEqual({
      leads: 6,
      won: 3,
      lost: 1,
      noOutcome: 2,
      closedBefore: 1,
      laterOutcomes: 1,
      eventsApplied: 8,
      eventsAfterPeriod: 1,
    });
    expect(report.historyEnd).toBe(new Date(d(36, 10)).toISOString());
  });

  it('converts per stage reached', () => {
    const rows = (m: ModelReport) =>
      m.conversion.map((r) => [r.stage, r.leads, r.won, r.conversion, r.wonAmount]);
    expect(rows(current)).toEqual([
      ['all leads', 6, 3, 0.5, 7000],
      ['mql', 3, 3, 1, 7000],
      ['disqualified', 1, 0, 0, 0],
      ['any qualified stage', 3, 3, 1, 7000],
    ]);
    expect(rows(candidate)).toEqual([
      ['all leads', 6, 3, 0.5, 7000],
      ['mql', 2, 0, 0, 0],
      ['disqualified', 1, 0, 0, 0],
      ['any qualified stage', 2, 0, 0, 0],
    ]);
  });

  it('measures the time from MQL to won', () => {
    // a: 9 d 2 h, e: 12 d 12 h (from the period start, where it was held), c: 22 d 2 h.
    const [mql] = current.timeToWon;
    expect(mql!.stage).toBe('mql');
    expect(mql!.count).toBe(3);
    expect(mql!.median).toBe(12.5);
    expect(mql!.p25).toBeCloseTo(9 + 1 / 12 + 0.5 * (12.5 - 9 - 1 / 12), 12);
    expect(mql!.p75).toBeCloseTo(12.5 + 0.5 * (22 + 1 / 12 - 12.5), 12);
    expect(candidate.timeToWon[0]).toEqual({ stage: 'mql', count: 0, median: null, p25: null, p75: null });
  });

  it('scores each stage as a predictor', () => {
    const rows = (m: ModelReport) =>
      m.precisionRecall.map((r) => [r.stage, r.reached, r.reachedAndWon, r.precision, r.recall]);
    expect(rows(current)).toEqual([
      ['mql', 3, 3, 1, 1],
      ['any qualified stage', 3, 3, 1, 1],
    ]);
    expect(rows(candidate)).toEqual([
      ['mql', 2, 0, 0, 0],
      ['any qualified stage', 2, 0, 0, 0],
    ]);
  });

  it('ranks by engagement at the weekly snapshots: AUC and deciles', () => {
    const [engagement] = current.ranking;
    // 13 open lead-weeks whose horizon ends before the history does; 4 won within 14 days.
    expect(engagement).toMatchObject({
      dimension: 'engagement',
      observations: 13,
      leads: 6,
      snapshots: 4,
      won: 4,
    });
    expect(engagement!.auc).toBe(65 / 72); // 32.5 of 36 pairs: exact in binary arithmetic too
    const base = 4 / 13;
    expect(engagement!.deciles.map((r) => [r.decile, r.observations, r.won])).toEqual([
      [1, 1, 1],
      [2, 2, 1],
      [3, 1, 1],
      [4, 2, 1],
      [5, 1, 0],
      [6, 1, 0],
      [7, 2, 0],
      [8, 0, 0],
      [9, 3, 0],
      [10, 0, 0],
    ]);
    const lifts = engagement!.deciles.map((r) => r.lift);
    expect(lifts).toEqual([1 / base, 0.5 / base, 1 / base, 0.5 / base, 0, 0, 0, null, 0, null]);
    expect(engagement!.deciles.map((r) => r.shareOfWins)).toEqual([0.25, 0.25, 0.25, 0.25, 0, 0, 0, 0, 0, 0]);

    const [cand] = candidate.ranking;
    expect(cand!.auc).toBe(29 / 72);
    expect(cand!.deciles.map((r) => [r.observations, r.won])).toEqual([
      [2, 0],
      [1, 0],
      [1, 0],
      [2, 1],
      [0, 0],
      [2, 1],
      [2, 2],
      [0, 0],
      [3, 0],
      [0, 0],
    ]);
  });

  it('puts equal scores in one decile: fit is 0 for everyone, so AUC 0.5 and all in decile 5', () => {
    const fit = current.ranking[1]!;
    expect(fit.auc).toBe(0.5);
    expect(fit.deciles.map((r) => r.observations)).toEqual([0, 0, 0, 0, 13, 0, 0, 0, 0, 0]);
    expect(fit.deciles[4]!.lift).toBe(1);
  });

  it('counts stage entries per week', () => {
    const weeks = (m: ModelReport) =>
      m.weekly.map((w) => [w.week, w.entries['mql'], w.entries['disqualified']]);
    expect(weeks(current)).toEqual([
      ['2025-01-06', 1, 1],
      ['2025-01-13', 1, 0],
      ['2025-01-20', 0, 0],
      ['2025-01-27', 0, 0],
    ]);
    expect(weeks(candidate)).toEqual([
      ['2025-01-06', 2, 1],
      ['2025-01-13', 0, 0],
      ['2025-01-20', 0, 0],
      ['2025-01-27', 0, 0],
    ]);
  });

  it('lists the leads whose stage differs, won first, with the rules that decided it', () => {
    const diff = report.differences!;
    expect(diff.compared).toBe(6);
    expect(diff.matrix).toEqual([
      { first: 'unqualified', second: 'unqualified', leads: 5 },
      { first: 'disqualified', second: 'disqualified', leads: 1 },
    ]);
    expect(diff.leads.map((l) => [l.leadId, l.outcome])).toEqual([
      ['a', 'WON'],
      ['c', 'WON'],
      ['e', 'WON'],
      ['b', 'LOST'],
      ['d', null],
    ]);
    const [a] = diff.leads;
    expect(a!.sides[0]).toMatchObject({
      label: 'current',
      endStage: 'unqualified',
      reached: [{ stage: 'mql', date: '2025-01-07', cause: 'rule pricing: engagement 40 >= 30' }],
    });
    expect(a!.sides[0]!.rules.map((r) => r.ruleId)).toEqual(['pricing']);
    expect(a!.sides[1]).toMatchObject({ label: 'candidate', endStage: 'unqualified', reached: [] });
    const e = diff.leads[2]!;
    expect(e.sides[0]!.reached).toEqual([
      { stage: 'mql', date: '2025-01-06', cause: 'held as the period started' },
    ]);
    const b = diff.leads[3]!;
    expect(b.sides[1]!.reached).toEqual([
      { stage: 'mql', date: '2025-01-08', cause: 'rule blog: engagement 40 >= 30' },
    ]);
  });

  it('says in words which model wins', () => {
    const byTopic = Object.fromEntries(report.findings.map((f) => [f.topic, f.verdict]));
    expect(byTopic).toMatchObject({
      'ranking by engagement': 'first',
      'ranking by fit': 'same',
      'mql as a predictor': 'first',
    });
  });
});

describe('no leakage: what happens at or after a time is not known before it', () => {
  const subjects = [{ label: 'm', file: 'm.yaml', model: loadModel(handModel(40, 10), 'm.yaml') }];
  const evaluate = async (records: ReturnType<typeof web>[] | ReturnType<typeof outcome>[]) => {
    const items = byArrival(records.map(historyItem).filter((i) => i !== null));
    return buildReport(await replay(items, subjects, { from: T0, to: d(28) }), {
      horizonMs: 7 * DAY,
      source: 't',
    });
  };

  it('counts no stage reached once the deal closed', async () => {
    // Won on day 2, read the pricing page on day 3 (a customer now): MQL after the outcome.
    const r = await evaluate([
      web('g', d(1), '/blog/a'),
      outcome('g', d(2), 'WON'),
      web('g', d(3), '/pricing'),
    ] as never);
    expect(r.models[0]!.conversion.find((c) => c.stage === 'mql')!.leads).toBe(0);
    // The entry itself happened: sales would have been alerted.
    expect(r.models[0]!.weekly[0]!.entries['mql']).toBe(1);
  });

  it('scores a snapshot on what arrived strictly before it, and only leads still open', async () => {
    // Pricing exactly at the Monday of week 2: not in that Monday's snapshot (score 10 from the
    // blog visit decayed), in the next one. Won on day 15: open at days 7 and 14, not at 21.
    const r = await evaluate([
      web('h', d(1), '/blog/a'),
      web('h', d(7), '/pricing'),
      outcome('h', d(15), 'WON'),
      web('z', d(40), '/blog/z'), // the history runs on: every horizon ends within it
    ] as never);
    const engagement = r.models[0]!.ranking[0]!;
    expect(engagement.observations).toBe(2);
    expect(engagement.snapshots).toBe(2);
    const filled = engagement.deciles.filter((x) => x.observations > 0);
    expect(filled.map((x) => [x.decile, x.won])).toEqual([
      [1, 1],
      [6, 0], // rank 2 of 2: floor(10 x 1 / 2) + 1
    ]);
    // Day 14: pricing a week old plus the blog visit; day 7: the blog visit alone.
    expect(filled[0]!.minScore).toBeCloseTo(40 * 2 ** -1 + 10 * 2 ** (-13 / 7), 5);
    expect(filled[1]!.minScore).toBeCloseTo(10 * 2 ** (-6 / 7), 5);
  });
});
