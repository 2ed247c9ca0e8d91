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
