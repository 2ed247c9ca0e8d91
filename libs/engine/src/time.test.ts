import { describe, expect, it } from 'vitest';
import { loadModel } from './model.ts';
import { evaluateStage, scoresAt } from './stage.ts';
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
import { advanceTo, movesByTime, nextChangeAt } from './time.ts';

const uses = (n: number, t: number) => Array.from({ length: n }, () => trial('feature_used', t));

describe('nextChangeAt', () => {
  it('predicts when a decaying score falls below the stay threshold, to the millisecond', () => {
    const s = applyAll(uses(4, T0), m, T0)!; // product 40, pql; stay 20, half-life 5d
    expect(s.stage).toBe('pql');
    const at = nextChangeAt(s, T0, m)!;
    expect(at).toBe(T0 + 5 * DAY + 1); // 40 -> 20 takes one half-life; 20 still stays
    expect(evaluateStage(s, at - 1, m)).toBe('pql');
    expect(evaluateStage(s, at, m)).toBe('unqualified');
  });

  it('predicts signal expiry', () => {
    const s = applyAll([...uses(7, T0), trial('checkout_started', T0)], m, T0)!; // product 75 with intent
    expect(s.stage).toBe('cql');
    // product falls to 45 after 5d * log2(75 / 45) = 3.68d, before the 7d signal window ends
    const at = nextChangeAt(s, T0, m)!;
    expect(at).toBe(Math.floor(T0 + 5 * DAY * Math.log2(75 / 45)) + 1);
    const strong = applyAll([...uses(20, T0), trial('checkout_started', T0)], m, T0)!; // 205: 7d before 45
    expect(nextChangeAt(strong, T0, m)).toBe(T0 + 7 * DAY + 1);
    expect(advanceTo(strong, T0 + 7 * DAY + 1, m).transition).toMatchObject({
      from: 'cql',
      to: 'pql',
      cause: { kind: 'signal-expired', detail: 'intent older than 7d' },
      eventTime: T0 + 7 * DAY + 1,
    });
  });

  it('movesByTime agrees to the millisecond, for a signal expiring and a score fading', () => {
    const strong = applyAll([...uses(20, T0), trial('checkout_started', T0)], m, T0)!; // cql until the intent expires
    expect(movesByTime(strong, T0, T0 + 7 * DAY, m)).toBe(false);
    expect(movesByTime(strong, T0, T0 + 7 * DAY + 1, m)).toBe(true);
    const pql = applyAll(uses(4, T0), m, T0)!; // product 40 leaves pql (stay 20) after one half-life
    expect(movesByTime(pql, T0, T0 + 5 * DAY, m)).toBe(false);
    expect(movesByTime(pql, T0, T0 + 5 * DAY + 1, m)).toBe(true);
    expect(movesByTime(applyAll([web('/p', T0)], m, T0)!, T0, T0 + 400 * DAY, m)).toBe(false);
  });

  it('is null when time alone changes nothing', () => {
    expect(nextChangeAt(applyAll([web('/p', T0)], m, T0)!, T0, m)).toBeNull(); // unqualified, only decays
    expect(nextChangeAt(applyAll([sales('accepted', true, T0)], m, T0)!, T0, m)).toBeNull(); // sql does not decay
    expect(nextChangeAt(applyAll([email('unsubscribe', T0)], m, T0)!, T0, m)).toBeNull(); // disqualified
    expect(nextChangeAt(applyAll([profile({ seniority: 'vp' }, T0)], m, T0)!, T0, m)).toBeNull(); // fit stays
  });

  it('is now when the stored stage is already stale', () => {
    const s = applyAll(uses(4, T0), m, T0)!;
    expect(nextChangeAt(s, T0 + 30 * DAY, m)).toBe(T0 + 30 * DAY);
  });

  it('looks past a flip that does not change the stage', () => {
    // In sql (sales qualified) with product 40: pql is above, its enter (30) fails after
    // 5d * log2(40/30); that flip changes nothing because the lead is not in pql.
    const s = applyAll([sales('accepted', true, T0), ...uses(2, T0)], m, T0)!;
    expect(s.stage).toBe('sql');
    expect(nextChangeAt(s, T0, m)).toBeNull();
  });

  it('predicts a negative score rising across a negative threshold', () => {
    const yaml = TEST_MODEL_YAML.replace(
      '  - name: mql\n',
      '  - name: warm\n    enter: [{ score: engagement, gte: -3 }]\n  - name: mql\n',
    );
    const model = loadModel(yaml, 'neg.yaml');
    const s = applyAll([web('/careers', T0), web('/careers', T0)], model, T0)!; // engagement -10
    expect(s.stage).toBe('unqualified');
    const at = nextChangeAt(s, T0, model)!; // -10 -> -3 takes 10d * log2(10 / 3)
    expect(Math.abs(at - (T0 + 10 * DAY * Math.log2(10 / 3)))).toBeLessThanOrEqual(1);
    expect(evaluateStage(s, at - 1, model)).toBe('unqualified');
    expect(evaluateStage(s, at, model)).toBe('warm');
  });
});

describe('advanceTo', () => {
  it('moves a faded lead down with cause decay and the crossing time', () => {
    const s = applyAll(uses(4, T0), m, T0)!;
    const later = T0 + 9 * DAY;
    const r = advanceTo(s, later, m);
    expect(r.state).toMatchObject({ stage: 'unqualified', seq: 2 });
    expect(r.transition).toEqual({
      from: 'pql',
      to: 'unqualified',
      scores: scoresAt(s, later, m),
      cause: { kind: 'decay', detail: expect.stringMatching(/^product 11\.\d < 20$/) },
      eventTime: T0 + 5 * DAY + 1,
      seq: 2,
      topRules: [{ ruleId: 'use', dimension: 'product', points: scoresAt(s, later, m).product }],
    });
    expect(r.transition!.eventId).toBeUndefined();
  });

  it('changes nothing when the stage still holds', () => {
    const s = applyAll(uses(4, T0), m, T0)!;
    const r = advanceTo(s, T0 + DAY, m);
    expect(r.state).toBe(s);
    expect(r.transition).toBeUndefined();
  });
});
