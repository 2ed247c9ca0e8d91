import type { Model } from '@leadscorer/engine';
import { HISTORY_LENGTH, RedisScoreStore, SHARDS } from '@leadscorer/store';
import type { Deployment } from './deployment.ts';
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
  /** Connect + subscribe + group join, before the clock starts. */
  joinSeconds: number;
}

/**
 * Reads a pre-filled topic from the beginning with the consumer settings the services use
 * (libs/runtime/src/consumer.ts: 1 MiB per partition, 3 partitions at once) and does nothing but
 * count in eachBatch. Timed from joining the group (so the first fetch counts) to the last
 * message; the join itself is reported apart.
 */
export async function consumeCeiling(
  d: Deployment,
  o: { topic: string; group: string; expected: number; partitionsConcurrently: number; timeoutMs: number },
): Promise<ConsumeCeiling> {
  const consumer = d.kafka.consumer({ groupId: o.group, maxBytesPerPartition: 1_048_576 });
  const t0 = performance.now();
  let joinedAt = 0;
  let last = 0;
  let count = 0;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  d.closeOnCleanup(() => consumer.disconnect());
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joinedAt = performance.now();
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [o.topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: o.partitionsConcurrently,
    eachBatch: async ({ batch }) => {
      count += batch.messages.length;
      last = performance.now();
      if (count >= o.expected) resolveDone();
    },
  });
  const timer = setTimeout(resolveDone, o.timeoutMs);
  await done;
  clearTimeout(timer);
  await consumer.disconnect();
  const seconds = (last - joinedAt) / 1000;
  return {
    topic: o.topic,
    messages: count,
    seconds,
    perSecond: seconds > 0 ? count / seconds : 0,
    joinSeconds: (joinedAt - t0) / 1000,
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
 * The production script via RedisScoreStore.applyBatch on the drain's own events, in the same
 * order and chunk size, from an empty dedicated Redis: the same state grows the same way (a
 * lead's 10th event costs more than its first), only Kafka and the services are left out.
 * Events are evaluated beforehand, in slices (evaluation is the services' CPU, not the script's);
 * `inflight` batches are pipelined on one connection.
 */
export async function scriptCeiling(
  redis: DedicatedRedis,
  model: Model,
  workload: Workload,
  o: { batch: number; inflight: number; now: number; budgetMs: number },
): Promise<ScriptCeiling> {
  await redis.client.flushall();
  const store = new RedisScoreStore({
    client: redis.client,
    keys: { prefix: 'bench-ceiling', shards: SHARDS },
    model,
    historyLength: HISTORY_LENGTH,
  });
  const maker = new ItemMaker(model);
  // Loads the script (EVAL on first use) outside the measurement.
  await store.applyBatch(takeItems(workload, maker, 1), o.now);
  await redis.client.config('RESETSTAT');
  const total = { events: 0, seconds: 0, changes: 0, outcomes: {} as Record<string, number> };
  const deadline = performance.now() + o.budgetMs;
  for (;;) {
    const items = takeItems(workload, maker, 100_000);
    if (items.length === 0) break;
    const r = await applyItems(items, {
      store,
      batch: o.batch,
      inflight: o.inflight,
      now: o.now,
      ackOutbox: false,
      budgetMs: deadline - performance.now(),
    });
    total.events += r.events;
    total.seconds += r.seconds;
    total.changes += r.changes;
    for (const [k, v] of Object.entries(r.outcomes)) total.outcomes[k] = (total.outcomes[k] ?? 0) + v;
    if (performance.now() >= deadline) break;
  }
  const stats = evalStats(await redis.client.info('commandstats'));
  await redis.client.flushall();
  return {
    events: total.events,
    seconds: total.seconds,
    perSecond: total.events / total.seconds,
    batch: o.batch,
    inflight: o.inflight,
    outcomes: total.outcomes,
    stageChanges: total.changes,
    usecPerCall: stats.calls > 0 ? stats.usec / stats.calls : 0,
    usecPerEvent: total.events > 0 ? stats.usec / total.events : 0,
    calls: stats.calls,
  };
}

/**
 * Script calls and their total microseconds inside Redis, from INFO commandstats: FCALL (the
 * store's function library) plus EVALSHA / EVAL (scripts loaded the older way), so the numbers
 * stay comparable whichever way the store loads its Lua.
 */
export function evalStats(text: string): { calls: number; usec: number } {
  let calls = 0;
  let usec = 0;
  for (const m of text.matchAll(/cmdstat_(?:fcall|evalsha|eval):calls=(\d+),usec=(\d+)/g)) {
    calls += Number(m[1]);
    usec += Number(m[2]);
  }
  return { calls, usec };
}
