import { DISQUALIFIED, formatDuration } from '@leadscorer/engine';
import { type StageDifferences, stageDifferences } from './differences.ts';
import { type Finding, findings } from './findings.ts';
import { ratio, type Spread, spread } from './metrics.ts';
import { periodLeads, reachableStages, reachedAt } from './period.ts';
import { type DimensionRanking, rankDimensions } from './ranking.ts';
import type { ModelRun, Replay } from './replay.ts';
import { DAY_MS, isoDate, WEEK_MS, weekStart } from './time.ts';

/**
 * The evaluation's tables, computed from one replay: plain JSON, what report.json holds and what
 * the HTML page and the CSV files show. docs/evaluation.md defines every field.
 */

export interface EvaluationOptions {
  /** "Won within the horizon" of a snapshot: the label of the ranking metrics. */
  horizonMs: number;
  /** Where the history came from, for the report's reader. */
  source: string;
}

export interface EvaluationReport {
  source: string;
  period: { from: string; to: string; fromMs: number; toMs: number };
  historyEnd: string;
  horizon: string;
  horizonDays: number;
  counts: LeadCounts;
  models: ModelReport[];
  /** Present when two models were compared. */
  differences: StageDifferences | null;
  findings: Finding[];
}

export interface LeadCounts {
  /** Leads of the period: a first event before its end, no outcome before its start. */
  leads: number;
  won: number;
  lost: number;
  noOutcome: number;
  /** Leads left out because their deal closed before the period. */
  closedBefore: number;
  /** Outcomes after a lead's first one: read, not counted. */
  laterOutcomes: number;
  eventsApplied: number;
  eventsAfterPeriod: number;
}

export interface ConversionRow {
  /** A stage name, or "all leads" for the base rate. */
  stage: string;
  leads: number;
  won: number;
  conversion: number | null;
  wonAmount: number;
}

export interface TimeToWonRow extends Spread {
  stage: string;
}

export interface PrecisionRecallRow {
  stage: string;
  /** Leads that reached the stage (predicted to win). */
  reached: number;
  /** Of them, won. */
  reachedAndWon: number;
  /** All won leads of the period. */
  won: number;
  precision: number | null;
  recall: number | null;
}

export interface WeekRow {
  week: string;
  weekMs: number;
  /** Stage -> entries in the week. */
  entries: Record<string, number>;
}

export interface ModelReport {
  label: string;
  file: string;
  version: string;
  dimensions: string[];
  /** The ladder above its lowest stage, then disqualified. */
  stages: string[];
  conversion: ConversionRow[];
  timeToWon: TimeToWonRow[];
  precisionRecall: PrecisionRecallRow[];
  ranking: DimensionRanking[];
  weekly: WeekRow[];
}

export const ALL_LEADS = 'all leads';
export const ANY_QUALIFIED = 'any qualified stage';

export function buildReport(replay: Replay, options: EvaluationOptions): EvaluationReport {
  const members = periodLeads(replay);
  const counts = countLeads(replay, members);
  const models = replay.runs.map((run) => modelReport(replay, run, members, options.horizonMs));
  const differences =
    replay.runs.length === 2 ? stageDifferences(replay, replay.runs[0]!, replay.runs[1]!, members) : null;
  const report: EvaluationReport = {
    source: options.source,
    period: {
      from: new Date(replay.from).toISOString(),
      to: new Date(replay.to).toISOString(),
      fromMs: replay.from,
      toMs: replay.to,
    },
    historyEnd: new Date(replay.historyEnd).toISOString(),
    horizon: formatDuration(options.horizonMs),
    horizonDays: options.horizonMs / DAY_MS,
    counts,
    models,
    differences,
    findings: [],
  };
  report.findings = findings(report);
  return report;
}

function countLeads(replay: Replay, members: number[]): LeadCounts {
  let won = 0;
  let lost = 0;
  for (const i of members) {
    const o = replay.outcomes[i];
    if (o?.result === 'WON') won++;
    else if (o?.result === 'LOST') lost++;
  }
  let closedBefore = 0;
  for (let i = 0; i < replay.leadIds.length; i++) {
    const o = replay.outcomes[i];
    if (!Number.isNaN(replay.firstEventAt[i]!) && o && o.time < replay.from) closedBefore++;
  }
  return {
    leads: members.length,
    won,
    lost,
    noOutcome: members.length - won - lost,
    closedBefore,
    laterOutcomes: replay.laterOutcomes,
    eventsApplied: replay.events.applied,
    eventsAfterPeriod: replay.events.afterPeriod,
  };
}

function modelReport(replay: Replay, run: ModelRun, members: number[], horizonMs: number): ModelReport {
  const { model } = run.subject;
  const stages = reachableStages(run);
  const qualified = stages.filter((s) => s !== DISQUALIFIED);
  const won = (i: number) => replay.outcomes[i]?.result === 'WON';
  const amount = (i: number) => (won(i) ? (replay.outcomes[i]!.amount ?? 0) : 0);

  const reachedBy = new Map(
    stages.map((s) => [s, members.filter((i) => reachedAt(replay, run, i, s) !== undefined)]),
  );
  const anyQualified = members.filter((i) =>
    qualified.some((s) => reachedAt(replay, run, i, s) !== undefined),
  );
  const wonCount = members.filter(won).length;

  const conversionRow = (stage: string, leads: number[]): ConversionRow => {
    const w = leads.filter(won);
    return {
      stage,
      leads: leads.length,
      won: w.length,
      conversion: ratio(w.length, leads.length),
      wonAmount: w.reduce((sum, i) => sum + amount(i), 0),
    };
  };
  const prRow = (stage: string, leads: number[]): PrecisionRecallRow => {
    const hit = leads.filter(won).length;
    return {
      stage,
      reached: leads.length,
      reachedAndWon: hit,
      won: wonCount,
      precision: ratio(hit, leads.length),
      recall: ratio(hit, wonCount),
    };
  };

  return {
    label: run.subject.label,
    file: run.subject.file,
    version: model.version,
    dimensions: model.dimensions.map((d) => d.name),
    stages,
    conversion: [
      conversionRow(ALL_LEADS, members),
      ...stages.map((s) => conversionRow(s, reachedBy.get(s)!)),
      conversionRow(ANY_QUALIFIED, anyQualified),
    ],
    timeToWon: qualified.map((stage) => ({
      stage,
      ...spread(
        reachedBy
          .get(stage)!
          .filter(won)
          .map((i) => (replay.outcomes[i]!.time - reachedAt(replay, run, i, stage)!) / DAY_MS),
      ),
    })),
    precisionRecall: [
      ...qualified.map((s) => prRow(s, reachedBy.get(s)!)),
      prRow(ANY_QUALIFIED, anyQualified),
    ],
    ranking: rankDimensions(replay, run, horizonMs),
    weekly: weeklyEntries(replay, run, stages),
  };
}

/** Every week that overlaps the period, with its entries per stage (0 when none). */
function weeklyEntries(replay: Replay, run: ModelRun, stages: string[]): WeekRow[] {
  const rows: WeekRow[] = [];
  for (let week = weekStart(replay.from); week < replay.to; week += WEEK_MS) {
    const counted = run.entries.get(week);
    rows.push({
      week: isoDate(week),
      weekMs: week,
      entries: Object.fromEntries(stages.map((s) => [s, counted?.get(s) ?? 0])),
    });
  }
  return rows;
}
