/**
 * @leadscorer/engine: the single definition of what a score and a stage are. Pure: no Kafka,
 * Redis, clock or logger; `now` is always an argument. docs/model.md documents the semantics.
 */
export {
  type ApplyOptions,
  type ApplyOutcome,
  type ApplyResult,
  applyEffect,
  applyEvent,
  initialState,
} from './apply.ts';
export { formatDuration, parseDuration } from './duration.ts';
export { evaluateEvent, propsRead } from './evaluate.ts';
export { type Explanation, explain, TOP_RULES, topContributions } from './explain.ts';
export { eventHash, fnv1a32, transitionId } from './ids.ts';
export { compileModel, loadModel } from './model.ts';
export { type ModelFile, ModelFileSchema, modelJsonSchema } from './model-schema.ts';
export {
  type Condition,
  DISQUALIFIED,
  type Dimension,
  type Layout,
  type Model,
  type Rule,
  type Stage,
} from './model-types.ts';
export { type PublishedStage, rebase } from './rebase.ts';
export { dimensionScores, evaluateStage, isDisqualified, isSalesQualified, scoresAt } from './stage.ts';
export {
  copyState,
  type Foreign,
  hashHex,
  hashNumber,
  LeadState,
  refreshTotals,
  SALES_CODE,
  salesKind,
  setFitRules,
  stateFromView,
  stateView,
} from './state.ts';
export { advanceTo, mayChangeByTime, movesByTime, nextChangeAt } from './time.ts';
export * from './types.ts';
