import { createRedis, type Route, type RunningService, runMain, startService } from '@leadscorer/runtime';
import { ActiveGeneration, clockOf, readModelFile, StateGuard } from '@leadscorer/scoring-service';
import { RedisLeadQueries, RedisScoreStore, SHARDS } from '@leadscorer/store';
import { leadRoutes, readApi } from './api.ts';
import { type LeadApiEnv, loadLeadApiEnv } from './config.ts';
import { OPENAPI } from './openapi.ts';
import { queryRoutes } from './queries.ts';
import { redisReadiness } from './readiness.ts';

/** The read API: answers from Redis, decayed to now by the engine. Stateless; scale freely. */
export async function startLeadApi(
  rawEnv: NodeJS.ProcessEnv,
  defaultPort = 8080,
  onFatal: (err: unknown) => void = () => undefined,
): Promise<RunningService> {
  return startService<LeadApiEnv>({
    name: 'lead-api',
    defaultPort,
    env: loadLeadApiEnv(rawEnv),
    onFatal,
    build: ({ env, log, metrics }) => {
      const configured = readModelFile(env.MODEL_FILE);
      const redis = createRedis(env, 'lead-scorer.lead-api');
      // The generation of keys and its model, as the scoring services follow it (a rescore
      // switches them); the read API only reads it.
      const generation = new ActiveGeneration({
        redis,
        base: env.REDIS_KEY_PREFIX,
        configured,
        log,
        create: false,
        build: (record, model) => ({
          record,
          model,
          store: new RedisScoreStore({
            client: redis,
            keys: { prefix: record.prefix, shards: SHARDS },
            model,
          }),
          queries: new RedisLeadQueries({
            client: redis,
            keys: { prefix: record.prefix, shards: SHARDS },
            model,
          }),
        }),
      });
      generation.onSwitch(() => void state.check().catch(() => undefined));
      // One line per outage, not one per reconnect attempt (ioredis prints them itself otherwise).
      let down = false;
      redis.on('error', (err: Error) => {
        if (!down) log.warn({ err: err.message }, 'Redis unavailable: answering 503 until it is back');
        down = true;
      });
      redis.on('ready', () => {
        if (down) log.info('Redis available again');
        down = false;
      });
      // The state epoch names the stored changes' ids; read now and then (it changes only when
      // the state is rebuilt or accepted empty).
      const state = new StateGuard({
        store: () => generation.current().store,
        log: log.child({ component: 'state' }),
        metrics,
        generation: () => generation.current().record.generation,
      });
      let timer: NodeJS.Timeout | undefined;
      const refresh = () => {
        state.check().catch((err: unknown) => log.debug({ err }, 'could not read the Redis state epochs'));
        timer = setTimeout(refresh, 30_000);
        timer.unref();
      };
      log.info({ model: configured.model.version, apiKeys: env.apiKeyHashes.length }, 'serving the read API');
      return {
        connect: async () => {
          await redis.connect();
          await generation.init();
          generation.start();
        },
        start: async () => refresh(),
        stop: async () => {
          clearTimeout(timer);
          generation.stop();
          redis.disconnect();
        },
        live: () => true,
        ready: () => redis.status === 'ready',
        readyProbe: redisReadiness(redis, { timeoutMs: env.READY_TIMEOUT_MS, cacheMs: env.READY_CACHE_MS }),
        // Every documented path is a route template for the HTTP metrics (a new route is labelled
        // by its template as soon as the OpenAPI document names it).
        routeTemplates: Object.keys(OPENAPI.paths),
        routes: [
          readApi(
            firstOf(
              queryRoutes({
                current: () => generation.current(),
                clock: clockOf(env),
                epoch: () => state.epoch,
              }),
              leadRoutes({
                current: () => generation.current(),
                clock: clockOf(env),
                epoch: () => state.epoch,
              }),
            ),
            {
              apiKeyHashes: env.apiKeyHashes,
              deadlineMs: env.REQUEST_TIMEOUT_MS,
              retryAfterSeconds: env.RETRY_AFTER_SECONDS,
              log,
            },
          ),
        ],
      };
    },
  });
}

/** The first route that answers. */
function firstOf(...routes: Route[]): Route {
  return async (req, url) => {
    for (const route of routes) {
      const answer = await route(req, url);
      if (answer) return answer;
    }
    return undefined;
  };
}

export { runMain };
