/**
 * Property tests for the maths (fast-check, fixed seeds so every run checks the same cases).
 * Each property names the claim in docs/model.md it checks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEvent } from './apply.ts';
import { loadModel } from './model.ts';
import { dimensionScores, evaluateStage, runningScores, scoresAt } from './stage.ts';
import type { LeadState } from './state.ts';
import { stateView as view } from './state.ts';
import {
  DAY,
  email,
  testModel as m,
  profile,
  sales,
  T0,
  TEST_MODEL_YAML,
  trial,
  web,
} from './test-support.ts';
import { advanceTo, mayChangeByTime, movesByTime, nextChangeAt } from './time.ts';
import type { ScoringEvent } from './types.ts';

const RUNS = { seed: 20250101, numRuns: 150 };

type Kind = 'page' | 'neg' | 'open' | 'capped' | 'use' | 'intent' | 'profile' | 'sales' | 'unsub';
interface Spec {
  kind: Kind;
  /** Event time offset from T0 (<= 0). */
  at: number;
  pick: number;
}

const POINTS: Partial<Record<Kind, [string, number]>> = {
  page: ['engagement', 10],
  neg: ['engagement', -5],
  open: ['engagement', 1],
  use: ['product', 10],
  intent: ['product', 5],
};
const HALF_LIFE: Record<string, number> = { engagement: 10 * DAY, product: 5 * DAY };

function toEvent(spec: Spec, i: number): ScoringEvent {
  const t = T0 + spec.at;
  const id = `p${i}`;
  switch (spec.kind) {
    case 'page':
      return web('/p', t, id);
    case 'neg':
      return web('/careers', t, id);
    case 'capped':
      return web('/capped', t, id);
    case 'open':
      return email('open', t, id);
    case 'unsub':
      return email('unsubscribe', t, id);
    case 'use':
      return trial('feature_used', t, id);
    case 'intent':
      return trial('checkout_started', t, id);
    case 'profile':
      return profile({ seniority: spec.pick % 2 ? 'vp' : 'ic', companySize: spec.pick * 10 }, t, id);
    case 'sales':
      return sales(['accepted', 'rejected', 'reopened'][spec.pick % 3]!, spec.pick % 2 === 0, t, id);
  }
}

const spec = (kinds: Kind[], span = 30 * DAY) =>
  fc.record({ kind: fc.constantFrom(...kinds), at: fc.integer({ min: -span, max: 0 }), pick: fc.nat(20) });

/** Capped hits all inside the window that ends at T0 (T0 is a day boundary), so none is dropped. */
const inOneCapWindow = (s: Spec): Spec => (s.kind === 'capped' ? { ...s, at: -1 - (-s.at % DAY) } : s);

const withPermutation = <T>(arb: fc.Arbitrary<T[]>) =>
  arb.chain((xs) =>
    fc.tuple(fc.constant(xs), fc.shuffledSubarray(xs, { minLength: xs.length, maxLength: xs.length })),
  );

/** Applies events in the given order, the i-th at T0 + i (after every event time). */
function run(events: ScoringEvent[], now?: (i: number) => number): LeadState | undefined {
  let s: LeadState | undefined;
  events.forEach((e, i) => {
    s = applyEvent(s, e, now ? now(i) : T0 + i, m).state;
  });
  return s;
}

const ALL: Kind[] = ['page', 'neg', 'open', 'capped', 'use', 'intent', 'profile', 'sales', 'unsub'];

