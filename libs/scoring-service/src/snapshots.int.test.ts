import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { createSerde } from '@leadscorer/contracts';
import { applyChunk } from '@leadscorer/core';
import { loadModel } from '@leadscorer/engine';
import { createLogger, createMetrics } from '@leadscorer/runtime';
import { RedisScoreStore, SHARDS } from '@leadscorer/store';
import { Redis } from 'ioredis';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testInfra, uniqueName } from '../../../test/support/infra.ts';
import { itemsFor } from '../../../test/support/oracle.ts';
import { contractsEnv, createRegistryClient } from '../../contracts/src/int-support.ts';
import { StageSnapshotWriter, sendStageTombstones, snapshotProducer } from './snapshots.ts';

/**
 * lead.stage.v1 end to end on the real Kafka, registry and Redis: thousands of leads scored
 * through the core's commits while two snapshot writers (two relay instances) sweep the shards at
 * the same time; then a fresh subscriber reads the topic from the beginning with the Confluent
 * registry client (not our serde) and rebuilds the stage of every lead. Erased leads are gone
 * (tombstones), and no lead's record is ever followed by an older one.
 */
const model = loadModel(
  readFileSync(join(import.meta.dirname, '../../../models/default.yaml'), 'utf8'),
  'default.yaml',
);
const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);
const env = contractsEnv('snap', { partitions: 3 });
const redis = new Redis(testInfra().redisUrl);
const prefix = uniqueName('snap');
const store = new RedisScoreStore({ client: redis, keys: { prefix, shards: SHARDS }, model });
const log = createLogger('snapshots-test', 'silent');
const topic = env.catalogue.get('lead.stage.v1').topic;
let producers: Producer[] = [];

beforeAll(async () => {
  await env.createTopics();
  await env.registerAll();
  // Every shard holds a state epoch, as the services set it at start: the writer takes no lease
  // in a generation without one (a deleted one).
  await store.initialize('snapshots-test', false);
  producers = [snapshotProducer(env.kafka), snapshotProducer(env.kafka)];
  await Promise.all(producers.map((p) => p.connect()));
}, 120_000);

afterAll(async () => {
  await Promise.all(producers.map((p) => p.disconnect()));
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    cursor = next;
    if (found.length > 0) await redis.unlink(...found);
  } while (cursor !== '0');
  redis.disconnect();
  await env.cleanup();
});

/** The topic from the beginning, in offset order per partition, as a plain subscriber reads it. */
async function readAll(): Promise<
  { key: string; value: Record<string, unknown> | null; partition: number }[]
> {
  const registry = new SchemaRegistry({ host: env.registryUrl });
  const admin = env.kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const want = new Map(ends.map((e) => [e.partition, Number(e.high)]));
  const out: { key: string; value: Record<string, unknown> | null; partition: number; offset: number }[] = [];
  const consumer = env.kafka.consumer({ groupId: env.group(uniqueName('fresh')) });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Map<number, number>();
  await new Promise<void>((resolve, reject) => {
    const done = () => [...want].every(([p, high]) => (seen.get(p) ?? 0) >= high);
    if (done()) resolve();
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          out.push({
            key: message.key!.toString(),
            value: message.value ? ((await registry.decode(message.value)) as Record<string, unknown>) : null,
            partition,
            offset: Number(message.offset),
          });
          seen.set(partition, Number(message.offset) + 1);
          if (done()) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

describe('lead.stage.v1 (real Kafka, registry, Redis)', () => {
  it('a fresh subscriber rebuilds the stage of every lead; erased leads are gone; never older after newer', async () => {
    const serde = createSerde({ registry: createRegistryClient(env.registryUrl), catalogue: env.catalogue });
    const writers = producers.map(
      (producer) =>
        new StageSnapshotWriter({
          current: () => ({ store }),
          serde,
          topic,
          producer,
          log,
          intervalMs: 50,
          minAgeMs: 0,
          batchSize: 100,
          // Short leases: the two writers take shards from each other during the test.
          leaseMs: 40,
        }),
    );
    const items = itemsFor(model, { seed: 5, leads: 2000, events: 16_000, start: START, maxLagMs: DAY });
    let now = START;
    for (let i = 0; i < items.length; i += 1000) {
      const chunk = items.slice(i, i + 1000);
      now = Math.max(now, chunk[chunk.length - 1]!.arrival);
      await applyChunk(
        store,
        chunk.map((c) => c.item),
        now,
        { model, historyLength: 5 },
      );
      // Both writers at once, while the scoring goes on.
      await Promise.all(writers.map((w) => w.pass()));
    }
    const ids = [...new Set(items.map((i) => i.item.leadId))];
    const read = await store.read(ids);
    const changed = [...read].filter(([, l]) => l.record.state.seq > 0);
    expect(changed.length).toBeGreaterThan(300);
    // Erasure: five leads that changed stage leave every index and get a tombstone queued.
    const erased = changed.slice(0, 5).map(([id]) => id);
    await store.removeFromIndexes(erased);
    // What waits is in leadscorer_snapshot_queue_depth (a writer that finds every entry too young
    // writes nothing and says how many wait).
    const metrics = createMetrics('test', { defaultMetrics: false });
    const watcher = new StageSnapshotWriter({
      current: () => ({ store }),
      serde,
      topic,
      producer: producers[0]!,
      log,
      metrics,
      intervalMs: 50,
      minAgeMs: 3_600_000,
      leaseMs: 40,
    });
    const depth = async () => (await metrics.snapshotQueueDepth.get()).values[0]?.value;
    await watcher.pass();
    expect(await depth()).toBeGreaterThanOrEqual(erased.length);
    for (let i = 0; i < 50 && (await store.snapshotDepth()) > 0; i++)
      await Promise.all(writers.map((w) => w.pass()));
    expect(await store.snapshotDepth()).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    await watcher.pass();
    expect(await depth()).toBe(0);

    const messages = await readAll();
    const rebuilt = new Map<string, { stage: string; sequence: number }>();
    const last = new Map<string, number>();
    for (const m of messages) {
      if (m.value === null) {
        rebuilt.delete(m.key);
        last.delete(m.key);
        continue;
      }
      const seq = Number(m.value['sequence']);
      // Never an older record after a newer one (a repeat of the same one is allowed).
      expect(seq, m.key).toBeGreaterThanOrEqual(last.get(m.key) ?? 0);
      last.set(m.key, seq);
      expect(m.value['leadId']).toBe(m.key);
      rebuilt.set(m.key, { stage: String(m.value['stage']), sequence: seq });
    }
    for (const id of erased) expect(rebuilt.has(id), id).toBe(false);
    const expected = new Map(
      changed
        .filter(([id]) => !erased.includes(id))
        .map(([id, l]) => [id, { stage: l.record.state.stage, sequence: l.record.state.seq }]),
    );
    expect(rebuilt).toEqual(expected);
  });

  it('sendStageTombstones writes null values keyed by lead id', async () => {
    await sendStageTombstones(producers[0]!, topic, ['gone-1', 'gone-2']);
    const tail = (await readAll()).filter((m) => m.key.startsWith('gone-'));
    const byKey = tail.map((m) => [m.key, m.value]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(byKey).toEqual([
      ['gone-1', null],
      ['gone-2', null],
    ]);
  });
});
