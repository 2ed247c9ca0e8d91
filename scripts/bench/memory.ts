import { HISTORY_LENGTH } from '@leadscorer/core';
import type { Model } from '@leadscorer/engine';
import { RedisScoreStore, SHARDS, snapshotKey } from '@leadscorer/store';
import type { DedicatedRedis } from './redis-server.ts';
import { applyItems, ItemMaker, takeItems } from './store-load.ts';
import { Workload } from './workload.ts';

/**
 * Redis bytes per lead: a flushed dedicated server, N leads' events applied through the store
 * exactly as the services apply them (and the outbox emptied after each batch, as the publisher
 * does), then INFO MEMORY used_memory minus the empty server's, divided by the leads that have
 * state. A sample of keys with MEMORY USAGE says which structure the bytes sit in.
 */
export interface MemoryPoint {
  /** 'store': the memory phase's own writes; 'services': what the drain left behind. */
  source: 'store' | 'services';
  leads: number;
  events: number;
  eventsPerLead: number;
  usedMemoryDelta: number;
  bytesPerLead: number;
  applySeconds: number;
  stageChanges: number;
  /**
   * Bytes per lead by structure: state strings (with their history), due sets, outbox streams,
   * query indexes (every stage's sorted sets and the updatedSince one).
   */
  breakdown: Record<string, number>;
  /** Mean MEMORY USAGE of one lead's state string, with its key. */
  meanStateKeyBytes: number;
}

export async function measureMemory(
  redis: DedicatedRedis,
  model: Model,
  o: { leads: number; eventsPerLead: number; now: number; tag: string; log: (s: string) => void },
): Promise<MemoryPoint> {
  const c = redis.client;
  await c.flushall();
  // The services' default key prefix: key names are part of the bytes per lead.
  const prefix = 'ls';
  const store = new RedisScoreStore({ client: c, keys: { prefix, shards: SHARDS }, model });
  const scorer = { model, historyLength: HISTORY_LENGTH };
  const before = Number((await redis.info('memory')).used_memory);
  const events = Math.round(o.leads * o.eventsPerLead);
  const workload = new Workload({
    seed: 11,
    events,
    leads: o.leads,
    now: o.now,
    spanMs: 14 * 86_400_000,
    tag: `${o.tag}m${o.leads}`,
  });
  const maker = new ItemMaker(model);
  const started = performance.now();
  let changes = 0;
  // Big batches: this phase measures memory, not rate, and bigger chunks finish sooner.
  for (let done = 0; done < events; ) {
    const items = takeItems(workload, maker, 100_000);
    if (items.length === 0) break;
    const r = await applyItems(items, {
      store,
      scorer,
      batch: 5_000,
      inflight: 2,
      now: o.now,
      ackOutbox: true,
    });
    done += items.length;
    changes += r.changes;
    if (events > 500_000) o.log(`  memory ${o.leads} leads: ${done} / ${events} events`);
  }
  const applySeconds = (performance.now() - started) / 1000;
  // The outbox relay writes the queued lead.stage.v1 snapshots and removes them, as the
  // publisher empties the outbox: measure what stays, so remove them as it would.
  await c.del(...Array.from({ length: SHARDS }, (_, s) => snapshotKey({ prefix, shards: SHARDS }, s)));
  return memoryPoint(redis, prefix, { source: 'store', before, events, applySeconds, stageChanges: changes });
}

/** Prices what is under `prefix` now against the empty server's used_memory `before`. */
export async function memoryPoint(
  redis: DedicatedRedis,
  prefix: string,
  o: {
    source: MemoryPoint['source'];
    before: number;
    events: number;
    applySeconds: number;
    stageChanges: number;
  },
): Promise<MemoryPoint> {
  const after = Number((await redis.info('memory')).used_memory);
  const sample = await sampleKeys(redis, prefix);
  const leads = sample.stateKeys;
  const delta = after - o.before;
  return {
    source: o.source,
    leads,
    events: o.events,
    eventsPerLead: o.events / leads,
    usedMemoryDelta: delta,
    bytesPerLead: delta / leads,
    applySeconds: o.applySeconds,
    stageChanges: o.stageChanges,
    breakdown: Object.fromEntries(Object.entries(sample.bytes).map(([k, v]) => [k, v / leads])),
    meanStateKeyBytes: sample.meanState,
  };
}

/**
 * Counts state keys (a full SCAN: exact counts) and prices them: MEMORY USAGE on a sample of
 * them, and on every shard-wide due set and outbox (only 64 of each).
 */
async function sampleKeys(redis: DedicatedRedis, prefix: string) {
  const c = redis.client;
  let stateKeys = 0;
  const stateSample: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await c.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 10_000);
    cursor = next;
    for (const k of keys) {
      if (k.includes('}:')) {
        stateKeys++;
        // Every 20th key: a deterministic sample spread over all shards.
        if (stateKeys % 20 === 0 && stateSample.length < 2_000) stateSample.push(k);
      }
    }
  } while (cursor !== '0');
  const usage = async (keys: string[]) => {
    let sum = 0;
    for (const k of keys) sum += Number((await c.memory('USAGE', k, 'SAMPLES', 0)) ?? 0);
    return sum;
  };
  const meanState = stateSample.length > 0 ? (await usage(stateSample)) / stateSample.length : 0;
  const shardKeys = (kind: string) =>
    Array.from({ length: SHARDS }, (_, s) => `${prefix}:{${String(s).padStart(2, '0')}}#${kind}`);
  // The query indexes: every '#q' key of the prefix (a few per stage and shard).
  const indexKeys: string[] = [];
  cursor = '0';
  do {
    const [next, keys] = await c.scan(cursor, 'MATCH', `${prefix}:{*}#q*`, 'COUNT', 10_000);
    cursor = next;
    indexKeys.push(...keys);
  } while (cursor !== '0');
  return {
    stateKeys,
    meanState,
    bytes: {
      state: meanState * stateKeys,
      due: await usage(shardKeys('due')),
      outbox: await usage(shardKeys('outbox')),
      index: await usage(indexKeys),
    },
  };
}
