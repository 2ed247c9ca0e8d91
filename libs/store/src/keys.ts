import { SHARDS, shardOf } from '@leadscorer/core';

/**
 * The whole Redis key layout, in one place.
 *
 *   <prefix>:{<NN>}:<leadId>      string   the lead's record: engine state, Kafka offset watermarks,
 *                                          last stage changes and due time (codec.ts, format 3)
 *   <prefix>:{<NN>}#outbox        stream   stage changes recorded and not yet acknowledged by Kafka
 *   <prefix>:{<NN>}#due           zset     leadId -> epoch ms of its next time-driven stage change
 *   <prefix>:{<NN>}#state         hash     'epoch' -> the state epoch (which life of the data this is);
 *                                          '<group>|<topic>|<partition>' -> the offset up to which that
 *                                          consumer's partition is applied in this shard
 *   <prefix>:{<NN>}#q:<stage>:<dim> zset   the stage's leads -> order key of dimension <dim>'s score
 *                                          (core indexes.ts: fixed at write time, right at any later time)
 *   <prefix>:{<NN>}#q:<stage>:@entered zset the stage's leads -> epoch ms they entered it
 *   <prefix>:{<NN>}#q@updated     zset     leadId -> Redis server time (µs) of its last write
 *   <prefix>:{<NN>}#snap          stream   stage changes not yet written to the lead.stage.v1 snapshot
 *                                          topic (and erasure tombstones), in commit order
 *   <prefix>:{<NN>}#snaplease     string   which relay instance writes this shard's snapshots now
 *   <prefix>:names                hash     rule id / stage / signal -> its number in stored records
 *                                          (names.ts)
 *
 * NN is the lead's shard (@leadscorer/core shardOf: fnv1a32(leadId) mod SHARDS). Every key of a
 * shard carries the same hash tag {NN}, so one commit can write a lead, append to its shard's
 * outbox and reschedule it atomically, on a single Redis or on Redis Cluster (all of a shard lives
 * in one slot). The shard count bounds how far the keyspace spreads across Cluster masters; it is
 * part of the data layout and must not change while data exists (64 shards spread well over up
 * to ~20 masters).
 *
 * Key names are part of the memory per lead (Redis allocates them in 16-byte steps), hence the
 * short form. A lead key has ':' right after the tag and the shard-wide keys '#', so no lead id
 * can name a shard-wide key; `<prefix>:names` has no tag at all.
 *
 * The query indexes (#q...) are written by the same commit as the record they describe (the
 * service computes the entries, lua/commit.lua writes them), so they always agree with the stored
 * records; the read API merges the 64 shards' indexes.
 *
 * Memory is bounded per lead: one record string (its size bounded by the model's rules, caps,
 * signals, dedupe window and history length). The offset watermarks replace per-event dedupe
 * keys: nothing grows with the number of events.
 */
export { SHARDS, shardOf };

export interface KeySpace {
  prefix: string;
  shards: number;
}

function tag(ks: KeySpace, shard: number): string {
  return `${ks.prefix}:{${String(shard).padStart(2, '0')}}`;
}

export function leadKey(ks: KeySpace, leadId: string): string {
  return `${tag(ks, shardOf(leadId, ks.shards))}:${leadId}`;
}

export function namesKey(ks: KeySpace): string {
  return `${ks.prefix}:names`;
}

export function outboxKey(ks: KeySpace, shard: number): string {
  return `${tag(ks, shard)}#outbox`;
}

export function dueKey(ks: KeySpace, shard: number): string {
  return `${tag(ks, shard)}#due`;
}

export function stateKey(ks: KeySpace, shard: number): string {
  return `${tag(ks, shard)}#state`;
}

/** A query index of a stage: `sort` is a dimension name or ENTERED. */
export function queryKey(ks: KeySpace, shard: number, stage: string, sort: string): string {
  return `${tag(ks, shard)}#q:${stage}:${sort}`;
}

/** The sort of the index by the time leads entered the stage. */
export const ENTERED = '@entered';

export function updatedKey(ks: KeySpace, shard: number): string {
  return `${tag(ks, shard)}#q@updated`;
}

export function snapshotKey(ks: KeySpace, shard: number): string {
  return `${tag(ks, shard)}#snap`;
}

export function snapshotLeaseKey(ks: KeySpace, shard: number): string {
  return `${tag(ks, shard)}#snaplease`;
}
