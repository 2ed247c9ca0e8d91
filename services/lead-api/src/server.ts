import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadModel } from '@leadscorer/engine';
import {
  createLogger,
  createMetrics,
  createRedis,
  type OpsServer,
  startOpsServer,
} from '@leadscorer/runtime';
import { clockOf, loadScoringEnv } from '@leadscorer/scoring-service';
import { HISTORY_LENGTH, RedisScoreStore, SHARDS } from '@leadscorer/store';
import { leadRoutes } from './api.ts';

export interface LeadApi {
  ops: OpsServer;
  stop(): Promise<void>;
}

/** The read API: answers from Redis, decayed to now by the engine. Stateless; scale freely. */
export async function startLeadApi(rawEnv: NodeJS.ProcessEnv, defaultPort = 8080): Promise<LeadApi> {
  const env = loadScoringEnv(rawEnv);
  const log = createLogger('lead-api', env.LOG_LEVEL);
  const metrics = createMetrics('lead-api');
  const modelPath = resolve(env.MODEL_FILE);
  const model = loadModel(readFileSync(modelPath, 'utf8'), modelPath);
  const redis = createRedis(env, 'lead-scorer.lead-api');
  await redis.connect();
  const store = new RedisScoreStore({
    client: redis,
    keys: { prefix: env.REDIS_KEY_PREFIX, shards: SHARDS },
    model,
    historyLength: HISTORY_LENGTH,
  });
  const ops = await startOpsServer({
    host: env.HTTP_HOST,
    port: env.HTTP_PORT ?? defaultPort,
    registry: metrics.registry,
    live: () => true,
    ready: () => redis.status === 'ready',
    routes: [leadRoutes({ store, model, clock: clockOf(env) })],
  });
  log.info({ port: ops.port, model: model.version }, 'serving the read API');
  return {
    ops,
    stop: async () => {
      await ops.close();
      redis.disconnect();
    },
  };
}
