import { MemoryScoreStore } from '@leadscorer/core';
import type { LeadScorerError } from '@leadscorer/errors';
import { createLogger, createMetrics } from '@leadscorer/runtime';
import { beforeEach, describe, expect, it } from 'vitest';
import { PartitionTracker } from './partitions.ts';
import { StateGuard } from './state-guard.ts';

/** Positions and state epochs on the in-memory store, with the Redis store's guard semantics. */
const log = createLogger('test', 'silent');
let store: MemoryScoreStore;
let metrics: ReturnType<typeof createMetrics>;
let tracker: PartitionTracker;
const T = Date.UTC(2026, 5, 1);

beforeEach(async () => {
  store = new MemoryScoreStore(8);
  metrics = createMetrics('test', { defaultMetrics: false });
  tracker = new PartitionTracker({
    store: () => store,
    group: 'g',
    log,
    metrics,
    clock: () => T,
    advanceEveryMs: 0,
  });
  await store.initialize('0', false);
});

const seekOf = (err: unknown) => (err as LeadScorerError).details.seek;
const offsets = async (field: string) => (await store.positions(field)).map((p) => p?.offset ?? null);
const write = (leadId: string) => ({ leadId, expected: undefined, due: null, changes: [] });

describe('PartitionTracker', () => {
  it('marks a new partition at its start in every shard, then moves every shard to the frontier', async () => {
    const guard = await tracker.begin('t', 3, 100, '0');
    expect(await offsets('g|t|3')).toEqual(Array(8).fill(99));
    expect(guard.partition?.next).toBe(99);
    await tracker.done('t', 3, 149, '0');
    expect(await offsets('g|t|3')).toEqual(Array(8).fill(149));
    expect((await tracker.begin('t', 3, 150, '0')).partition?.next).toBe(149);
  });

  it('seeks back to one past the lowest position when Redis holds less than Kafka would start at', async () => {
    await tracker.begin('t', 0, 0, '0');
    await tracker.done('t', 0, 499, '0');
    // Redis went back in time: some shards hold an older position; Kafka would start at 500.
    const marks = (await store.positions('g|t|0')).map((p) => p?.mark ?? null);
    await store.commit([], T, {
      epoch: '0',
      partition: { field: 'g|t|0', known: new Map(marks.map((m, s) => [s, m])), next: 299, allShards: true },
    });
    const fresh = new PartitionTracker({ store: () => store, group: 'g', log, metrics, clock: () => T });
    const err = await fresh.begin('t', 0, 500, '0').catch((e: unknown) => e);
    expect((err as LeadScorerError).code).toBe('PARTITION_FENCED');
    expect(seekOf(err)).toBe(300);
    // Read from there, it goes on; later offsets than the positions are fine too (redelivery).
    expect((await fresh.begin('t', 0, 300, '0')).partition?.next).toBe(299);
    expect((await metrics.partitionRewinds.get()).values[0]?.value).toBe(1);
  });

  it('makes a commit of a consumer whose positions moved under it fail, and re-reads them', async () => {
    const guard = await tracker.begin('t', 1, 10, '0');
    const other = new PartitionTracker({
      store: () => store,
      group: 'g',
      log,
      metrics,
      clock: () => T,
      advanceEveryMs: 0,
    });
    await other.begin('t', 1, 10, '0');
    await other.done('t', 1, 60, '0');
    const err = await store
      .commit([], T, { ...guard, partition: { ...guard.partition!, allShards: true } })
      .catch((e: unknown) => e);
    expect((err as LeadScorerError).code).toBe('PARTITION_FENCED');
    tracker.invalidate('t', 1);
    const again = await tracker.begin('t', 1, 61, '0');
    expect(again.partition?.known.get(0)).toBe((await store.positions('g|t|1'))[0]?.mark);
    expect((await store.positions('g|t|1'))[0]?.offset).toBe(60);
  });

  it('reads a partition from its start when some shards lost their position', async () => {
    // One shard holds a position, the others none: what the others held is lost, we cannot say
    // from where, so the partition is read again from its start (redelivery is idempotent).
    await store.commit([], T, {
      epoch: '0',
      partition: { field: 'g|t|2', known: new Map(), next: 90, allShards: true },
    });
    store.wipe();
    await store.initialize('0', false);
    await store.commit([write('lead-x')], T, {
      epoch: '0',
      partition: { field: 'g|t|2', known: new Map(), next: 90 },
    });
    expect((await offsets('g|t|2')).filter((p) => p !== null)).toEqual([90]);
    const err = await tracker.begin('t', 2, 91, '0').catch((e: unknown) => e);
    expect(seekOf(err)).toBe(0);
    await expect(tracker.begin('t', 2, 0, '0')).resolves.toBeDefined();
  });

  it('sees a lost commit call although the offset it wrote did not move (a conflict round, a second call)', async () => {
    const guard = await tracker.begin('t', 0, 100, '0');
    await store.commit([write('lead-a')], T, guard);
    const rollBack = store.snapshot();
    // The same chunk's next call (another lead, or a conflict round): the same offset, 99.
    await store.commit([write('lead-b')], T, guard);
    rollBack();
    expect((await store.read(['lead-b'])).size).toBe(0);
    expect(await offsets('g|t|0')).toContain(99);
    const err = await store
      .commit([write('lead-c')], T, { ...guard, partition: { ...guard.partition!, allShards: true } })
      .catch((e: unknown) => e);
    expect((err as LeadScorerError).code).toBe('PARTITION_FENCED');
  });

  it('audits quiet partitions: a rollback while nothing arrives is found and read again', async () => {
    await tracker.begin('t', 4, 0, '0');
    await tracker.done('t', 4, 199, '0');
    const rollBack = store.snapshot();
    await tracker.begin('t', 4, 200, '0');
    await store.commit([write('lead-q')], T, await tracker.begin('t', 4, 200, '0'));
    await tracker.done('t', 4, 249, '0');
    // Nothing changed underneath: nothing to do.
    expect(await tracker.audit(0)).toEqual([]);
    rollBack();
    // Not quiet for long enough yet: left to the next commit.
    expect(await tracker.audit(60_000)).toEqual([]);
    expect(await tracker.audit(0)).toEqual([{ topic: 't', partition: 4, offset: 200 }]);
    expect((await metrics.partitionRewinds.get()).values[0]?.value).toBe(1);
    // The consumer seeks there; the chunk it reads next starts there and is accepted.
    expect((await tracker.begin('t', 4, 200, '0')).partition?.next).toBe(199);
  });

  it('does not seek back on positions of a generation being deleted: the consumer follows the switch instead', async () => {
    await tracker.begin('t', 5, 0, '0');
    await tracker.done('t', 5, 299, '0');
    // A rescore retired the generation; a fresh consumer (a rebalance) finds lower positions.
    const marks = (await store.positions('g|t|5')).map((p) => p?.mark ?? null);
    await store.commit([], T, {
      epoch: '0',
      partition: { field: 'g|t|5', known: new Map(marks.map((m, s) => [s, m])), next: 99, allShards: true },
    });
    await store.initialize('retired:1', true);
    const fresh = new PartitionTracker({ store: () => store, group: 'g', log, metrics, clock: () => T });
    const retired = await fresh.begin('t', 5, 300, '0').catch((e: unknown) => e);
    expect((retired as LeadScorerError).code).toBe('GENERATION_RETIRED');
    // Then deleted: its positions are gone, and so is its epoch.
    store.wipe();
    const lost = await fresh.begin('t', 5, 300, '0').catch((e: unknown) => e);
    expect((lost as LeadScorerError).code).toBe('STATE_LOST');
    // A quiet partition's audit leaves it to the next chunk rather than reading it from the start.
    expect(await tracker.audit(0)).toEqual([]);
    expect((await metrics.partitionRewinds.get()).values).toEqual([]);
  });
});

