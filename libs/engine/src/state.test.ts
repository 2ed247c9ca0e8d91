import { describe, expect, it } from 'vitest';
import { applyEvent } from './apply.ts';
import { explain } from './explain.ts';
import { loadModel } from './model.ts';
import { dimensionScores, runningScores, scoresAt } from './stage.ts';
import { hashHex, hashNumber, stateFromView, stateView } from './state.ts';
import {
  applyAll,
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
import type { LeadStateView } from './types.ts';

const HOUR = 3_600_000;
const rich = () =>
  applyAll(
    [
      profile({ seniority: 'vp', companySize: 80 }, T0),
      web('/p', T0 + HOUR),
      web('/capped', T0 + 2 * HOUR),
      web('/careers', T0 + 3 * HOUR),
      trial('checkout_started', T0 + 4 * HOUR),
      email('unsubscribe', T0 + 5 * HOUR),
      sales('accepted', true, T0 + 6 * HOUR),
    ],
    m,
    T0 + DAY,
  )!;

describe('state view', () => {
  it('round-trips: the state read from its view has the same view, scores and stage', () => {
    const s = rich();
    const view = stateView(s);
    expect(view).toMatchObject({
      ci: ['page', 'neg', 'capped', 'intent'],
      ki: ['capped'],
      sig: { intent: T0 + 4 * HOUR },
      fit: { t: T0, r: ['fit_exec', 'fit_size'] },
      sales: { k: 'accepted', t: T0 + 6 * HOUR, b: true },
      dq: T0 + 5 * HOUR,
    });
    const back = stateFromView(JSON.parse(JSON.stringify(view)) as LeadStateView, m);
    expect(stateView(back)).toEqual(view);
    expect(scoresAt(back, T0 + 2 * DAY, m)).toEqual(scoresAt(s, T0 + 2 * DAY, m));
    expect(back.stage).toBe(s.stage);
  });

  it('is its view when stringified', () => {
    const s = rich();
    expect(JSON.parse(JSON.stringify(s))).toEqual(stateView(s));
  });

  it('recomputes the running totals of a state read from its view', () => {
    const back = stateFromView(stateView(rich()), m);
    const exact = dimensionScores(back, T0 + 3 * DAY, m);
    const running = runningScores(back, T0 + 3 * DAY, m);
    for (const [d, v] of exact.entries()) expect(running[d]).toBeCloseTo(v, 9);
  });

  it('keeps the ring oldest first, and only the newest entries of a longer ring', () => {
    const ring = ['00000001', '00000002', '00000003', '00000004', '0000000a', 'ffffffff'].join('');
    const s = stateFromView({ stage: 'unqualified', seq: 0, ring: { email: ring } }, m); // the test model keeps 4
    expect(stateView(s).ring).toEqual({ email: ring.slice(16) });
  });

  it('reads event hashes as unsigned 32-bit numbers and writes them back as 8 hex digits', () => {
    for (const hex of ['00000000', '0000000a', '7fffffff', '80000000', 'deadbeef', 'ffffffff']) {
      expect(hashNumber(hex)).toBe(Number.parseInt(hex, 16));
      expect(hashHex(hashNumber(hex))).toBe(hex);
    }
    expect(hashNumber('DEADBEEF')).toBe(0xdeadbeef);
  });
});

describe('a state meeting another model', () => {
  // The next model drops `neg`, stops capping `capped`, and scores pages 20 instead of 10.
  const next = loadModel(
    TEST_MODEL_YAML.replace(/ {2}- \{ id: neg,[^\n]*\n/, '')
      .replace('    cap: { hits: 2, window: 1d }\n', '')
      .replace('dimension: engagement, points: 10 }', 'dimension: engagement, points: 20 }')
      .replace('version: test-1', 'version: test-2'),
    'next.yaml',
  );

  it('keeps what the model has no place for, counts none of it, and gives it back in the view', () => {
    const s = rich();
    const before = stateView(s);
    const x = explain(s, T0 + DAY, next);
    expect(x.contributions.map((c) => c.ruleId).sort()).toEqual(['capped', 'intent', 'page']);
    const r = applyEvent(s, web('/p', T0 + DAY), T0 + DAY, next);
    expect(r.state.layout).toBe(next.layout);
    expect(r.state.foreign).toEqual({
      ci: ['neg'],
      cv: before.cv!.slice(2, 4),
      ki: ['capped'],
      kw: before.kw,
    });
    const after = stateView(r.state);
    expect(after.ci).toEqual(['page', 'capped', 'intent', 'neg']);
    // neg no longer counts: engagement is page (10 + 20) and capped (3), decayed.
    const e = scoresAt(r.state, T0 + DAY, next)['engagement']!;
    const page = after.cv![1]! === T0 + DAY ? after.cv![0]! : Number.NaN;
    const capped = after.cv![2]! * 2 ** (-(T0 + DAY - after.cv![3]!) / (10 * DAY));
    expect(e).toBeCloseTo(page + capped, 6);
  });

  it('shares one layout between models that lay states out alike', () => {
    const again = loadModel(TEST_MODEL_YAML.replace('points: 20 }', 'points: 25 }'), 'again.yaml');
    expect(again.layout).toBe(m.layout);
    expect(next.layout).not.toBe(m.layout);
  });
});