describe('order independence', () => {
  it('permutations of the same events give the same scores and the same register state', () => {
    const events = fc.array(spec(ALL).map(inOneCapWindow), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(withPermutation(events), ([specs, shuffled]) => {
        const ids = new Map(specs.map((s, i) => [s, i]));
        const a = run(specs.map((s, i) => toEvent(s, i)))!;
        const b = run(shuffled.map((s) => toEvent(s, ids.get(s)!)))!;
        const at = T0 + DAY;
        for (const [dim, score] of Object.entries(scoresAt(a, at, m))) {
          expect(scoresAt(b, at, m)[dim]).toBeCloseTo(score, 4);
        }
        expect(view(b).sig).toEqual(view(a).sig);
        expect(view(b).dq).toEqual(view(a).dq);
        expect(view(b).fit).toEqual(view(a).fit);
        expect(view(b).sales).toEqual(view(a).sales);
        // Cap windows by rule id (list order is arrival order).
        const byRule = (x: LeadState) =>
          (view(x).ki ?? []).map((id, k) => [id, view(x).kw![k]!] as const).sort();
        expect(byRule(b)).toEqual(byRule(a));
      }),
      RUNS,
    );
  });

  /** Same events, two orders, all applied at one `now`: is the final stage the same? */
  const sameStageProperty = (kinds: Kind[]) => {
    const events = fc
      .tuple(
        fc.array(spec(kinds, 8 * DAY), { minLength: 1, maxLength: 25, size: 'max' }),
        fc.array(spec(['capped'], DAY), { maxLength: 2 }),
        spec(['profile']),
      )
      .map(([xs, capped, p]) => [...xs, ...capped.map(inOneCapWindow), p]);
    return fc.property(withPermutation(events), ([specs, shuffled]) => {
      const ids = new Map(specs.map((s, i) => [s, i]));
      const a = run(
        specs.map((s, i) => toEvent(s, i)),
        () => T0,
      )!;
      const b = run(
        shuffled.map((s) => toEvent(s, ids.get(s)!)),
        () => T0,
      )!;
      expect(b.stage).toBe(a.stage);
    });
  };
  // Weighted so that leads often end near the mql and pql thresholds.
  const growing: Kind[] = ['page', 'page', 'page', 'open', 'use', 'use', 'intent'];

  it('the stage is order independent at one `now` when every condition only grows with more events', () => {
    // The caveat of docs/model.md: no negative points, no cap overflow, one profile, no verdicts.
    fc.assert(sameStageProperty(growing), RUNS);
  });

  it('with a negative rule the stage is path dependent (hysteresis), as documented', () => {
    expect(fc.check(sameStageProperty([...growing, 'neg', 'neg']), RUNS).failed).toBe(true);
  });
});

describe('idempotence', () => {
  it('applying an event again, within the dedupe window, changes nothing', () => {
    const arb = fc.tuple(fc.array(spec(ALL), { minLength: 1, maxLength: 20 }), fc.nat(), fc.nat(3));
    fc.assert(
      fc.property(arb, ([specs, pick, gap]) => {
        const events = specs.map(toEvent);
        const i = pick % events.length;
        // Replay event i after at most `gap` (< dedupe.window = 4) later events.
        const upTo = Math.min(events.length, i + 1 + gap);
        const before = run(events.slice(0, upTo))!;
        const again = applyEvent(before, events[i]!, T0 + upTo, m);
        expect(again.outcome).toBe('duplicate');
        expect(again.state).toBe(before);
        expect(again.transition).toBeUndefined();
      }),
      RUNS,
    );
  });
});

describe('caps', () => {
  const capped = (span: number) =>
    fc
      .array(fc.integer({ min: 0, max: span - 1 }), { minLength: 1, maxLength: 15 })
      .map((ts) => ts.map((t) => T0 + t));
  const reference = (times: number[], now: number) => {
    // Per window, the 2 earliest hits score 3 points each (test model: hits 2, window 1d).
    const byWindow = new Map<number, number[]>();
    for (const t of times)
      byWindow.set(Math.floor(t / DAY), [...(byWindow.get(Math.floor(t / DAY)) ?? []), t]);
    let sum = 0;
    for (const ts of byWindow.values()) {
      for (const t of ts.sort((x, y) => x - y).slice(0, 2)) sum += 3 * 2 ** (-(now - t) / (10 * DAY));
    }
    return sum;
  };

  it('never keeps more than N hits; within one window the N earliest score, in any order', () => {
    fc.assert(
      fc.property(capped(DAY), (times) => {
        let s: LeadState | undefined;
        times.forEach((t, i) => {
          s = applyEvent(s, web('/capped', t, `c${i}`), T0 + DAY, m).state;
          const hits = view(s).kw![0]!.slice(1);
          expect(hits.length).toBeLessThanOrEqual(2);
          expect(hits).toEqual([...hits].sort((x, y) => x - y));
        });
        expect(scoresAt(s!, T0 + DAY, m)['engagement']).toBeCloseTo(reference(times, T0 + DAY), 4);
      }),
      RUNS,
    );
  });

  it('across windows, hits arriving in time order score N per window', () => {
    fc.assert(
      fc.property(capped(4 * DAY), (times) => {
        const sorted = [...times].sort((x, y) => x - y);
        const s = run(
          sorted.map((t, i) => web('/capped', t, `c${i}`)),
          () => T0 + 4 * DAY,
        )!;
        expect(scoresAt(s, T0 + 4 * DAY, m)['engagement']).toBeCloseTo(reference(sorted, T0 + 4 * DAY), 4);
      }),
      RUNS,
    );
  });
});

