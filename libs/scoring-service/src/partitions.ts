import {
  type CommitGuard,
  type PartitionGuard,
  type Position,
  RETIRED,
  type ScoreStore,
} from '@leadscorer/core';
import { LeadScorerError } from '@leadscorer/errors';
import type { Logger, Metrics } from '@leadscorer/runtime';

/**
 * Where each partition a consumer owns is applied up to, kept in Redis beside the state (the
 * "store offsets outside Kafka" pattern), so that Redis and the input position can only go back
 * in time together:
 *
 * - Every shard's state hash holds, per partition, an offset up to which that partition is fully
 *   applied in that shard. Commits write the consumer's frontier (the last offset of the last
 *   chunk it finished) into the shards they touch, and every `advanceEveryMs` into all shards,
 *   each time as a new mark (`<offset>@<stamp>`, the stamp unique to the commit call): losing any
 *   one call's writes leaves a mark behind that the consumer does not know, also when the offset
 *   did not move (the calls of one chunk, its conflict rounds).
 * - Every commit also checks that the shards it writes hold the marks this consumer left there.
 *   A Redis that went back in time (a crash under `appendfsync everysec`, a failover to a
 *   replica that was behind) or another consumer that took the partition over holds others: the
 *   commit writes nothing, and the consumer re-reads the positions. A partition that receives
 *   nothing never commits: `audit` compares its marks from time to time instead.
 * - When a consumer starts on a partition (after every rebalance, and after a failed check) it
 *   reads the positions: Kafka's committed offset may be ahead of what Redis still holds, so it
 *   seeks back to one past the lowest position when that is below where Kafka would start it.
 *   Events it reads twice are skipped by the leads' offset watermarks.
 * - Positions that call for a seek back are trusted only once the shards still hold the epoch the
 *   consumer works in, read after them: a generation a rescore retired and is deleting loses its
 *   positions shard by shard, which says nothing of where the consumer is (it is about to switch).
 */
export interface PartitionTrackerOptions {
  /** The store of the active generation of keys (a switch resets the tracker). */
  store: () => ScoreStore;
  group: string;
  log: Logger;
  metrics: Metrics;
  clock: () => number;
  /** How often every shard's position is moved up to the frontier (bounds re-reading). */
  advanceEveryMs?: number;
}

interface Entry {
  topic: string;
  partition: number;
  guard: PartitionGuard;
  /** When a chunk of it was last begun or finished (Date.now()). */
  lastActivity: number;
  /** The offset a rewind moved the partition to: a chunk starting there is accepted. */
  rewoundTo?: number;
  validated: boolean;
  lastAdvance: number;
  /** The state epoch the positions were read in. */
  epoch: string;
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
    if (e?.validated) {
      e.lastActivity = Date.now();
      return { epoch, partition: e.guard };
    }
    const field = `${this.opts.group}|${topic}|${partition}`;
    const positions = await this.opts.store().positions(field);
    const known = new Map(positions.map((p, shard) => [shard, p?.mark ?? null]));
    const present = positions.filter((p) => p !== null).map((p) => p.offset);
    const guard: PartitionGuard = { field, known, next: firstOffset - 1 };
    const entry: Entry = {
      topic,
      partition,
      guard,
      validated: true,
      lastAdvance: 0,
      lastActivity: Date.now(),
      epoch,
    };
    if (present.length === 0) {
      // A partition this group never applied: mark every shard at the start.
      await this.opts.store().commit([], this.opts.clock(), {
        epoch,
        partition: { ...guard, allShards: true },
      });
      entry.lastAdvance = Date.now();
    } else {
      // Some shards without a position while others have one: those shards lost data we cannot
      // place. Read the partition again from its start (idempotent; bounded by retention).
      const start = restartAt(positions);
      const accepted = e?.rewoundTo !== undefined && firstOffset <= e.rewoundTo;
      if (firstOffset > start && !accepted) {
        await this.expectEpoch(epoch);
        this.rewind(entry, firstOffset, start);
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
    e.lastActivity = now;
    if (now - e.lastAdvance < (this.opts.advanceEveryMs ?? 2_000)) return;
    await this.opts.store().commit([], this.opts.clock(), {
      epoch,
      partition: { ...e.guard, allShards: true },
    });
    e.lastAdvance = now;
  }

  /**
   * Compares the marks of the partitions that have been quiet for `idleMs` with what Redis holds.
   * A quiet partition never meets a fenced commit, so without this, writes Redis lost while it is
   * quiet would stay lost until its next message. Returns the partitions to seek back and where;
   * the caller seeks (the chunk that follows is accepted from there).
   */
  async audit(idleMs: number): Promise<{ topic: string; partition: number; offset: number }[]> {
    const seeks: { topic: string; partition: number; offset: number }[] = [];
    const now = Date.now();
    for (const [k, e] of this.entries) {
      if (!e.validated || now - e.lastActivity < idleMs) continue;
      const positions = await this.opts.store().positions(e.guard.field);
      // A chunk began meanwhile: its own commits check the marks.
      if (this.entries.get(k) !== e || e.lastActivity > now) continue;
      if (positions.every((p, shard) => (p?.mark ?? null) === (e.guard.known.get(shard) ?? null))) continue;
      // A generation being deleted, or a state lost: the next chunk's guard says what to do.
      if (!(await this.inEpoch(e.epoch))) {
        e.validated = false;
        continue;
      }
      const start = restartAt(positions);
      const at = e.guard.next + 1;
      if (start < at) {
        this.rewind(e, at, start);
        seeks.push({ topic: e.topic, partition: e.partition, offset: start });
      } else {
        e.validated = false;
      }
    }
    return seeks;
  }

  /** Whether every shard holds `epoch` now. */
  private async inEpoch(epoch: string): Promise<boolean> {
    return (await this.opts.store().epochs()).every((e) => e === epoch);
  }

  /** Throws what a commit would (GENERATION_RETIRED, STATE_LOST) unless every shard holds `epoch`. */
  private async expectEpoch(epoch: string): Promise<void> {
    const epochs = await this.opts.store().epochs();
    if (epochs.every((e) => e === epoch)) return;
    if (epochs.some((e) => e?.startsWith(RETIRED)))
      throw new LeadScorerError('GENERATION_RETIRED', 'a rescore retired this generation of keys');
    throw new LeadScorerError('STATE_LOST', `the shards no longer hold state epoch ${epoch}`);
  }

  private rewind(entry: Entry, from: number, to: number): void {
    const { topic, partition } = entry;
    this.entries.set(key(topic, partition), { ...entry, validated: false, rewoundTo: to });
    this.opts.metrics.partitionRewinds.inc({ topic });
    this.opts.log.warn(
      { topic, partition, from, to },
      'Redis holds this partition applied only up to an earlier offset: seeking back',
    );
  }
}

/**
 * Where a partition must be read from again for what Redis holds: one past the lowest position,
 * or its start when some shards hold none while others do (what they held is lost, we cannot say
 * from where; redelivery is idempotent, bounded by retention).
 */
function restartAt(positions: readonly (Position | null)[]): number {
  const present = positions.filter((p) => p !== null).map((p) => p.offset);
  if (present.length === 0) return 0;
  return present.length < positions.length ? 0 : Math.min(...present) + 1;
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
