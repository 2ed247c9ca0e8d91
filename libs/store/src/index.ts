export { decodeRecord, encodeRecord, FORMAT } from './codec.ts';
export { redisError } from './errors.ts';
export {
  dueKey,
  ENTERED,
  type KeySpace,
  leadKey,
  namesKey,
  outboxKey,
  queryKey,
  SHARDS,
  shardOf,
  snapshotKey,
  snapshotLeaseKey,
  updatedKey,
} from './keys.ts';
export { modelNames, NameTable } from './names.ts';
export {
  compare as compareIndexPositions,
  type Direction,
  type Page,
  type Position as IndexPosition,
  RedisLeadQueries,
  type RedisLeadQueriesOptions,
} from './queries.ts';
export { dropGeneration, leadIds } from './scan.ts';
export { defineScripts, SCRIPTS, type ScriptName, scriptSource } from './scripts.ts';
export {
  type CommitCall,
  commitCall,
  eraseLeadKeys,
  type IndexLayout,
  indexLayoutOf,
  RedisScoreStore,
  type RedisScoreStoreOptions,
} from './store.ts';
