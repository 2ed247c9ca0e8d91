import { mapToScoringEvent } from '@leadscorer/contracts';
import {
  type ApplyItem,
  applyChunk,
  applyToLead,
  dueOf,
  HISTORY_LENGTH,
  type ItemOutcome,
  indexEntry,
  type LeadRecord,
  type LeadWrite,
  newRecord,
  previousOrder,
  type StoreVersion,
} from '@leadscorer/core';
import { evaluateEvent, type Model } from '@leadscorer/engine';
import { type CommitCall, commitCall, encodeRecord, RedisScoreStore, SHARDS } from '@leadscorer/store';
import type { Deployment } from './deployment.ts';
import type { DedicatedRedis } from './redis-server.ts';
import { applyItems, ItemMaker, takeItems } from './store-load.ts';
import type { Workload } from './workload.ts';

/**
 * The ceilings the end-to-end numbers are judged against, measured in the same run on the same
 * machine: how fast one kafkajs consumer can merely read an input topic; how fast the engine
 * scores in process; how fast the commit script takes precomputed states; and how fast one Node
 * process pushes the realistic event mix through the whole store path (read, engine, commit).
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

export interface StoreCeiling {
  events: number;
  seconds: number;
  perSecond: number;
  batch: number;
  inflight: number;
  outcomes: Record<string, number>;
  stageChanges: number;
  conflicts: number;
  /** Redis-side time of every command over the run (INFO commandstats), per applied event. */
  redisUsecPerEvent: number;
  /** Commit script calls and their Redis-side time. */
  commitCalls: number;
  commitUsecPerCall: number;
}

/**
 * What one Node process pushes through the whole service-side path minus Kafka: the drain's own
 * events, evaluated beforehand (decoding and evaluation are the services' CPU, measured apart),
 * applied in the drain's order and chunk size through the core's applyChunk on RedisScoreStore:
 * read the chunk's leads (MGET), decode, apply with the engine, encode, commit (compare-and-set
 * script). `inflight` chunks at once, as a service processes partitions at once; from an empty
 * dedicated Redis, so state grows the same way (a lead's 10th event costs more than its first).
 */
