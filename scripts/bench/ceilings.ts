import type { Model } from '@leadscorer/engine';
import { HISTORY_LENGTH, RedisScoreStore, registerScripts, SHARDS } from '@leadscorer/store';
import type { Kafka } from 'kafkajs';
import type { DedicatedRedis } from './redis-server.ts';
import { applyItems, ItemMaker, takeItems } from './store-load.ts';
import type { Workload } from './workload.ts';

/**
 * The two ceilings the end-to-end number is judged against, measured in the same run on the same
 * machine: how fast one kafkajs consumer can merely read an input topic, and how fast one Node
 * process can push the realistic event mix through the production Redis script.
 */

export interface ConsumeCeiling {
  topic: string;
  messages: number;
  seconds: number;
  perSecond: number;
  /** Connect + subscribe + group join before the first batch. */
  joinSeconds: number;
}

/**
 * Reads a pre-filled topic from the beginning with the consumer settings the services use
 * (libs/runtime/src/consumer.ts: 1 MiB per partition, 3 partitions at once) and does nothing but
 * count in eachBatch. Timed from the first batch, so group-join time is reported apart.
 */
export async function consumeCeiling(
  kafka: Kafka,
  o: { topic: string; group: string; expected: number; partitionsConcurrently: number; timeoutMs: number },
): Promise<ConsumeCeiling> {
  const consumer = kafka.consumer({ groupId: o.group, maxBytesPerPartition: 1_048_576 });
  const t0 = performance.now();
  let first = 0;
  let last = 0;
  let count = 0;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [o.topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: o.partitionsConcurrently,
    eachBatch: async ({ batch }) => {
      if (first === 0) first = performance.now();
      count += batch.messages.length;
      last = performance.now();
      if (count >= o.expected) resolveDone();
    },
  });
  const timer = setTimeout(resolveDone, o.timeoutMs);
  await done;
  clearTimeout(timer);
  await consumer.disconnect();
  const seconds = (last - first) / 1000;
  return {
    topic: o.topic,
    messages: count,
    seconds,
    perSecond: seconds > 0 ? count / seconds : 0,
    joinSeconds: (first - t0) / 1000,
  };
}

export interface ScriptCeiling {
  events: number;
  seconds: number;
  perSecond: number;
  batch: number;
  inflight: number;
  outcomes: Record<string, number>;
  stageChanges: number;
  /** Redis-side time in apply-events (INFO commandstats evalsha), microseconds per call and per event. */
  usecPerCall: number;
  usecPerEvent: number;
  calls: number;
}

/**
 * The production script via RedisScoreStore.applyBatch, events evaluated beforehand (evaluation
 * is the services' CPU, not the script's), `inflight` batches pipelined on one connection, on a
 * flushed dedicated Redis so leads are created and updated as in the drain.
 */
export async function scriptCeiling(
  redis: DedicatedRedis,
  model: Model,
  workload: Workload,
  o: { events: number; batch: number; inflight: number; now: number; budgetMs: number },
): Promise<ScriptCeiling> {
  await redis.client.flushall();
  const store = new RedisScoreStore({
    client: registerScripts(redis.client),
    keys: { prefix: 'bench-ceiling', shards: SHARDS },
    model,
    historyLength: HISTORY_LENGTH,
  });
  const items = takeItems(workload, new ItemMaker(model), o.events);
  // Loads the script (EVAL on first use) outside the measurement.
  await store.applyBatch(items.slice(0, 1), o.now);
  await redis.client.config('RESETSTAT');
  const r = await applyItems(items.slice(1), {
    store,
    batch: o.batch,
    inflight: o.inflight,
    now: o.now,
    ackOutbox: false,
    budgetMs: o.budgetMs,
  });
  const stats = evalStats(await redis.client.info('commandstats'));
  await redis.client.flushall();
  return {
    events: r.events,
    seconds: r.seconds,
    perSecond: r.events / r.seconds,
    batch: o.batch,
    inflight: o.inflight,
    outcomes: r.outcomes,
    stageChanges: r.changes,
    usecPerCall: stats.calls > 0 ? stats.usec / stats.calls : 0,
    usecPerEvent: r.events > 0 ? stats.usec / r.events : 0,
    calls: stats.calls,
  };
}

/** EVALSHA calls and total microseconds from INFO commandstats. */
export function evalStats(text: string): { calls: number; usec: number } {
  const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(text);
  return m ? { calls: Number(m[1]), usec: Number(m[2]) } : { calls: 0, usec: 0 };
}
