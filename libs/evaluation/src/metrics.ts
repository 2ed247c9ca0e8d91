import { quantileSorted } from 'd3-array';

/**
 * The statistics of the report, pure and exact. docs/evaluation.md states each definition; the
 * tests check them against hand-computed figures and brute force.
 */

/**
 * 1-based ranks of `values` in ascending order, equal values sharing the mean of the ranks they
 * span (midranks): [5, 1, 5] -> [2.5, 1, 2.5].
 */
export function midranks(values: readonly number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++;
    // Ranks i+1 .. j+1 share their mean.
    const mid = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) ranks[order[k]!] = mid;
    i = j + 1;
  }
  return ranks;
}

/**
 * ROC AUC by the Mann-Whitney U statistic: the probability that a random positive scores higher
 * than a random negative, ties counting one half. U = (sum of the positives' midranks) -
 * P(P+1)/2, AUC = U / (P N). Null when there is no positive or no negative.
 */
export function rocAuc(scores: readonly number[], positive: readonly boolean[]): number | null {
  const ranks = midranks(scores);
  let p = 0;
  let rankSum = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!positive[i]) continue;
    p++;
    rankSum += ranks[i]!;
  }
  const n = scores.length - p;
  if (p === 0 || n === 0) return null;
  return (rankSum - (p * (p + 1)) / 2) / (p * n);
}

export interface RocPoint {
  /** Observations scoring at least this are predicted positive. */
  threshold: number;
  fpr: number;
  tpr: number;
}

/**
 * The ROC curve: from (0, 0), one point per distinct score from the highest down (every
 * observation scoring at least it predicted positive), ending at (1, 1). Tied scores move both
 * rates at once, a diagonal step, so the trapezoidal area under the curve equals rocAuc.
 * Empty when there is no positive or no negative.
 */
export function rocCurve(scores: readonly number[], positive: readonly boolean[]): RocPoint[] {
  const p = positive.filter(Boolean).length;
  const n = scores.length - p;
  if (p === 0 || n === 0) return [];
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const points: RocPoint[] = [{ threshold: Number.POSITIVE_INFINITY, fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < order.length; ) {
    const s = scores[order[i]!]!;
    while (i < order.length && scores[order[i]!] === s) {
      if (positive[order[i]!]) tp++;
      else fp++;
      i++;
    }
    points.push({ threshold: s, fpr: fp / n, tpr: tp / p });
  }
  return points;
}

/**
 * A ROC curve with at most about `2 / step` points, for reports and charts: one point per distinct
 * score of tens of thousands of observations draws the same picture, much heavier. Keeps both
 * ends and each point that lies at least `step` (in FPR + TPR, which only grows along the curve)
 * beyond the last kept one. The AUC is always computed from every observation, never from this.
 */
export function thinCurve(points: readonly RocPoint[], step = 0.005): RocPoint[] {
  if (points.length <= 2) return [...points];
  const out: RocPoint[] = [points[0]!];
  for (let i = 1; i < points.length - 1; i++) {
    const last = out[out.length - 1]!;
    const p = points[i]!;
    if (p.fpr - last.fpr + (p.tpr - last.tpr) >= step) out.push(p);
  }
  out.push(points[points.length - 1]!);
  return out;
}

/** Trapezoidal area under a ROC curve (equals rocAuc for a curve from rocCurve). */
export function areaUnder(points: readonly RocPoint[]): number {
  let area = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    area += ((b.fpr - a.fpr) * (a.tpr + b.tpr)) / 2;
  }
  return area;
}

/**
 * Decile (1 = highest scores .. 10) of each observation by its midrank from the top: with midrank
 * r among N, decile = floor(10 (r - 1) / N) + 1. Without ties the N/10 highest form decile 1;
 * equal scores always share a decile (the one their mean rank falls in), so deciles can differ in
 * size and some can be empty. Computed in integers: 10 (r - 1) / N = 5 (2r - 2) / N, and 2r is
 * an integer.
 */
export function deciles(scores: readonly number[]): number[] {
  const total = scores.length;
  const fromBottom = midranks(scores);
  return fromBottom.map((r) => {
    const twice = 2 * (total + 1 - r); // twice the midrank from the top: an integer
    return Math.floor((5 * (twice - 2)) / total) + 1;
  });
}

export interface Spread {
  count: number;
  median: number | null;
  p25: number | null;
  p75: number | null;
}

/**
 * Median and quartiles by linear interpolation between the sorted values (d3's quantile, the
 * R-7 / spreadsheet PERCENTILE.INC method): the median of [1, 2, 3, 10] is 2.5.
 */
export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return { count: 0, median: null, p25: null, p75: null };
  return {
    count: sorted.length,
    median: quantileSorted(sorted, 0.5)!,
    p25: quantileSorted(sorted, 0.25)!,
    p75: quantileSorted(sorted, 0.75)!,
  };
}

/** a / b, or null when b is 0 (a rate of nothing is not 0). */
export function ratio(a: number, b: number): number | null {
  return b === 0 ? null : a / b;
}
