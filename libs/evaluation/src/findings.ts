import { DISQUALIFIED } from '@leadscorer/engine';
import type { EvaluationReport, ModelReport } from './report.ts';

/**
 * The report's first section, in plain words for marketing operations: for each question, which
 * model answers it better and by how much. Differences within chance are called "about the same":
 * AUC within 0.01, rates within half a point or one standard error (rateMargin).
 */

export type Verdict = 'first' | 'second' | 'same' | 'trade-off' | 'unknown';

export interface Finding {
  topic: string;
  /** Which model does better: the first (current) or the second (candidate). */
  verdict: Verdict;
  text: string;
}

const AUC_MARGIN = 0.01;
const RATE_MARGIN = 0.005;

export function findings(report: EvaluationReport): Finding[] {
  const [a, b] = report.models;
  if (!a) return [];
  const out: Finding[] = [];
  const horizon = `${report.horizonDays} days`;
  for (const dim of a.dimensions) {
    const ra = a.ranking.find((r) => r.dimension === dim)!;
    const rb = b?.ranking.find((r) => r.dimension === dim);
    const lift = (r: typeof ra) => r.deciles[0]?.lift;
    const describe = (m: ModelReport, r: typeof ra) =>
      r.auc === null
        ? `${m.label}: not enough outcomes to tell`
        : `${m.label} AUC ${fmt(r.auc, 2)}, top 10% won ${lift(r) == null ? '?' : `${fmt(lift(r)!, 1)}x`} as often as average`;
    if (!b || !rb) {
      out.push({
        topic: `ranking by ${dim}`,
        verdict: 'unknown',
        text: `${cap(dim)} score: ${describe(a, ra)}.`,
      });
      continue;
    }
    const verdict = compare(ra.auc, rb.auc, AUC_MARGIN);
    const lead =
      verdict === 'same'
        ? `ranks leads about as well under both models`
        : verdict === 'unknown'
          ? 'cannot be compared (no won or no lost observations)'
          : `ranks leads better under the ${winner(verdict, a, b)} model (it tells who wins within ${horizon} more often)`;
    out.push({
      topic: `ranking by ${dim}`,
      verdict,
      text: `${cap(dim)} score ${lead}: ${describe(a, ra)}; ${describe(b, rb)}.`,
    });
  }
  for (const stage of a.stages.filter((s) => s !== DISQUALIFIED)) {
    const pa = a.precisionRecall.find((r) => r.stage === stage)!;
    const pb = b?.precisionRecall.find((r) => r.stage === stage);
    const describe = (m: ModelReport, r: typeof pa) =>
      `${m.label}: ${r.reached} leads, ${pct(r.precision)} of them won, ${pct(r.recall)} of all wins`;
    if (!b || !pb) {
      out.push({
        topic: `${stage} as a predictor`,
        verdict: 'unknown',
        text: `${stage.toUpperCase()}: ${describe(a, pa)}.`,
      });
      continue;
    }
    const precision = compare(
      pa.precision,
      pb.precision,
      rateMargin(pa.precision, pa.reached, pb.precision, pb.reached),
    );
    const recall = compare(pa.recall, pb.recall, rateMargin(pa.recall, pa.won, pb.recall, pb.won));
    const verdict: Verdict =
      precision === recall
        ? precision
        : precision === 'same' || precision === 'unknown'
          ? recall
          : recall === 'same' || recall === 'unknown'
            ? precision
            : 'trade-off';
    const lead =
      verdict === 'trade-off'
        ? `the ${winner(precision, a, b)} model's ${stage.toUpperCase()}s win more often, the ${winner(recall, a, b)} model's catch more of the wins`
        : verdict === 'same'
          ? `predicts winning about as well under both models`
          : verdict === 'unknown'
            ? 'cannot be compared'
            : `predicts winning better under the ${winner(verdict, a, b)} model`;
    out.push({
      topic: `${stage} as a predictor`,
      verdict,
      text: `${stage.toUpperCase()} ${lead}: ${describe(a, pa)}; ${describe(b, pb)}.`,
    });
  }
  if (b) out.push(...volumes(a, b));
  return out;
}

/** How many alerts sales would have received: no better or worse, a consequence to plan for. */
function volumes(a: ModelReport, b: ModelReport): Finding[] {
  const total = (m: ModelReport, stage: string) =>
    m.weekly.reduce((sum, w) => sum + (w.entries[stage] ?? 0), 0);
  const parts = a.stages
    .filter((s) => s !== DISQUALIFIED && b.stages.includes(s))
    .map((stage) => {
      const [x, y] = [total(a, stage), total(b, stage)];
      const percent = x === 0 ? 0 : Math.round(((y - x) / x) * 100);
      const change = percent === 0 ? '' : ` (${percent > 0 ? '+' : ''}${percent}%)`;
      return `${stage.toUpperCase()} ${x} -> ${y}${change}`;
    });
  if (parts.length === 0) return [];
  return [
    {
      topic: 'alert volume',
      verdict: 'unknown',
      text: `Alerts sales would have received over the period, ${a.label} -> ${b.label}: ${parts.join(', ')}.`,
    },
  ];
}

/**
 * The larger of half a point and one standard error of the difference of two rates (pooled, as
 * if the two groups were independent; they share most leads, so this errs towards "same").
 */
export function rateMargin(x: number | null, n: number, y: number | null, m: number): number {
  if (x === null || y === null) return RATE_MARGIN;
  const pooled = (x * n + y * m) / (n + m);
  return Math.max(RATE_MARGIN, Math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m)));
}

function compare(x: number | null, y: number | null, margin: number): Verdict {
  if (x === null || y === null) return 'unknown';
  if (Math.abs(x - y) < margin) return 'same';
  return y > x ? 'second' : 'first';
}

function winner(v: Verdict, a: ModelReport, b: ModelReport): string {
  return v === 'first' ? a.label : b.label;
}

function fmt(x: number, digits: number): string {
  return x.toFixed(digits);
}

export function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
