import { deciles, type RocPoint, ratio, rocAuc, rocCurve, thinCurve } from './metrics.ts';
import type { ModelRun, Replay } from './replay.ts';

/**
 * How well each score dimension ranks leads: at every weekly snapshot, each open lead's score
 * (known before its outcome) against whether it won within the horizon after the snapshot.
 */

export interface DecileRow {
  decile: number;
  observations: number;
  won: number;
  winRate: number | null;
  /** winRate / the overall win rate of the observations. */
  lift: number | null;
  /** Share of all won observations that fall in this decile. */
  shareOfWins: number | null;
  minScore: number | null;
  maxScore: number | null;
}

export interface DimensionRanking {
  dimension: string;
  /** (lead, snapshot) pairs counted. */
  observations: number;
  leads: number;
  snapshots: number;
  /** Observations whose lead won within the horizon. */
  won: number;
  winRate: number | null;
  auc: number | null;
  deciles: DecileRow[];
  /** The ROC curve, thinned to steps of 0.005 in FPR + TPR (metrics.ts thinCurve). */
  roc: RocPoint[];
}

export interface Observations {
  /** Index into the run's snapshots of each counted observation. */
  rows: number[];
  positive: boolean[];
}

/**
 * The observations that count: snapshots inside the period whose horizon ends by the end of the
 * history (so the label is known), of leads still open at the snapshot. Labelled won when the
 * lead's outcome is WON and closed within the horizon after the snapshot.
 */
export function observations(replay: Replay, run: ModelRun, horizonMs: number): Observations {
  const { lead, at } = run.snapshots;
  const rows: number[] = [];
  const positive: boolean[] = [];
  for (let k = 0; k < lead.length; k++) {
    const s = at[k]!;
    if (s < replay.from || s >= replay.to || s + horizonMs > replay.historyEnd) continue;
    const outcome = replay.outcomes[lead[k]!];
    if (outcome && outcome.time <= s) continue; // closed before the snapshot: not open
    rows.push(k);
    positive.push(outcome?.result === 'WON' && outcome.time <= s + horizonMs);
  }
  return { rows, positive };
}

export function rankDimensions(replay: Replay, run: ModelRun, horizonMs: number): DimensionRanking[] {
  const obs = observations(replay, run, horizonMs);
  const leads = new Set(obs.rows.map((k) => run.snapshots.lead[k]!)).size;
  const snapshots = new Set(obs.rows.map((k) => run.snapshots.at[k]!)).size;
  return run.subject.model.dimensions.map((dim, d) => {
    const scores = obs.rows.map((k) => run.snapshots.scores[d]![k]!);
    return {
      dimension: dim.name,
      observations: scores.length,
      leads,
      snapshots,
      won: obs.positive.filter(Boolean).length,
      winRate: ratio(obs.positive.filter(Boolean).length, scores.length),
      auc: rocAuc(scores, obs.positive),
      deciles: decileRows(scores, obs.positive),
      roc: thinCurve(rocCurve(scores, obs.positive)),
    };
  });
}

export function decileRows(scores: number[], positive: boolean[]): DecileRow[] {
  const of = deciles(scores);
  const totalWon = positive.filter(Boolean).length;
  const baseRate = ratio(totalWon, scores.length);
  const rows: DecileRow[] = [];
  for (let d = 1; d <= 10; d++) {
    let n = 0;
    let won = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < scores.length; i++) {
      if (of[i] !== d) continue;
      n++;
      if (positive[i]) won++;
      min = Math.min(min, scores[i]!);
      max = Math.max(max, scores[i]!);
    }
    const winRate = ratio(won, n);
    rows.push({
      decile: d,
      observations: n,
      won,
      winRate,
      lift: winRate === null || baseRate === null || baseRate === 0 ? null : winRate / baseRate,
      shareOfWins: ratio(won, totalWon),
      minScore: n === 0 ? null : min,
      maxScore: n === 0 ? null : max,
    });
  }
  return rows;
}
