/**
 * The whole Redis key layout, in one place.
 *
 *   <prefix>:{<NN>}:<leadId>      string   the lead's state, its Kafka offset watermarks and its last
 *                                          HISTORY_LENGTH stage changes: compact MessagePack, layout in
 *                                          lua/includes/persistence.lua (decoded by state-codec.ts)
 *   <prefix>:{<NN>}#outbox        stream   stage changes recorded and not yet acknowledged by Kafka
 *   <prefix>:{<NN>}#due           zset     leadId -> epoch ms of its next time-driven stage change
 *   <prefix>:rules                hash     rule id -> its position in stored states (store.ts RulePositions)
 *
 * NN is the lead's shard, fnv1a32(leadId) mod SHARDS. Every key of a shard carries the same hash
 * tag {NN}, so one script call can update a lead, append to its shard's outbox and reschedule
 * it atomically, on a single Redis or on Redis Cluster (all of a shard lives in one slot). The
 * shard count bounds how far the keyspace spreads across Cluster masters; it is part of the
 * data layout and must not change while data exists (64 shards spread well over up to ~20 masters).
 *
 * Key names are part of the memory per lead (Redis allocates them in 16-byte steps), hence the
 * short form. A lead key has ':' right after the tag and the shard-wide keys '#', so no lead id
 * can name a shard-wide key; `<prefix>:rules` has no tag at all.
 *
 * Memory is bounded per lead: one state string (its size bounded by the model's rules, caps,
 * signals, dedupe window and history length). The offset watermarks replace per-event
 * dedupe keys: nothing grows with the number of events.
 */
export const SHARDS = 64;
export const HISTORY_LENGTH = 5;

/** FNV-1a, 32 bit: stable across processes and languages, cheap, good enough spread for sharding. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function shardOf(leadId: string, shards = SHARDS): number {
  return fnv1a32(leadId) % shards;
}

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

export function rulesKey(ks: KeySpace): string {
  return `${ks.prefix}:rules`;
}

export function outboxKey(ks: KeySpace, shard: number): string {
  return `${tag(ks, shard)}#outbox`;
}

export function dueKey(ks: KeySpace, shard: number): string {
  return `${tag(ks, shard)}#due`;
}

/** The offset-watermark source of a message: event type letter and partition, e.g. "w3". */
export function sourceId(topicCode: string, partition: number): string {
  return `${topicCode}${partition}`;
}