describe('decay', () => {
  it('every dimension equals the closed form sum of points * 2^(-(now - t) / halfLife)', () => {
    const uncapped: Kind[] = ['page', 'neg', 'open', 'use', 'intent'];
    const arb = fc.tuple(
      fc.array(spec(uncapped, 60 * DAY), { maxLength: 30 }),
      fc.integer({ min: 0, max: 60 * DAY }),
    );
    fc.assert(
      fc.property(arb, ([specs, later]) => {
        const s = run(specs.map(toEvent), () => T0) ?? undefined;
        const now = T0 + later;
        const expected: Record<string, number> = { engagement: 0, product: 0 };
        for (const x of specs) {
          const [dim, p] = POINTS[x.kind]!;
          expected[dim]! += p * 2 ** (-(now - (T0 + x.at)) / HALF_LIFE[dim]!);
        }
        const got = s ? scoresAt(s, now, m) : { engagement: 0, product: 0 };
        expect(got['engagement']).toBeCloseTo(expected['engagement']!, 4);
        expect(got['product']).toBeCloseTo(expected['product']!, 4);
      }),
      RUNS,
    );
  });
});

describe('running totals', () => {
  it('stay within 1e-9 of the per-rule sums they stand for, after every event, in any arrival order', () => {
    // applyEffect decides stages on the totals and falls back to the exact sums only near a
    // threshold: that is sound while the two agree far inside the 1e-7 margin.
    const arb = fc.array(spec(ALL, 60 * DAY), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(arb, fc.integer({ min: 0, max: 30 * DAY }), (specs, later) => {
        let s: LeadState | undefined;
        specs.forEach((x, i) => {
          s = applyEvent(s, toEvent(x, i), T0 + i, m).state;
          for (const at of [T0 + i, T0 + later]) {
            const exact = dimensionScores(s, at, m);
            const running = runningScores(s, at, m);
            exact.forEach((v, d) => {
              expect(Math.abs(running[d]! - v)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(v)));
            });
          }
        });
      }),
      RUNS,
    );
  });
});

describe('hysteresis', () => {
  type Op = { op: 'wait'; dt: number } | { op: 'page' | 'neg' };
  const ops = fc.array(
    fc.oneof(
      fc.record({ op: fc.constant('wait' as const), dt: fc.integer({ min: 1, max: DAY }) }),
      fc.record({ op: fc.constantFrom('page' as const, 'neg' as const) }),
    ),
    { minLength: 1, maxLength: 40 },
  );
  let accepted = 0;

  /** Applies the ops that keep engagement inside [30, 40) (mql's stay..enter band); returns transitions. */
  function oscillate(start: LeadState, list: Op[]): number {
    let s = start;
    let t = T0;
    let transitions = 0;
    list.forEach((o, i) => {
      const next = o.op === 'wait' ? t + o.dt : t;
      const r =
        o.op === 'wait'
          ? advanceTo(s, next, m)
          : applyEvent(s, web(o.op === 'page' ? '/p' : '/careers', next, `o${i}`), next, m);
      const e = scoresAt(r.state, next, m)['engagement']!;
      if (e < 30 || e >= 40) return; // outside the band: not the situation under test
      accepted += 1;
      if (r.transition) transitions += 1;
      s = r.state;
      t = next;
    });
    return transitions;
  }

  it('a score moving inside the band causes no transitions, in mql or below it', () => {
    const fit = profile({ seniority: 'vp' }, T0, 'fit');
    const pages = (n: number) => Array.from({ length: n }, (_, i) => web('/p', T0, `start${i}`));
    const inMql = run([fit, ...pages(4)], () => T0)!; // engagement 40: enters mql
    const below = run([fit, ...pages(3), web('/careers', T0, 'n'), web('/p', T0, 'x')], () => T0)!; // 35, never 40
    expect([inMql.stage, below.stage]).toEqual(['mql', 'unqualified']);
    fc.assert(
      fc.property(ops, (list) => {
        expect(oscillate(inMql, list)).toBe(0);
        expect(oscillate(below, list)).toBe(0);
      }),
      RUNS,
    );
    expect(accepted).toBeGreaterThan(500); // the band was really exercised
  });
});

