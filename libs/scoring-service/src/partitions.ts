import type { CommitGuard, PartitionGuard, ScoreStore } from '@leadscorer/core';
import { LeadScorerError } from '@leadscorer/errors';
import type { Logger, Metrics } from '@leadscorer/runtime';

/**
 * Where each partition a consumer owns is applied up to, kept in Redis beside the state (the
 * "store offsets outside Kafka" pattern), so that Redis and the input position can only go back
 * in time together:
 *
 * - Every shard's state hash holds, per partition, an offset up to which that partition is fully
 *   applied in that shard. Commits write the consumer's frontier (the last offset of the last
 *   chunk it finished) into the shards they touch, and every `advanceEveryMs` into all shards.
 * - Every commit also checks that the shards it writes hold the positions this consumer left
 *   there. A Redis that went back in time (a crash under `appendfsync everysec`, a failover to a
 *   replica that was behind) or another consumer that took the partition over holds others: the
 *   commit writes nothing, and the consumer re-reads the positions.
 * - When a consumer starts on a partition (after every rebalance, and after a failed check) it
 *   reads the positions: Kafka's committed offset may be ahead of what Redis still holds, so it
 *   seeks back to one past the lowest position when that is below where Kafka would start it.
 *   Events it reads twice are skipped by the leads' offset watermarks.
 */
export interface PartitionTrackerOptions {
  store: ScoreStore;
  group: string;
  log: Logger;
  metrics: Metrics;
  clock: () => number;
  /** How often every shard's position is moved up to the frontier (bounds re-reading). */
  advanceEveryMs?: number;
}

interface Entry {
  guard: PartitionGuard;
  /** The offset a rewind moved the partition to: a chunk starting there is accepted. */
  rewoundTo?: number;
  validated: boolean;
  lastAdvance: number;
}

export class PartitionTracker {
  private readonly opts: PartitionTrackerOptions;
  private readonly entries = new Map<string, Entry>();

  constructor(opts: PartitionTrackerOptions) {
    this.opts = opts;
  }

  /** Forget everything known (a rebalance, a new state epoch): every partition is read again. */
  reset(): void {
    this.entries.clear();
  }

  /** Read this partition's positions again before its next chunk. */
  invalidate(topic: string, partition: number): void {
    const e = this.entries.get(key(topic, partition));
    if (e) e.validated = false;
  }

  /**
   * The guard for a chunk of `topic`/`partition` starting at `firstOffset`. On a partition not
   * validated yet, reads its positions; throws PARTITION_FENCED with `details.seek` when the
   * consumer must seek back first.
   */
  async begin(topic: string, partition: number, firstOffset: number, epoch: string): Promise<CommitGuard> {
    const k = key(topic, partition);
    const e = this.entries.get(k);
    if (e?.validated) return { epoch, partition: e.guard };
    const field = `${this.opts.group}|${topic}|${partition}`;
    const positions = await this.opts.store.positions(field);
    const known = new Map(positions.map((p, shard) => [shard, p]));
    const present = positions.filter((p): p is number => p !== null);
    const guard: PartitionGuard = { field, known, next: firstOffset - 1 };
    const entry: Entry = { guard, validated: true, lastAdvance: 0 };
    if (present.length === 0) {
      // A partition this group never applied: mark every shard at the start.
      await this.opts.store.commit([], this.opts.clock(), {
        epoch,
        partition: { ...guard, allShards: true },
      });
      entry.lastAdvance = Date.now();
    } else {
      // Some shards without a position while others have one: those shards lost data we cannot
      // place. Read the partition again from its start (idempotent; bounded by retention).
      const start = present.length < positions.length ? 0 : Math.min(...present) + 1;
      const accepted = e?.rewoundTo !== undefined && firstOffset <= e.rewoundTo;
      if (firstOffset > start && !accepted) {
        this.entries.set(k, { ...entry, validated: false, rewoundTo: start });
        this.opts.metrics.partitionRewinds.inc({ topic });
        this.opts.log.warn(
          { topic, partition, from: firstOffset, to: start },
          'Redis holds this partition applied only up to an earlier offset: seeking back',
        );
        throw new LeadScorerError(
          'PARTITION_FENCED',
          `${topic}/${partition}: applied in Redis up to ${start - 1}, consumer at ${firstOffset}`,
          { details: { seek: start } },
        );
      }
    }
    this.entries.set(k, entry);
    return { epoch, partition: guard };
  }

  /** The chunk ending at `lastOffset` is fully applied: it is the partition's new frontier. */
  async done(topic: string, partition: number, lastOffset: number, epoch: string): Promise<void> {
    const e = this.entries.get(key(topic, partition));
    if (!e?.validated) return;
    e.guard.next = lastOffset;
    const now = Date.now();
    if (now - e.lastAdvance < (this.opts.advanceEveryMs ?? 2_000)) return;
    await this.opts.store.commit([], this.opts.clock(), {
      epoch,
      partition: { ...e.guard, allShards: true },
    });
    e.lastAdvance = now;
  }
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
