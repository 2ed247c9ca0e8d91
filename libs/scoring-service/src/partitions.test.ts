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
  tracker = new PartitionTracker({ store, group: 'g', log, metrics, clock: () => T, advanceEveryMs: 0 });
  await store.initialize('0', false);
});

const seekOf = (err: unknown) => (err as LeadScorerError).details.seek;

describe('PartitionTracker', () => {
  it('marks a new partition at its start in every shard, then moves every shard to the frontier', async () => {
    const guard = await tracker.begin('t', 3, 100, '0');
    expect(await store.positions('g|t|3')).toEqual(Array(8).fill(99));
    expect(guard.partition?.next).toBe(99);
    await tracker.done('t', 3, 149, '0');
    expect(await store.positions('g|t|3')).toEqual(Array(8).fill(149));
    expect((await tracker.begin('t', 3, 150, '0')).partition?.next).toBe(149);
  });

  it('seeks back to one past the lowest position when Redis holds less than Kafka would start at', async () => {
    await tracker.begin('t', 0, 0, '0');
    await tracker.done('t', 0, 499, '0');
    // Redis went back in time: some shards hold an older position; Kafka would start at 500.
    await store.commit([], T, {
      epoch: '0',
      partition: {
        field: 'g|t|0',
        known: new Map(Array.from({ length: 8 }, (_, s) => [s, 499])),
        next: 299,
        allShards: true,
      },
    });
    const fresh = new PartitionTracker({ store, group: 'g', log, metrics, clock: () => T });
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
      store,
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
    expect((await tracker.begin('t', 1, 61, '0')).partition?.known.get(0)).toBe(60);
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
    const write = { leadId: 'lead-x', expected: undefined, due: null, changes: [] };
    await store.commit([write], T, { epoch: '0', partition: { field: 'g|t|2', known: new Map(), next: 90 } });
    expect((await store.positions('g|t|2')).filter((p) => p !== null)).toEqual([90]);
    const err = await tracker.begin('t', 2, 91, '0').catch((e: unknown) => e);
    expect(seekOf(err)).toBe(0);
    await expect(tracker.begin('t', 2, 0, '0')).resolves.toBeDefined();
  });
});

describe('StateGuard', () => {
  it('initialises a new deployment, and refuses a Redis that lost a deployment with history', async () => {
    const empty = new MemoryScoreStore(8);
    const first = new StateGuard({ store: empty, log, metrics, hasHistory: async () => false });
    expect(await first.check()).toBe('0');
    expect(await empty.epochs()).toEqual(Array(8).fill('0'));

    const lost = new MemoryScoreStore(8);
    const guard = new StateGuard({ store: lost, log, metrics, hasHistory: async () => true, pollMs: 10 });
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
    const guard = new StateGuard({ store: s, log, metrics, hasHistory: async () => true });
    expect(await guard.check()).toBe('0');
    s.wipe();
    await s.commit([], T, { epoch: '0' }).catch(() => undefined);
    expect(await guard.check()).toBeUndefined();
  });
});