export async function storeCeiling(
  redis: DedicatedRedis,
  model: Model,
  workload: Workload,
  o: { batch: number; inflight: number; now: number; budgetMs: number },
): Promise<StoreCeiling> {
  await redis.client.flushall();
  let conflicts = 0;
  const scorer = {
    model,
    historyLength: HISTORY_LENGTH,
    onConflicts: (n: number) => {
      conflicts += n;
    },
  };
  const store = new RedisScoreStore({
    client: redis.client,
    keys: { prefix: 'bench-ceiling', shards: SHARDS },
    model,
  });
  const maker = new ItemMaker(model);
  // Registers the names and loads the script outside the measurement.
  await applyChunk(store, takeItems(workload, maker, 1), o.now, scorer);
  await redis.client.config('RESETSTAT');
  const total = { events: 0, seconds: 0, changes: 0, outcomes: {} as Record<string, number> };
  const deadline = performance.now() + o.budgetMs;
  for (;;) {
    const items = takeItems(workload, maker, 100_000);
    if (items.length === 0) break;
    const r = await applyItems(items, {
      store,
      scorer,
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
  const stats = commandStats(await redis.client.info('commandstats'));
  await redis.client.flushall();
  const applied = total.outcomes.applied ?? 0;
  return {
    events: total.events,
    seconds: total.seconds,
    perSecond: total.events / total.seconds,
    batch: o.batch,
    inflight: o.inflight,
    outcomes: total.outcomes,
    stageChanges: total.changes,
    conflicts,
    redisUsecPerEvent: applied > 0 ? stats.usec / applied : 0,
    commitCalls: stats.scriptCalls,
    commitUsecPerCall: stats.scriptCalls > 0 ? stats.scriptUsec / stats.scriptCalls : 0,
  };
}

export interface CommitCeiling {
  events: number;
  leadWrites: number;
  calls: number;
  seconds: number;
  /** Events whose new states the calls committed, per second. */
  perSecond: number;
  /** Redis-side time of the commit script per call and per event. */
  usecPerCall: number;
  usecPerEvent: number;
}

/**
 * The commit function alone: events per second into Redis with every state precomputed. The
 * drain's events are applied in process first (engine and codec, chunk by chunk, each lead's
 * expected bytes being what the previous chunk wrote), then only the commit calls are timed,
 * `inflight` at once, on an empty dedicated Redis; every compare-and-set succeeds.
 */
export async function commitCeiling(
  redis: DedicatedRedis,
  model: Model,
  workload: Workload,
  o: { batch: number; inflight: number; now: number; events: number },
): Promise<CommitCeiling> {
  await redis.client.flushall();
  const keys = { prefix: 'bench-commit', shards: SHARDS };
  const store = new RedisScoreStore({ client: redis.client, keys, model });
  let names = await store.names();
  const maker = new ItemMaker(model);
  const records = new Map<string, { record: LeadRecord; bytes: Buffer | undefined }>();
  const calls: CommitCall[] = [];
  const outcomes: ItemOutcome[] = [];
  let events = 0;
  let leadWrites = 0;
  while (events < o.events) {
    const items = takeItems(workload, maker, Math.min(o.batch, o.events - events));
    if (items.length === 0) break;
    events += items.length;
    const byLead = new Map<string, number[]>();
    items.forEach((item, i) => {
      byLead.set(item.leadId, [...(byLead.get(item.leadId) ?? []), i]);
    });
    const writes: LeadWrite[] = [];
    for (const [lead, at] of byLead) {
      const known = records.get(lead);
      const record = known?.record ?? newRecord(model);
      const stage = known ? record.state.stage : undefined;
      const previous = known ? previousOrder(lead, record, o.now, model) : undefined;
      const r = applyToLead(record, items, at, outcomes, o.now, model, HISTORY_LENGTH);
      if (!r.changed) continue;
      const before = record.due;
      record.due = dueOf(record, o.now, model);
      const write: LeadWrite = {
        leadId: lead,
        expected: known?.bytes as unknown as StoreVersion | undefined,
        record,
        ...(record.due !== before || !known ? { due: record.due } : {}),
        changes: r.changes,
        // The query indexes, as the services write them (core scorer.ts).
        index: { before: stage, entry: indexEntry(lead, record, o.now, model), previous },
      };
      writes.push(write);
      // Registers a partition's offset source the first time one of its events is written.
      names = await store.namesFor([write]);
      // What the commit will write: the next chunk's expected bytes for this lead.
      records.set(lead, { record, bytes: encodeRecord(record, o.now, names) });
    }
    leadWrites += writes.length;
    calls.push(commitCall(keys, writes, o.now, names, undefined, undefined, undefined, store.indexLayout));
  }
  // The script is loaded (and the connection warm) before the clock starts.
  await store.commit([{ leadId: 'warm-up', expected: undefined, due: null, changes: [] }], o.now);
  await redis.client.config('RESETSTAT');
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: o.inflight }, async () => {
      while (next < calls.length) {
        const reply = await store.sendCommit(calls[next++]!);
        if (String(reply[0]).includes('0')) throw new Error('commit ceiling: an unexpected conflict');
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const stats = commandStats(await redis.client.info('commandstats'));
  await redis.client.flushall();
  return {
    events,
    leadWrites,
    calls: stats.scriptCalls,
    seconds,
    perSecond: events / seconds,
    usecPerCall: stats.scriptCalls > 0 ? stats.scriptUsec / stats.scriptCalls : 0,
    usecPerEvent: events > 0 ? stats.scriptUsec / events : 0,
  };
}

export interface EngineCeiling {
  events: number;
  leads: number;
  seconds: number;
  perSecond: number;
}

/**
 * The engine in process, one core: the drain's events (decoded records mapped to scoring events
 * beforehand) through evaluateEvent, the offset watermarks and applyEffect in place on states in
 * memory, and nextChangeAt for every lead an event changed, as a service computes them between
 * its read and its commit. No Kafka, no Redis, no codec.
 */
export function engineCeiling(
  model: Model,
  workload: Workload,
  o: { events: number; now: number; batch: number },
): EngineCeiling {
  const items: { item: ApplyItem; rec: ReturnType<Workload['next']> }[] = [];
  const maker = new ItemMaker(model);
  for (let i = 0; i < o.events; i++) {
    const rec = workload.next();
    if (rec === undefined) break;
    items.push({ item: maker.make(rec), rec });
  }
  const events = items.map(({ rec }) => mapToScoringEvent(rec!.name, rec!.record)!);
  const records = new Map<string, LeadRecord>();
  const outcomes: ItemOutcome[] = [];
  const started = performance.now();
  for (let i = 0; i < items.length; i += o.batch) {
    const chunk: ApplyItem[] = [];
    for (let j = i; j < items.length && j < i + o.batch; j++) {
      const base = items[j]!.item;
      chunk.push({ ...base, effect: evaluateEvent(model, events[j]!) });
    }
    const byLead = new Map<string, number[]>();
    chunk.forEach((item, k) => {
      const at = byLead.get(item.leadId);
      if (at) at.push(k);
      else byLead.set(item.leadId, [k]);
    });
    for (const [lead, at] of byLead) {
      let record = records.get(lead);
      if (!record) {
        record = newRecord(model);
        records.set(lead, record);
      }
      if (applyToLead(record, chunk, at, outcomes, o.now, model, HISTORY_LENGTH).changed) {
        record.due = dueOf(record, o.now, model);
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return { events: items.length, leads: records.size, seconds, perSecond: items.length / seconds };
}

/**
 * Redis-side time from INFO commandstats: the time of the commands clients sent, and that of the
 * scripts (EVALSHA / EVAL / FCALL: the commit) apart. Redis also counts each command a script
 * calls under its own name, inside the script's time already: those (the commit's and the name
 * registry's GET, SET, ZADD, ZREM, XADD, HSETNX, HLEN, HGETALL, which the services never send
 * themselves) are left out so no microsecond is counted twice.
 */
const INSIDE_SCRIPTS = new Set(['get', 'set', 'zadd', 'zrem', 'xadd', 'hsetnx', 'hlen', 'hgetall']);

export function commandStats(text: string): {
  calls: number;
  usec: number;
  scriptCalls: number;
  scriptUsec: number;
  /** usec per command name, of the commands counted. */
  byCommand: Record<string, number>;
} {
  const byCommand: Record<string, number> = {};
  let calls = 0;
  let usec = 0;
  let scriptCalls = 0;
  let scriptUsec = 0;
  for (const m of text.matchAll(/cmdstat_([a-z|]+):calls=(\d+),usec=(\d+)/g)) {
    const name = m[1]!;
    const c = Number(m[2]);
    const u = Number(m[3]);
    // INFO and CONFIG are the benchmark's own questions.
    if (name === 'info' || name.startsWith('config') || INSIDE_SCRIPTS.has(name)) continue;
    calls += c;
    usec += u;
    byCommand[name] = (byCommand[name] ?? 0) + u;
    if (name === 'evalsha' || name === 'eval' || name === 'fcall') {
      scriptCalls += c;
      scriptUsec += u;
    }
  }
  return { calls, usec, scriptCalls, scriptUsec, byCommand };
}
