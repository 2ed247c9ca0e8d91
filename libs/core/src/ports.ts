import type { IndexUpdate } from './indexes.ts';
import type { LeadRecord, StageChangeRecord } from './records.ts';

/**
 * The ports the scoring core owns: the services, the relay, the fading loop and the read API
 * depend on these interfaces only. libs/store implements ScoreStore for Redis; the kafkajs
 * adapters in libs/scoring-service implement the sinks; memory-store.ts is the in-memory
 * ScoreStore the unit tests (and what-if tools) use.
 */

/**
 * A lead as read, with an opaque version that a commit compares against. Only the store that
 * produced it knows what it is (the Redis adapter: the stored bytes themselves).
 */
export interface StoredLead {
  record: LeadRecord;
  version: StoreVersion;
}

declare const storeVersion: unique symbol;

/** Opaque to everything but the store that issued it. */
export type StoreVersion = { readonly [storeVersion]: true };

/** One lead's part of a commit: written only if the lead is still at the version read. */
export interface LeadWrite {
  leadId: string;
  /** The version the write was computed from; undefined when the lead did not exist. */
  expected: StoreVersion | undefined;
  /** The new record; undefined keeps the stored one (only the schedule or outbox changes). */
  record?: LeadRecord;
  /** The lead's next time-driven change: a time, null to unschedule, undefined to leave it. */
  due?: number | null;
  /** Stage changes to append to the lead's shard's outbox, in order. */
  changes: StageChangeRecord[];
  /**
   * The lead's new place in the query indexes (indexes.ts), written with the record; set by the
   * core whenever `record` is. A store without indexes ignores it.
   */
  index?: IndexUpdate;
}

/** A stage change in a shard's outbox; acknowledge it once the broker has it. */
export interface RecordedChange {
  shard: number;
  outboxId: string;
  change: StageChangeRecord;
}

/**
 * What a commit must find before it writes anything, so that nothing is applied on top of state
 * that is not what the writer believes it is:
 * - every shard it writes holds the state `epoch` (a wiped or replaced Redis holds none or another);
 * - for a consumer's partition, every shard it writes holds the applied position the consumer
 *   knows (a Redis that went back in time holds an older one; another consumer may have moved it).
 * A failed guard writes nothing and throws STATE_LOST or PARTITION_FENCED.
 */
export interface CommitGuard {
  epoch: string;
  partition?: PartitionGuard;
}

export interface PartitionGuard {
  /** The partition's name in the stores' state: '<group>|<topic>|<partition>'. */
  field: string;
  /**
   * Per shard, the position mark the consumer believes the shard holds (null: none). The store
   * sets the entry of every shard a commit wrote to the mark it wrote there.
   */
  known: Map<number, string | null>;
  /**
   * The offset up to which the partition is fully applied (every event at or below it is in
   * every shard it belongs to): written into every shard a commit touches, as a new mark each
   * time (the offset and a stamp unique to that commit call), so that losing any one commit
   * call's writes leaves a mark the consumer does not know, even when the offset is the same
   * (several calls of one chunk, conflict rounds).
   */
  next: number;
  /** Commit to every shard (to move every shard's position), not only to the shards written. */
  allShards?: boolean;
}

/** A partition's applied position in one shard: the offset, and the mark stored for it. */
export interface Position {
  offset: number;
  /** The stored value, opaque to the consumer, compared byte for byte by commits. */
  mark: string;
}

/** Each shard's state epoch, null for a shard that holds none. */
export type StateEpochs = (string | null)[];

export interface CommitResult {
  /** Leads whose version moved since they were read: nothing of theirs was written. */
  conflicts: string[];
  /** The committed writes' stage changes with their outbox ids, in write order. */
  recorded: RecordedChange[];
}

export interface ScoreStore {
  readonly shards: number;
  /** The stored leads among `leadIds` (absent ones are missing from the map). One round trip. */
  read(leadIds: readonly string[]): Promise<Map<string, StoredLead>>;
  /**
   * Applies every write whose lead is still at its expected version, atomically per lead (the
   * record, its schedule and its outbox entries together), and skips the others.
   */
  commit(writes: readonly LeadWrite[], now: number, guard?: CommitGuard): Promise<CommitResult>;
  /** Every shard's state epoch. */
  epochs(): Promise<StateEpochs>;
  /** Sets every shard's state epoch: where none is set, or everywhere with `replace`. */
  initialize(epoch: string, replace: boolean): Promise<void>;
  /** Every shard's applied position of a partition (null where none). */
  positions(field: string): Promise<(Position | null)[]>;
  /** Up to `limit` leads of a shard whose scheduled time is at or before `now`. */
  dueLeads(shard: number, now: number, limit: number): Promise<string[]>;
  /** The earliest scheduled time of a shard, if any. */
  nextDue(shard: number): Promise<number | undefined>;
  /** Outbox entries of a shard recorded at least `minAgeMs` before `now`, oldest first. */
  pendingOutbox(shard: number, count: number, minAgeMs: number, now: number): Promise<RecordedChange[]>;
  /**
   * Which of these entries the outbox still holds: one Redis went back in time over (a crash
   * under `appendfsync everysec`, a failover to a replica that was behind) no longer does.
   */
  outboxHas(changes: readonly RecordedChange[]): Promise<boolean[]>;
  /** Removes published entries; only ever called after the broker acknowledged them. */
  ackOutbox(changes: readonly RecordedChange[]): Promise<void>;
  outboxDepth(): Promise<number>;
  /**
   * Removes a lead entirely, atomically (erasure, docs/erasure.md): its record, its place in the
   * schedule and its stage changes still in the outbox. A writer that read the lead before is
   * refused by its compare-and-set and reads it again (absent).
   */
  erase(leadId: string): Promise<ErasedLead>;
}

/** What an erasure found and removed of one lead in one store. */
export interface ErasedLead {
  record: boolean;
  scheduled: boolean;
  /** Stage changes of the lead that were still waiting in the outbox (never published now). */
  outboxEntries: number;
}

/**
 * The query indexes of a store that keeps them (the Redis adapter): what erasure needs besides
 * deleting the record.
 */
export interface QueryIndexes {
  /**
   * Removes leads from every query index (every stage, every sort, updatedSince) and queues a
   * tombstone for each on the lead.stage.v1 snapshot topic behind any snapshot of it not yet
   * published, atomically per shard. Idempotent; a lead not indexed is a no-op apart from its
   * tombstone.
   */
  removeFromIndexes(leadIds: readonly string[]): Promise<void>;
}

/** Where stage changes are published (lead.stage-changed). Resolves once the broker has them all. */
export interface StageChangeSink {
  send(changes: readonly StageChangeRecord[], emittedAt: number): Promise<void>;
}

/** A consumed message as the dead-letter path needs it (the client library's, flattened). */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
  timestamp: string;
}

/** Where poison messages go, with the reason. Resolves once the broker has them all. */
export interface DeadLetterSink {
  send(letters: readonly { message: ConsumedMessage; error: unknown }[], now: number): Promise<void>;
}
