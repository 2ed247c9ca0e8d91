import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { areaUnder, deciles, midranks, rocAuc, rocCurve, spread, thinCurve } from './metrics.ts';

describe('midranks', () => {
  it('gives equal values the mean of the ranks they span', () => {
    expect(midranks([5, 1, 5])).toEqual([2.5, 1, 2.5]);
    expect(midranks([3, 3, 3, 3])).toEqual([2.5, 2.5, 2.5, 2.5]);
  });
});

describe('rocAuc', () => {
  it('counts a tie between a winner and a loser as one half (Mann-Whitney U)', () => {
    // Winners 0.9 and 0.8 against losers 0.8, 0.3, 0.1: 3 + (0.5 + 2) = 5.5 of 6 pairs.
    expect(rocAuc([0.9, 0.8, 0.8, 0.3, 0.1], [true, false, true, false, false])).toBe(5.5 / 6);
  });

  it('is undefined without winners or without losers', () => {
    expect(rocAuc([1, 2], [true, true])).toBeNull();
    expect(rocAuc([1, 2], [false, false])).toBeNull();
  });

  it('equals the share of (winner, loser) pairs the winner outscores, ties half', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.boolean()), { maxLength: 40 }),
        (obs) => {
          const scores = obs.map((o) => o[0]);
          const positive = obs.map((o) => o[1]);
          let pairs = 0;
          let wins = 0;
          for (let i = 0; i < obs.length; i++) {
            for (let j = 0; j < obs.length; j++) {
              if (!positive[i] || positive[j]) continue;
              pairs++;
              wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
            }
          }
          const auc = rocAuc(scores, positive);
          if (pairs === 0) expect(auc).toBeNull();
          else expect(auc).toBeCloseTo(wins / pairs, 12);
        },
      ),
    );
  });
});

describe('rocCurve', () => {
  it('steps through every distinct score from the highest, ties diagonally', () => {
    const points = rocCurve([0.9, 0.8, 0.8, 0.3, 0.1], [true, false, true, false, false]);
    expect(points.map((p) => [p.fpr, p.tpr])).toEqual([
      [0, 0],
      [0, 0.5],
      [1 / 3, 1],
      [2 / 3, 1],
      [1, 1],
    ]);
  });

  it('has the AUC as its trapezoidal area, also thinned to fewer points', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.boolean()), { minLength: 1, maxLength: 60 }),
        (obs) => {
          const scores = obs.map((o) => o[0]);
          const positive = obs.map((o) => o[1]);
          const auc = rocAuc(scores, positive);
          const curve = rocCurve(scores, positive);
          if (auc === null) {
            expect(curve).toEqual([]);
            return;
          }
          expect(areaUnder(curve)).toBeCloseTo(auc, 12);
          const thin = thinCurve(curve, 0.2);
          expect(thin[0]).toEqual(curve[0]);
          expect(thin[thin.length - 1]).toEqual(curve[curve.length - 1]);
          expect(thin.length).toBeLessThanOrEqual(Math.min(curve.length, 2 / 0.2 + 2));
        },
      ),
    );
  });
});

describe('deciles', () => {
  it('cuts by rank from the top: N/10 per decile without ties', () => {
    const scores = Array.from({ length: 20 }, (_, i) => i); // 19 is the highest
    expect(deciles(scores)).toEqual(scores.map((s) => Math.floor((19 - s) / 2) + 1));
  });

  it('keeps equal scores together, in the decile of their mean rank', () => {
    // Ranks from the top: 9 -> 1, the three 8s share 2..4 (mean 3), then 5..10.
    expect(deciles([9, 8, 8, 8, 5, 4, 3, 2, 1, 0])).toEqual([1, 3, 3, 3, 5, 6, 7, 8, 9, 10]);
    // All equal: mean rank 2 of 3, so floor(10 x 1 / 3) + 1 = 4.
    expect(deciles([7, 7, 7])).toEqual([4, 4, 4]);
  });

  it('never ranks a higher score in a lower decile, and ties always together', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 80 }), (scores) => {
        const of = deciles(scores);
        for (let i = 0; i < scores.length; i++) {
          expect(of[i]).toBeGreaterThanOrEqual(1);
          expect(of[i]).toBeLessThanOrEqual(10);
          for (let j = 0; j < scores.length; j++) {
            if (scores[i]! > scores[j]!) expect(of[i]).toBeLessThanOrEqual(of[j]!);
            if (scores[i] === scores[j]) expect(of[i]).toBe(of[j]);
          }
        }
      }),
    );
  });
});

describe('spread', () => {
  it('interpolates between sorted values (R-7)', () => {
    expect(spread([10, 3, 1, 2])).toEqual({ count: 4, median: 2.5, p25: 1.75, p75: 4.75 });
    expect(spread([])).toEqual({ count: 0, median: null, p25: null, p75: null });
  });
});
