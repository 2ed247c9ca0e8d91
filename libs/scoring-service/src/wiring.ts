import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type Catalogue,
  createCatalogue,
  createRegistryClient,
  createSerde,
  type Serde,
} from '@leadscorer/contracts';
import { HISTORY_LENGTH, type ScorerOptions, type ScoreStore } from '@leadscorer/core';
import { loadModel, type Model } from '@leadscorer/engine';
import {
  createKafka,
  createRedis,
  type Logger,
  type Metrics,
  type RedisClient,
  type ServiceContext,
} from '@leadscorer/runtime';
import { RedisScoreStore, SHARDS } from '@leadscorer/store';
import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import { clockOf, type ScoringEnv } from './config.ts';
import { StageChangePublisher } from './publisher.ts';
import { KafkaDeadLetterSink, KafkaStageChangeSink } from './sinks.ts';

/** Everything a scoring-side process is built from: created, not connected. */
export interface Wiring {
  env: ScoringEnv;
  service: string;
  log: Logger;
  metrics: Metrics;
  model: Model;
  scorer: ScorerOptions;
  catalogue: Catalogue;
  kafka: Kafka;
  producer: Producer;
  redis: RedisClient;
  store: ScoreStore;
  serde: Serde;
  publisher: StageChangePublisher;
  deadLetters: KafkaDeadLetterSink;
  clock: () => number;
}

/** Reads and validates the model file: a bad one stops the service with file, line and field. */
export function readModel(file: string): Model {
  const path = resolve(file);
  return loadModel(readFileSync(path, 'utf8'), path);
}

export function wire(ctx: ServiceContext<ScoringEnv>): Wiring {
  const { env, name: service, log, metrics } = ctx;
  const model = readModel(env.MODEL_FILE);
  const catalogue = createCatalogue({ prefix: env.TOPIC_PREFIX });
  const kafka = createKafka(env, `lead-scorer.${service}`, log);
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    // Murmur2 on the key, as the Java client and our contract require (docs/contracts.md).
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const redis = createRedis(env, `lead-scorer.${service}`);
  const clock = clockOf(env);
  const store = new RedisScoreStore({
    client: redis,
    keys: { prefix: env.REDIS_KEY_PREFIX, shards: SHARDS },
    model,
    observe: (operation, seconds) => metrics.redisScript.observe({ script: operation }, seconds),
  });
  const serde = createSerde({ registry: createRegistryClient(env.SCHEMA_REGISTRY_URL), catalogue });
  const publisher = new StageChangePublisher({
    store,
    sink: new KafkaStageChangeSink({ producer, serde }),
    metrics,
    clock,
  });
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
    scorer: {
      model,
      historyLength: HISTORY_LENGTH,
      onConflicts: (n) => metrics.commitConflicts.inc(n),
    },
    catalogue,
    kafka,
    producer,
    redis,
    store,
    serde,
    publisher,
    deadLetters: new KafkaDeadLetterSink({ producer, service }),
    clock,
  };
}
