/**
 * @leadscorer/core: the scoring core around the engine. The ports it owns (a ScoreStore, a
 * stage-change sink, a dead-letter sink), the per-lead record the stores keep, and the one way
 * every writer changes a lead: read, apply with the engine in process, commit with
 * compare-and-set. No Kafka, Redis or logger here; adapters live in libs/store and
 * libs/scoring-service.
 */
export {
  type ApplyItem,
  advanceLead,
  applyItem,
  applyToLead,
  dueOf,
  type ItemOutcome,
  type LeadResult,
  newRecord,
  rebaseLead,
} from './apply-lead.ts';
export { leadHash } from './erasure.ts';
export {
  type IndexEntry,
  type IndexUpdate,
  indexEntry,
  indexedStages,
  listedStages,
  ORDER_BAND,
  orderKey,
  previousOrder,
  scoreOfKey,
} from './indexes.ts';
export { cloneRecord, MemoryScoreStore } from './memory-store.ts';
export type {
  CommitGuard,
  CommitResult,
  ConsumedMessage,
  DeadLetterSink,
  ErasedLead,
  LeadWrite,
  PartitionGuard,
  Position,
  QueryIndexes,
  RecordedChange,
  ScoreStore,
  StageChangeSink,
  StateEpochs,
  StoredLead,
  StoreVersion,
} from './ports.ts';
export {
  HISTORY_LENGTH,
  type HistoryEntry,
  historyEntry,
  type LeadRecord,
  type StageChangeRecord,
  sourceId,
  TYPE_CODES,
} from './records.ts';
export { advanceDue, applyChunk, type ChunkResult, type ScorerOptions } from './scorer.ts';
export { SHARDS, shardOf } from './shards.ts';
export { GENESIS_EPOCH, PositionMarks, parsePosition, RETIRED, type StateStatus, stateOf } from './state.ts';
