import { describe, expect, it } from 'vitest';
import { transitionId } from './ids.ts';
import { rebase } from './rebase.ts';
import { stateView } from './state.ts';
import { applyAll, T0, testModel, trial } from './test-support.ts';

/** A lead rebuilt under a model continues the history subscribers saw. */
describe('rebase', () => {
  // Three feature uses: product 30 at T0, PQL under the test model, its own sequence 1.
  const rebuilt = applyAll([
    trial('feature_used', T0),
    trial('feature_used', T0),
    trial('feature_used', T0),
  ])!;
  const now = T0 + 1000;

  it('continues the published sequence when the stage is the same, and says nothing', () => {
    expect(rebuilt.stage).toBe('pql');
    expect(rebuilt.seq).toBe(1);
    const r = rebase(rebuilt, { stage: 'pql', seq: 7 }, now, testModel);
    expect(r.transition).toBeUndefined();
    expect(r.state.seq).toBe(7);
    expect(r.state.stage).toBe('pql');
    // The input is not changed; scores and everything else are the rebuilt state's.
    expect(rebuilt.seq).toBe(1);
    const { seq: _a, ...got } = stateView(r.state);
    const { seq: _b, ...want } = stateView(rebuilt);
    expect(got).toEqual(want);
  });

  it('moves from the published stage with cause model-change when the stages differ', () => {
    const r = rebase(rebuilt, { stage: 'mql', seq: 4 }, now, testModel);
    expect(r.state.seq).toBe(5);
    expect(r.transition).toMatchObject({
      from: 'mql',
      to: 'pql',
      seq: 5,
      eventTime: now,
      cause: { kind: 'model-change' },
      scores: { engagement: 0, fit: 0 },
    });
    expect(r.transition!.scores.product).toBeCloseTo(30 * 2 ** (-1000 / (5 * 86_400_000)), 6);
    expect(r.transition!.topRules[0]).toMatchObject({ ruleId: 'use', dimension: 'product' });
    expect(r.transition!.eventId).toBeUndefined();
    // A stable id: the same rebase gives the same one.
    const again = rebase(rebuilt, { stage: 'mql', seq: 4 }, now, testModel).transition!;
    expect(transitionId('l', again.seq, again.from, again.to)).toBe(
      transitionId('l', r.transition!.seq, r.transition!.from, r.transition!.to),
    );
  });

  it('leaves a lead nobody saw as rebuilt', () => {
    const r = rebase(rebuilt, undefined, now, testModel);
    expect(r.transition).toBeUndefined();
    expect(r.state).toBe(rebuilt);
  });
});
