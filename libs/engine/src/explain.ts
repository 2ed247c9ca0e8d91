import type { Model } from './model-types.ts';
import {
  decay,
  dimensionScores,
  evaluateStage,
  isDisqualified,
  isSalesQualified,
  q,
  scoreRecord,
} from './stage.ts';
import { bind, type LeadState, signalsOf } from './state.ts';
import type { RuleContribution } from './types.ts';

export interface Explanation {
  /** The stored stage and the stage re-evaluation would give at `now` (differs only when stale). */
  stage: string;
  stageNow: string;
  scores: Record<string, number>;
  /** Decaying rules with their contribution at `now`, largest absolute value first. */
  contributions: { ruleId: string; dimension: string; value: number; description: string }[];
  /** Fit rules matched by the latest profile. */
  fit: { ruleId: string; dimension: string; points: number; description: string }[];
  signals: Record<string, number>;
  salesQualified: boolean;
  disqualified: boolean;
}

/** How many rules a stage change names as its top contributors. */
export const TOP_RULES = 5;

/**
 * The rules contributing most to a bound state's scores at `now`: every decaying rule's value
 * decayed to `now` and every fit rule of the latest profile, largest absolute points first (ties
 * in model order), at most `limit`.
 */
export function topContributions(
  state: LeadState,
  now: number,
  model: Model,
  limit = TOP_RULES,
): RuleContribution[] {
  const { n, layout } = state;
  const all: RuleContribution[] = [];
  for (const rule of model.rules) {
    const at = layout.valueAt[rule.index]!;
    if (at < 0 || Number.isNaN(n[at + 1]!)) continue;
    const points = q(n[at]! * decay(now, n[at + 1]!, rule.dimension!.halfLifeMs!));
    all.push({ ruleId: rule.id, dimension: rule.dimension!.name, points });
  }
  const fit = layout.fitAt + 2;
  for (let i = 1; i <= n[fit]!; i++) {
    const rule = model.rules[n[fit + i]!]!;
    all.push({ ruleId: rule.id, dimension: rule.dimension!.name, points: rule.points });
  }
  // A stable sort keeps model order among equal magnitudes.
  all.sort((a, b) => Math.abs(b.points) - Math.abs(a.points));
  return all.slice(0, limit);
}

/** Why a lead scores what it scores at `now`: per rule, decayed, plus the fit rules and flags. */
export function explain(given: LeadState, now: number, model: Model): Explanation {
  const state = bind(given, model);
  const { n, layout } = state;
  const contributions: Explanation['contributions'] = [];
  for (const rule of model.rules) {
    const at = layout.valueAt[rule.index]!;
    if (at < 0 || Number.isNaN(n[at + 1]!)) continue;
    const value = q(n[at]! * decay(now, n[at + 1]!, rule.dimension!.halfLifeMs!));
    contributions.push({
      ruleId: rule.id,
      dimension: rule.dimension!.name,
      value,
      description: rule.description,
    });
  }
  contributions.sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  const fit: Explanation['fit'] = [];
  const at = layout.fitAt + 2;
  for (let i = 1; i <= n[at]!; i++) {
    const rule = model.rules[n[at + i]!]!;
    fit.push({
      ruleId: rule.id,
      dimension: rule.dimension!.name,
      points: rule.points,
      description: rule.description,
    });
  }
  return {
    stage: state.stage,
    stageNow: evaluateStage(state, now, model),
    scores: scoreRecord(dimensionScores(state, now, model), model),
    contributions,
    fit,
    signals: signalsOf(state) ?? {},
    salesQualified: isSalesQualified(state),
    disqualified: isDisqualified(state),
  };
}
