export { decodeRecord, encodeRecord, FORMAT } from './codec.ts';
export { redisError } from './errors.ts';
export { dueKey, type KeySpace, leadKey, namesKey, outboxKey, SHARDS, shardOf } from './keys.ts';
export { modelNames, NameTable } from './names.ts';
export { dropGeneration, leadIds } from './scan.ts';
export { defineScripts, SCRIPTS, type ScriptName, scriptSource } from './scripts.ts';
export {
  type CommitCall,
  commitCall,
  eraseLeadKeys,
  RedisScoreStore,
  type RedisScoreStoreOptions,
} from './store.ts';
