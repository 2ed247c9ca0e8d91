import type { EvaluationReport, ModelReport } from '../report.ts';
import { barChart, lineChart } from './svg.ts';

/** The report's charts, one SVG figure each, both models as series side by side. */

const percent = (v: number) => `${Math.round(v * 100)}%`;

export function conversionChart(report: EvaluationReport): string {
  const stages = report.models[0]!.conversion.map((r) => r.stage);
  return barChart({
    id: 'conversion',
    title: 'Conversion per stage reached',
    caption:
      'Of the leads that reached each stage during the period (before their deal closed), the share that won. Higher bars: the stage picks out buyers.',
    categories: stages,
    series: report.models.map((m) => ({
      name: m.label,
      values: stages.map((s) => m.conversion.find((r) => r.stage === s)?.conversion ?? null),
    })),
    format: percent,
    yLabel: 'won / leads',
  });
}

export function liftChart(report: EvaluationReport, dimension: string): string {
  const deciles = Array.from({ length: 10 }, (_, i) => String(i + 1));
  return barChart({
    id: `lift-${dimension}`,
    title: `Lift per ${dimension} score decile`,
    caption: `Decile 1 holds the 10% of open leads with the highest ${dimension} score at a weekly snapshot, decile 10 the lowest. A lift of 3 means they won within ${report.horizonDays} days three times as often as the average lead. A good score falls from left to right.`,
    categories: deciles,
    series: modelsWith(report, dimension).map((m) => ({
      name: m.label,
      values: ranking(m, dimension)!.deciles.map((d) => d.lift),
    })),
    format: (v) => `${v.toFixed(1)}x`,
    yLabel: 'lift (1 = average)',
    reference: { value: 1, label: 'average' },
  });
}

export function rocChart(report: EvaluationReport, dimension: string): string {
  return lineChart({
    id: `roc-${dimension}`,
    title: `ROC curve of the ${dimension} score`,
    caption: `Each point is a cut-off on the ${dimension} score: up, the share of winners above it; right, the share of non-winners above it. The higher the curve bows over the diagonal (chance), the better the score tells them apart; the area under it is the AUC.`,
    series: modelsWith(report, dimension).map((m) => ({
      name: `${m.label} (AUC ${fmtAuc(ranking(m, dimension)!.auc)})`,
      points: ranking(m, dimension)!.roc.map((p) => [p.fpr, p.tpr] as [number, number]),
    })),
    x: 'linear',
    xDomain: [0, 1],
    yDomain: [0, 1],
    format: (v) => v.toFixed(1),
    xLabel: 'false positive rate (non-winners above the cut-off)',
    yLabel: 'true positive rate',
    diagonal: true,
    square: true,
  });
}

export function volumeChart(report: EvaluationReport, stage: string): string {
  const models = report.models.filter((m) => m.stages.includes(stage));
  const weeks = models[0]!.weekly;
  return lineChart({
    id: `volume-${stage}`,
    title: `${stage.toUpperCase()} entries per week`,
    caption: `How many times a week leads entered ${stage === 'disqualified' ? 'disqualified' : `${stage.toUpperCase()} from a lower stage`}: the alerts sales would have received.`,
    series: models.map((m) => ({
      name: m.label,
      points: m.weekly.map((w) => [w.weekMs, w.entries[stage] ?? 0] as [number, number]),
    })),
    x: 'time',
    xDomain: [weeks[0]!.weekMs, weeks[weeks.length - 1]!.weekMs],
    format: (v) => String(Math.round(v)),
    xLabel: 'week (Monday, UTC)',
    yLabel: 'entries',
  });
}

function modelsWith(report: EvaluationReport, dimension: string): ModelReport[] {
  return report.models.filter((m) => ranking(m, dimension));
}

function ranking(m: ModelReport, dimension: string) {
  return m.ranking.find((r) => r.dimension === dimension);
}

export function fmtAuc(auc: number | null): string {
  return auc === null ? 'n/a' : auc.toFixed(3);
}
