import { explain, type StageCause } from '@leadscorer/engine';
import { reachableStages, reachedAt } from './period.ts';
import type { ModelRun, Replay } from './replay.ts';
import { isoDate } from './time.ts';

/**
 * The leads whose stage differs between two models: at the end of the period, or in the stages
 * they reached during it (before their outcome). For each, what decided it under each model: the
 * cause of each first entry (the rule that pushed the lead in, with the threshold arithmetic),
 * and the engine's explanation at the end of the period (the rules that hold the points now).
 */

export interface ReachedStage {
  stage: string;
  date: string;
  /** "rule demo_request: engagement 42.8 >= 40, fit 20 >= 10", or why it was held. */
  cause: string;
}

export interface RuleShare {
  ruleId: string;
  dimension: string;
  /** Points the rule holds at the end of the period (decayed); fit rules: their points. */
  points: number;
}

export interface ModelSide {
  label: string;
  endStage: string;
  reached: ReachedStage[];
  scores: Record<string, number>;
  /** The largest contributions at the end of the period, then the fit rules of the profile. */
  rules: RuleShare[];
}

export interface StageDifference {
  leadId: string;
  outcome: 'WON' | 'LOST' | null;
  outcomeDate: string | null;
  sides: ModelSide[];
}

export interface StageDifferences {
  /** Period leads compared. */
  compared: number;
  /** Leads listed below: end stage or reached stages differ. */
  differing: number;
  /** End stage under the first model -> end stage under the second, for every period lead. */
  matrix: { first: string; second: string; leads: number }[];
  leads: StageDifference[];
}

/** Contributions smaller than this (in points, decayed) are not worth a line. */
const NEGLIGIBLE = 0.05;
const TOP_RULES = 5;

export function stageDifferences(
  replay: Replay,
  a: ModelRun,
  b: ModelRun,
  members: number[],
): StageDifferences {
  const matrix = new Map<string, { first: string; second: string; leads: number }>();
  const leads: StageDifference[] = [];
  const endAt = replay.to - 1;
  for (const i of members) {
    const [la, lb] = [a.leads[i]!, b.leads[i]!];
    const key = `${la.state.stage}\u0000${lb.state.stage}`;
    const cell = matrix.get(key) ?? { first: la.state.stage, second: lb.state.stage, leads: 0 };
    cell.leads++;
    matrix.set(key, cell);
    const ra = reachedList(replay, a, i);
    const rb = reachedList(replay, b, i);
    const sameReach = ra.map((r) => r.stage).join() === rb.map((r) => r.stage).join();
    if (la.state.stage === lb.state.stage && sameReach) continue;
    const outcome = replay.outcomes[i];
    leads.push({
      leadId: replay.leadIds[i]!,
      outcome: outcome?.result ?? null,
      outcomeDate: outcome ? isoDate(outcome.time) : null,
      sides: [side(a, i, ra, endAt), side(b, i, rb, endAt)],
    });
  }
  const order = { WON: 0, LOST: 1 } as const;
  leads.sort(
    (x, y) =>
      (x.outcome ? order[x.outcome] : 2) - (y.outcome ? order[y.outcome] : 2) ||
      (x.leadId < y.leadId ? -1 : x.leadId > y.leadId ? 1 : 0),
  );
  return {
    compared: members.length,
    differing: leads.length,
    matrix: [...matrix.values()].sort((x, y) => y.leads - x.leads),
    leads,
  };
}

function reachedList(replay: Replay, run: ModelRun, lead: number): ReachedStage[] {
  const out: ReachedStage[] = [];
  for (const stage of reachableStages(run)) {
    const at = reachedAt(replay, run, lead, stage);
    if (at === undefined) continue;
    const reach = run.leads[lead]!.reached.get(stage)!;
    out.push({ stage, date: isoDate(at), cause: describeCause(reach.cause) });
  }
  return out;
}

export function describeCause(cause: StageCause | null): string {
  if (cause === null) return 'held as the period started';
  return `${cause.kind}${cause.ruleId ? ` ${cause.ruleId}` : ''}: ${cause.detail}`;
}

function side(run: ModelRun, lead: number, reached: ReachedStage[], endAt: number): ModelSide {
  const { model } = run.subject;
  const state = run.leads[lead]!.state;
  const e = explain(state, endAt, model);
  const rules: RuleShare[] = e.contributions
    .filter((c) => Math.abs(c.value) >= NEGLIGIBLE)
    .slice(0, TOP_RULES)
    .map((c) => ({ ruleId: c.ruleId, dimension: c.dimension, points: c.value }));
  for (const f of e.fit) rules.push({ ruleId: f.ruleId, dimension: f.dimension, points: f.points });
  return { label: run.subject.label, endStage: state.stage, reached, scores: e.scores, rules };
}
