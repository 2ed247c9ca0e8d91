import { createRedis, type RunningService, runMain, startService } from '@leadscorer/runtime';
import { clockOf, loadScoringEnv, readModel, type ScoringEnv, StateGuard } from '@leadscorer/scoring-service';
import { RedisScoreStore, SHARDS } from '@leadscorer/store';
import { leadRoutes } from './api.ts';

/** The read API: answers from Redis, decayed to now by the engine. Stateless; scale freely. */
export function startLeadApi(
  rawEnv: NodeJS.ProcessEnv,
  defaultPort = 8080,
  onFatal: (err: unknown) => void = () => undefined,
): Promise<RunningService> {
  return startService<ScoringEnv>({
    name: 'lead-api',
    defaultPort,
    env: loadScoringEnv(rawEnv),
    onFatal,
    build: ({ env, log, metrics }) => {
      const model = readModel(env.MODEL_FILE);
      const redis = createRedis(env, 'lead-scorer.lead-api');
      const store = new RedisScoreStore({
        client: redis,
        keys: { prefix: env.REDIS_KEY_PREFIX, shards: SHARDS },
        model,
      });
      // The state epoch names the stored changes' ids; read now and then (it changes only when
      // the state is rebuilt or accepted empty).
      const state = new StateGuard({ store, log: log.child({ component: 'state' }), metrics });
      let timer: NodeJS.Timeout | undefined;
      const refresh = () => {
        state.check().catch((err: unknown) => log.warn({ err }, 'could not read the Redis state epochs'));
        timer = setTimeout(refresh, 30_000);
        timer.unref();
      };
      log.info({ model: model.version }, 'serving the read API');
      return {
        connect: () => redis.connect(),
        start: async () => refresh(),
        stop: async () => {
          clearTimeout(timer);
          redis.disconnect();
        },
        live: () => true,
        ready: () => redis.status === 'ready',
        routes: [leadRoutes({ store, model, clock: clockOf(env), epoch: () => state.epoch })],
      };
    },
  });
}

export { runMain };