describe('nextChangeAt', () => {
  // Weighted towards what reaches the upper stages, so that every kind of move gets predicted.
  const kinds: Kind[] = [
    ...Array<Kind>(5).fill('page'),
    ...Array<Kind>(5).fill('use'),
    'intent',
    'open',
    'neg',
    'profile',
    'profile',
    'sales',
  ];
  const predicted = new Map<string, number>();
  let ruledOut = 0;
  it('agrees with stepping time forward: same stage before, different at the predicted time', () => {
    const arb = fc.tuple(
      fc.array(spec(kinds, 6 * DAY), { minLength: 1, maxLength: 40, size: 'max' }),
      fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
        minLength: 10,
        maxLength: 10,
      }),
    );
    fc.assert(
      fc.property(arb, ([specs, fractions]) => {
        const s = run(specs.map(toEvent), () => T0)!;
        const at = nextChangeAt(s, T0, m);
        if (!mayChangeByTime(s, m)) {
          expect(at, 'mayChangeByTime said no').toBeNull();
          ruledOut++;
        }
        const horizon = at ?? T0 + 400 * DAY;
        // No change anywhere before the prediction (samples, plus the millisecond before it).
        for (const f of fractions)
          expect(evaluateStage(s, T0 + Math.floor(f * (horizon - T0)), m)).toBe(s.stage);
        if (at === null) return;
        const key = `${s.stage}>${evaluateStage(s, at, m)}`;
        predicted.set(key, (predicted.get(key) ?? 0) + 1);
        expect(at).toBeGreaterThan(T0);
        expect(evaluateStage(s, at - 1, m)).toBe(s.stage);
        expect(evaluateStage(s, at, m)).not.toBe(s.stage);
        const moved = advanceTo(s, at, m);
        expect(moved.transition?.eventTime).toBe(at);
        expect(['decay', 'signal-expired']).toContain(moved.transition?.cause.kind);
      }),
      { ...RUNS, numRuns: 300 },
    );
    // Not vacuous: decay moves out of pql and cql and mql, and signal expiry out of cql, were predicted.
    expect([...predicted.keys()].sort()).toEqual(
      expect.arrayContaining(['cql>pql', 'mql>unqualified', 'pql>unqualified']),
    );
    expect(ruledOut, 'states mayChangeByTime ruled out').toBeGreaterThan(30);
  });

  it('movesByTime says whether nextChangeAt falls in (since, now], without predicting it', () => {
    let moved = 0;
    fc.assert(
      fc.property(
        fc.array(spec(kinds, 6 * DAY), { minLength: 1, maxLength: 40, size: 'max' }),
        fc.integer({ min: 0, max: 30 * DAY }),
        (specs, ahead) => {
          const s = run(specs.map(toEvent), () => T0)!;
          const at = nextChangeAt(s, T0, m);
          const expected = at !== null && at <= T0 + ahead;
          expect(movesByTime(s, T0, T0 + ahead, m)).toBe(expected);
          if (expected) moved++;
        },
      ),
      { ...RUNS, numRuns: 400 },
    );
    expect(moved, 'cases where time moved the stage').toBeGreaterThan(40);
  });

  it('mayChangeByTime: a model with a negative enter threshold can move a lowest-stage lead by time', () => {
    const negative = loadModel(
      TEST_MODEL_YAML.replace(
        'enter: [{ score: product, gte: 30 }]\n    stay: [{ score: product, gte: 20 }]',
        'enter: [{ score: engagement, gte: -3 }]',
      ),
      'negative.yaml',
    );
    const s = applyEvent(undefined, web('/careers', T0, 'n1'), T0, negative).state; // -5: below -3, rises
    expect(s.stage).toBe('unqualified');
    expect(mayChangeByTime(s, negative)).toBe(true);
    const at = nextChangeAt(s, T0, negative)!;
    expect(at).not.toBeNull();
    // Entered by time and then (possibly) left again: movesByTime asks nextChangeAt then.
    expect(movesByTime(s, T0, at - 1, negative)).toBe(false);
    expect(movesByTime(s, T0, at, negative)).toBe(true);
    expect(mayChangeByTime(s, m)).toBe(false);
  });
});

describe('in-place application', () => {
  it('gives the same states, outcomes and transitions as copy-on-write, which never changes its input', () => {
    fc.assert(
      fc.property(fc.array(spec(ALL), { maxLength: 40 }), (specs) => {
        const events = specs.map(toEvent);
        let cow: LeadState | undefined;
        let mutable: LeadState | undefined;
        events.forEach((e, i) => {
          const before = cow === undefined ? undefined : view(cow);
          const a = applyEvent(cow, e, T0 + i, m);
          if (before !== undefined) expect(view(cow!)).toEqual(before);
          const b = applyEvent(mutable, e, T0 + i, m, { inPlace: true });
          expect(b.outcome).toBe(a.outcome);
          expect(b.transition).toEqual(a.transition);
          expect(b.state).toEqual(a.state);
          cow = a.state;
          mutable = b.state;
        });
      }),
      RUNS,
    );
  });
});
