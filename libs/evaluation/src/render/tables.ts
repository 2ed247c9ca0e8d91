import { stringify } from 'csv-stringify/sync';
import type { EvaluationReport } from '../report.ts';

/**
 * Every table of the report as a CSV file for other tools (spreadsheets, BI): one row per
 * model and key, machine values (rates as fractions 0..1, times as ISO dates, empty where a value
 * is undefined). report.json holds the same numbers nested.
 */

export type Cell = string | number | boolean | null;

export interface Table {
  /** File name without .csv. */
  name: string;
  columns: string[];
  rows: Cell[][];
}

export function reportTables(report: EvaluationReport): Table[] {
  const m = report.models;
  const c = report.counts;
  const tables: Table[] = [
    {
      name: 'summary',
      columns: ['key', 'value'],
      rows: [
        ['source', report.source],
        ['period_from', report.period.from],
        ['period_to', report.period.to],
        ['history_end', report.historyEnd],
        ['horizon_days', report.horizonDays],
        ...m.flatMap((x) => [
          [`${x.label}_file`, x.file],
          [`${x.label}_version`, x.version],
        ]),
        ...Object.entries(c).map(([k, v]) => [snake(k), v] as Cell[]),
      ],
    },
    {
      name: 'findings',
      columns: ['topic', 'verdict', 'text'],
      rows: report.findings.map((f) => [f.topic, verdictLabel(report, f.verdict), f.text]),
    },
    {
      name: 'conversion',
      columns: ['model', 'stage', 'leads', 'won', 'conversion', 'won_amount'],
      rows: m.flatMap((x) =>
        x.conversion.map((r) => [x.label, r.stage, r.leads, r.won, r.conversion, r.wonAmount]),
      ),
    },
    {
      name: 'time-to-won',
      columns: ['model', 'stage', 'won', 'median_days', 'p25_days', 'p75_days'],
      rows: m.flatMap((x) => x.timeToWon.map((r) => [x.label, r.stage, r.count, r.median, r.p25, r.p75])),
    },
    {
      name: 'precision-recall',
      columns: ['model', 'stage', 'reached', 'reached_and_won', 'won', 'precision', 'recall'],
      rows: m.flatMap((x) =>
        x.precisionRecall.map((r) => [
          x.label,
          r.stage,
          r.reached,
          r.reachedAndWon,
          r.won,
          r.precision,
          r.recall,
        ]),
      ),
    },
    {
      name: 'auc',
      columns: ['model', 'dimension', 'observations', 'leads', 'snapshots', 'won', 'win_rate', 'auc'],
      rows: m.flatMap((x) =>
        x.ranking.map((r) => [
          x.label,
          r.dimension,
          r.observations,
          r.leads,
          r.snapshots,
          r.won,
          r.winRate,
          r.auc,
        ]),
      ),
    },
    {
      name: 'lift',
      columns: [
        'model',
        'dimension',
        'decile',
        'observations',
        'won',
        'win_rate',
        'lift',
        'share_of_wins',
        'min_score',
        'max_score',
      ],
      rows: m.flatMap((x) =>
        x.ranking.flatMap((r) =>
          r.deciles.map((d) => [
            x.label,
            r.dimension,
            d.decile,
            d.observations,
            d.won,
            d.winRate,
            d.lift,
            d.shareOfWins,
            d.minScore,
            d.maxScore,
          ]),
        ),
      ),
    },
    {
      name: 'roc',
      columns: ['model', 'dimension', 'threshold', 'fpr', 'tpr'],
      rows: m.flatMap((x) =>
        x.ranking.flatMap((r) =>
          r.roc.map((p) => [
            x.label,
            r.dimension,
            Number.isFinite(p.threshold) ? p.threshold : null,
            p.fpr,
            p.tpr,
          ]),
        ),
      ),
    },
    {
      name: 'weekly-volumes',
      columns: ['model', 'week', 'stage', 'entries'],
      rows: m.flatMap((x) =>
        x.weekly.flatMap((w) => Object.entries(w.entries).map(([s, n]) => [x.label, w.week, s, n])),
      ),
    },
  ];
  const d = report.differences;
  if (d) {
    const labels = m.map((x) => x.label);
    tables.push({
      name: 'stage-differences',
      columns: [
        'lead_id',
        'outcome',
        'outcome_date',
        ...labels.flatMap((l) => [`${l}_end_stage`, `${l}_reached`, `${l}_scores`, `${l}_rules`]),
      ],
      rows: d.leads.map((x) => [
        x.leadId,
        x.outcome,
        x.outcomeDate,
        ...x.sides.flatMap((s) => [
          s.endStage,
          s.reached.map((r) => `${r.stage} ${r.date} (${r.cause})`).join('; '),
          Object.entries(s.scores)
            .map(([k, v]) => `${k} ${v.toFixed(1)}`)
            .join('; '),
          s.rules.map((r) => `${r.ruleId} ${r.points.toFixed(1)}`).join('; '),
        ]),
      ]),
    });
    tables.push({
      name: 'stage-matrix',
      columns: [`${labels[0]}_end_stage`, `${labels[1]}_end_stage`, 'leads'],
      rows: d.matrix.map((x) => [x.first, x.second, x.leads]),
    });
  }
  return tables;
}

export function toCsv(table: Table): string {
  return stringify([table.columns, ...table.rows], { cast: { boolean: (b) => String(b) } });
}

export function verdictLabel(report: EvaluationReport, v: string): string {
  if (v === 'first') return `${report.models[0]?.label} better`;
  if (v === 'second') return `${report.models[1]?.label} better`;
  return { same: 'about the same', 'trade-off': 'trade-off', unknown: 'to note' }[v] ?? v;
}

function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
