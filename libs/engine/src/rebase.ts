import { topContributions } from './explain.ts';
import type { Model } from './model-types.ts';
import { dimensionScores, scoreRecord } from './stage.ts';
import { bind, copyState, type LeadState } from './state.ts';
import type { StageTransition } from './types.ts';

/** What the world last saw of a lead: its published stage and sequence. */
export interface PublishedStage {
  stage: string;
  seq: number;
}

/**
 * Continues a lead's published history on a state rebuilt from its events under a model (a
 * rescore, a rebuild): the rebuilt state's own sequence counts transitions nobody saw, so the
 * result's sequence continues `previous.seq` instead, and subscribers that order a lead's changes
 * by sequence keep doing so. When the rebuilt stage differs from the published one, the result
 * carries the transition between them, cause `model-change`, sequence `previous.seq + 1`, scores
 * and top rules at `now`, `eventTime` `now`. A lead nobody saw before has `previous` undefined:
 * its state is returned as rebuilt (its stage changes, if any, were never published either way).
 */
export function rebase(
  given: LeadState,
  previous: PublishedStage | undefined,
  now: number,
  model: Model,
): { state: LeadState; transition?: StageTransition } {
  if (previous === undefined) return { state: given };
  const state = copyState(bind(given, model));
  if (previous.stage === state.stage) {
    state.seq = previous.seq;
    return { state };
  }
  state.seq = previous.seq + 1;
  const scores = dimensionScores(state, now, model);
  return {
    state,
    transition: {
      from: previous.stage,
      to: state.stage,
      scores: scoreRecord(scores, model),
      cause: { kind: 'model-change', detail: `rescored under model ${model.version}` },
      eventTime: now,
      seq: state.seq,
      topRules: topContributions(state, now, model),
    },
  };
}
