import type { Model } from './model.ts';
import {
  decay,
  dimensionScores,
  evaluateStage,
  isDisqualified,
  isSalesQualified,
  q,
  scoreRecord,
} from './stage.ts';
import type { LeadState } from './types.ts';

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
export function explain(state: LeadState, now: number, model: Model): Explanation {
  const contributions: Explanation['contributions'] = [];
  const ids = state.ci ?? [];
  for (let i = 0; i < ids.length; i++) {
    const rule = model.ruleById.get(ids[i]!);
    const h = rule?.dimension?.halfLifeMs;
    if (!rule || !h || rule.fit) continue;
    const value = q(state.cv![2 * i]! * decay(now, state.cv![2 * i + 1]!, h));
    contributions.push({
      ruleId: rule.id,
      dimension: rule.dimension!.name,
      value,
      description: rule.description,
    });
  }
  contributions.sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  const fit: Explanation['fit'] = [];
  for (const id of state.fit?.r ?? []) {
    const rule = model.ruleById.get(id);
    if (!rule?.fit || !rule.dimension) continue;
    fit.push({
      ruleId: id,
      dimension: rule.dimension.name,
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
    signals: { ...state.sig },
    salesQualified: isSalesQualified(state),
    disqualified: isDisqualified(state),
  };
}
