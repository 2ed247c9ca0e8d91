import { join } from 'node:path';
import { AVRO_SCHEMAS, type InputTopicName } from '@leadscorer/contracts';
import type { LeadRecord } from '@leadscorer/core';
import type { Model, ScoringEvent } from '@leadscorer/engine';
import { RedisScoreStore, SHARDS } from '@leadscorer/store';
import avro from 'avsc';
import { type Cluster, Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { type ContractsEnv, contractsEnv } from '../../libs/contracts/src/int-support.ts';
import { TEST_API_KEY_HASH } from './api-key.ts';
import { testInfra, uniqueName } from './infra.ts';
import { toRecord } from './records.ts';

export const MODEL_FILE = join(import.meta.dirname, '../../models/default.yaml');

/** A scorer deployment of its own for one test: prefixed topics and subjects, its own Redis keys. */
export interface ScorerEnv {
  contracts: ContractsEnv;
  keyPrefix: string;
  /** Environment for a service process / in-process service. */
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** `headers`: Kafka headers per event (e.g. a W3C traceparent), by position. */
  produce(
    events: ScoringEvent[],
    headers?: (Record<string, string> | undefined)[],
  ): Promise<Record<InputTopicName, number>>;
  /** The stored records of these leads (absent ones missing), read through the Redis store. */
  records(leads: readonly string[], model: Model, client?: Redis | Cluster): Promise<Map<string, LeadRecord>>;
  /** Deletes the topics, subjects and groups, and every Redis key under the prefix. */
  cleanup(): Promise<void>;
}

export async function scorerEnv(label: string, partitions = 3): Promise<ScorerEnv> {
  const contracts = contractsEnv(label, { partitions });
  await contracts.createTopics();
  await contracts.registerAll();
  const infra = testInfra();
  const keyPrefix = uniqueName('t').toLowerCase().slice(0, 30);
  return {
    contracts,
    keyPrefix,
    env: (extra = {}) => ({
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: infra.registryUrl,
      REDIS_URL: infra.redisUrl,
      REDIS_KEY_PREFIX: keyPrefix,
      TOPIC_PREFIX: contracts.prefix,
      MODEL_FILE,
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ENSURE_TOPICS: 'false',
      RETRY_INITIAL_MS: '50',
      RETRY_MAX_MS: '1000',
      // lead-api reads it (the read API needs a key: test/support/api-key.ts); the others ignore it.
      API_KEY_HASHES: TEST_API_KEY_HASH,
      ...extra,
    }),
    produce: (events, headers) => produceEvents(contracts.kafka, contracts, events, headers),
    records: async (leads, model, client) => {
      const own = client ? undefined : new Redis(infra.redisUrl);
      try {
        const store = new RedisScoreStore({
          client: client ?? own!,
          keys: { prefix: keyPrefix, shards: SHARDS },
          model,
        });
        const found = await store.read(leads);
        return new Map([...found].map(([lead, s]) => [lead, s.record]));
      } finally {
        own?.disconnect();
      }
    },
    cleanup: async () => {
      await contracts.cleanup();
      await deleteKeys(infra.redisUrl, keyPrefix);
    },
  };
}

/**
 * Deletes every key whose name starts with `prefix` on a single Redis (SCAN, never KEYS on a
 * shared server): its generations of keys (`prefix:`, `prefix.g1:`), the generation record and
 * the rescore lock (`prefix#...`). Test prefixes are unique, none a prefix of another.
 */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const client = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** Encodes with the registered schemas and produces keyed by lead id, in the given order. */
async function produceEvents(
  kafka: Kafka,
  contracts: ContractsEnv,
  events: ScoringEvent[],
  headers: (Record<string, string> | undefined)[] = [],
) {
  const ids = new Map<InputTopicName, { id: number; type: avro.Type }>();
  const res = await fetch(`${testInfra().registryUrl}/subjects`);
  if (!res.ok) throw new Error('registry unreachable');
  const counts = {} as Record<InputTopicName, number>;
  const byTopic = new Map<string, { key: string; value: Buffer; headers?: Record<string, string> }[]>();
  for (const [i, e] of events.entries()) {
    const { topic, record } = toRecord(e);
    let writer = ids.get(topic);
    if (!writer) {
      const subject = contracts.catalogue.get(topic).subject;
      const r = await fetch(`${testInfra().registryUrl}/subjects/${subject}/versions/latest`);
      const body = (await r.json()) as { id: number };
      writer = { id: body.id, type: avro.Type.forSchema(AVRO_SCHEMAS[topic] as avro.Schema) };
      ids.set(topic, writer);
    }
    const payload = writer.type.toBuffer(record);
    const header = Buffer.alloc(5);
    header.writeUInt8(0, 0);
    header.writeInt32BE(writer.id, 1);
    const physical = contracts.catalogue.get(topic).topic;
    const list = byTopic.get(physical) ?? [];
    const h = headers[i];
    list.push({ key: e.leadId, value: Buffer.concat([header, payload]), ...(h ? { headers: h } : {}) });
    byTopic.set(physical, list);
    counts[topic] = (counts[topic] ?? 0) + 1;
  }
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  for (const [topic, messages] of byTopic) {
    for (let i = 0; i < messages.length; i += 1000)
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 1000) });
  }
  await producer.disconnect();
  return counts;
}

/** Waits until `done` holds, polling; fails with `what` after the timeout. */
export async function eventually(
  what: string,
  done: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Waits until each consumer group has committed every offset of its topics (all applied). */
export async function waitForDrained(
  kafka: Kafka,
  groups: { groupId: string; topics: string[] }[],
  timeoutMs = 120_000,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await eventually(
      'consumer lag to drain',
      async () => {
        for (const g of groups) {
          for (const topic of g.topics) {
            const [committed] = await admin.fetchOffsets({ groupId: g.groupId, topics: [topic] });
            const ends = await admin.fetchTopicOffsets(topic);
            const done = ends.every(
              (e) =>
                e.offset === '0' ||
                committed?.partitions.find((p) => p.partition === e.partition)?.offset === e.offset,
            );
            if (!done) return false;
          }
        }
        return true;
      },
      timeoutMs,
    );
  } finally {
    await admin.disconnect();
  }
}
