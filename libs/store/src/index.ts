export { redisError } from './errors.ts';
export {
  dueKey,
  fnv1a32,
  HISTORY_LENGTH,
  type KeySpace,
  leadKey,
  outboxKey,
  SHARDS,
  shardOf,
  sourceId,
} from './keys.ts';
export { compileLuaModel, type LuaModel } from './script-model.ts';
export { buildLibrary, loadLibrary, type ScriptLibrary, type ScriptName } from './scripts.ts';
export { decodeStoredLead, type HistoryEntry, normalizeState, type StoredLead } from './state-codec.ts';
export {
  type ApplyBatchResult,
  type ApplyItem,
  type ApplyOutcome,
  type RecordedChange,
  RedisScoreStore,
  type ScoreStoreOptions,
  type StageChangeRecord,
} from './store.ts';
