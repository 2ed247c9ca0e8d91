import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type Catalogue,
  createCatalogue,
  createRegistryClient,
  createSerde,
  type Serde,
} from '@leadscorer/contracts';
import { loadModel, type Model } from '@leadscorer/engine';
import {
  createKafka,
  createLogger,
  createMetrics,
  createRedis,
  type Logger,
  type Metrics,
  type RedisClient,
} from '@leadscorer/runtime';
import { HISTORY_LENGTH, RedisScoreStore, SHARDS } from '@leadscorer/store';
import type { Kafka, Producer } from 'kafkajs';
import { clockOf, type ScoringEnv } from './config.ts';
import { createStageChangePublisher, type StageChangePublisher } from './publisher.ts';

/** Everything a scoring-side process is built from; created, not connected. */
export interface Wiring {
  env: ScoringEnv;
  service: string;
  log: Logger;
  metrics: Metrics;
  model: Model;
  catalogue: Catalogue;
  kafka: Kafka;
  producer: Producer;
  redis: RedisClient;
  store: RedisScoreStore;
  serde: Serde;
  publisher: StageChangePublisher;
  clock: () => number;
}

export function wire(service: string, env: ScoringEnv): Wiring {
  const log = createLogger(service, env.LOG_LEVEL);
  const metrics = createMetrics(service);
  const modelPath = resolve(env.MODEL_FILE);
  const model = loadModel(readFileSync(modelPath, 'utf8'), modelPath);
  const catalogue = createCatalogue({ prefix: env.TOPIC_PREFIX });
  const kafka = createKafka(env, `lead-scorer.${service}`, log);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const redis = createRedis(env, `lead-scorer.${service}`);
  const clock = clockOf(env);
  const store = new RedisScoreStore({
    client: redis,
    keys: { prefix: env.REDIS_KEY_PREFIX, shards: SHARDS },
    model,
    historyLength: HISTORY_LENGTH,
    observe: (script, seconds) => metrics.redisScript.observe({ script }, seconds),
  });
  const serde = createSerde({ registry: createRegistryClient(env.SCHEMA_REGISTRY_URL), catalogue });
  const publisher = createStageChangePublisher({ producer, serde, catalogue, store, metrics, clock });
  log.info(
    {
      model: model.version,
      rules: model.rules.length,
      topicPrefix: env.TOPIC_PREFIX,
      keyPrefix: env.REDIS_KEY_PREFIX,
    },
    'configured',
  );
  return {
    env,
    service,
    log,
    metrics,
    model,
    catalogue,
    kafka,
    producer,
    redis,
    store,
    serde,
    publisher,
    clock,
  };
}