describe('StateGuard', () => {
  it('initialises a new deployment, and refuses a Redis that lost a deployment with history', async () => {
    const empty = new MemoryScoreStore(8);
    const first = new StateGuard({ store: () => empty, log, metrics, hasHistory: async () => false });
    expect(await first.check()).toBe('0');
    expect(await empty.epochs()).toEqual(Array(8).fill('0'));

    const lost = new MemoryScoreStore(8);
    const guard = new StateGuard({
      store: () => lost,
      log,
      metrics,
      hasHistory: async () => true,
      pollMs: 10,
    });
    expect(await guard.check()).toBeUndefined();
    expect(guard.ok()).toBe(false);
    expect((await metrics.stateLost.get()).values[0]?.value).toBe(1);
    expect(await lost.epochs()).toEqual(Array(8).fill(null));
    // An operator accepts starting empty: the guard resumes with the new epoch.
    const waiting = guard.waitUntilOk();
    await lost.initialize('e2', true);
    expect(await waiting).toBe('e2');
    expect((await metrics.stateLost.get()).values[0]?.value).toBe(0);
  });

  it('refuses when part of the shards lost their epoch', async () => {
    const s = new MemoryScoreStore(4);
    await s.initialize('0', false);
    const guard = new StateGuard({ store: () => s, log, metrics, hasHistory: async () => true });
    expect(await guard.check()).toBe('0');
    s.wipe();
    await s.commit([], T, { epoch: '0' }).catch(() => undefined);
    expect(await guard.check()).toBeUndefined();
  });
});
