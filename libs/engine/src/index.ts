/**
 * @leadscorer/engine: the single definition of what a score and a stage are. Pure: no Kafka,
 * Redis, clock or logger; `now` is always an argument. docs/model.md documents the semantics.
 */
export { applyEffect, applyEvent, initialState } from './apply.ts';
export { formatDuration, parseDuration } from './duration.ts';
export { evaluateEvent } from './evaluate.ts';
export { type Explanation, explain } from './explain.ts';
export { eventHash, transitionId } from './ids.ts';
export {
  type Condition,
  compileModel,
  DISQUALIFIED,
  type Dimension,
  loadModel,
  type Model,
  type Rule,
  type Stage,
} from './model.ts';
export { type ModelFile, ModelFileSchema, modelJsonSchema } from './model-schema.ts';
export { compileForScript, type ScriptCondition, type ScriptModel } from './script-model.ts';
export { evaluateStage, isDisqualified, isSalesQualified, scoresAt } from './stage.ts';
export { type Foreign, type Layout, type LeadState, stateFromView, stateView } from './state.ts';
export { advanceTo, nextChangeAt } from './time.ts';
export * from './types.ts';
