import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type Catalogue,
  createCatalogue,
  createRegistryClient,
  createSerde,
  type Serde,
} from '@leadscorer/contracts';
import { HISTORY_LENGTH, type ScorerOptions } from '@leadscorer/core';
import { loadModel, type Model } from '@leadscorer/engine';
import {
  createKafka,
  createRedis,
  type Logger,
  type Metrics,
  type RedisClient,
  registryAuth,
  type ServiceContext,
  type Tracing,
} from '@leadscorer/runtime';
import { RedisScoreStore, SHARDS } from '@leadscorer/store';
import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import { clockOf, type ScoringEnv } from './config.ts';
import { ActiveGeneration, type GenerationRecord } from './generation.ts';
import { StageChangePublisher } from './publisher.ts';
import { KafkaDeadLetterSink, KafkaStageChangeSink } from './sinks.ts';

/** Everything a scoring-side process is built from: created, not connected. */
export interface Wiring {
  env: ScoringEnv;
  service: string;
  log: Logger;
  metrics: Metrics;
  tracing: Tracing;
  /** The model of MODEL_FILE: generation 0's when Redis has no generation yet. */
  configuredModel: Model;
  /** The generation of keys, and its model, every part works on (generation.ts). */
  generation: ActiveGeneration<ScoringGeneration>;
  catalogue: Catalogue;
  kafka: Kafka;
  producer: Producer;
  redis: RedisClient;
  serde: Serde;
  deadLetters: KafkaDeadLetterSink;
  clock: () => number;
}

/** What a scoring service works with in one generation of keys. */
export interface ScoringGeneration {
  record: GenerationRecord;
  model: Model;
  scorer: ScorerOptions;
  store: RedisScoreStore;
  publisher: StageChangePublisher;
}

/** Reads and validates the model file: a bad one stops the service with file, line and field. */
export function readModel(file: string): Model {
  return readModelFile(file).model;
}

export function readModelFile(file: string): { model: Model; text: string; file: string } {
  const path = resolve(file);
  const text = readFileSync(path, 'utf8');
  return { model: loadModel(text, path), text, file: path };
}

export function wire(ctx: ServiceContext<ScoringEnv>): Wiring {
  const { env, name: service, log, metrics, tracing } = ctx;
  const configured = readModelFile(env.MODEL_FILE);
  const model = configured.model;
  const catalogue = createCatalogue({ prefix: env.TOPIC_PREFIX });
  const kafka = createKafka(env, `lead-scorer.${service}`, log);
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    // Murmur2 on the key, as the Java client and our contract require (docs/contracts.md).
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const redis = createRedis(env, `lead-scorer.${service}`);
  const clock = clockOf(env);
  const serde = createSerde({
    registry: createRegistryClient(env.SCHEMA_REGISTRY_URL, registryAuth(env)),
    catalogue,
  });
  const sink = new KafkaStageChangeSink({ producer, serde, tracing });
  const generation = new ActiveGeneration<ScoringGeneration>({
    redis,
    base: env.REDIS_KEY_PREFIX,
    configured,
    log,
    create: true,
    build: (record, model) => {
      const store = new RedisScoreStore({
        client: redis,
        keys: { prefix: record.prefix, shards: SHARDS },
        model,
        observe: (operation, seconds) => metrics.redisScript.observe({ script: operation }, seconds),
      });
      metrics.generation.set(record.generation);
      return {
        record,
        model,
        store,
        scorer: {
          model,
          historyLength: HISTORY_LENGTH,
          onConflicts: (n) => metrics.commitConflicts.inc(n),
        },
        publisher: new StageChangePublisher({ store, sink, metrics, clock, log }),
      };
    },
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
    tracing,
    configuredModel: model,
    generation,
    catalogue,
    kafka,
    producer,
    redis,
    serde,
    deadLetters: new KafkaDeadLetterSink({ producer, service }),
    clock,
  };
}
