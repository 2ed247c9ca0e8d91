import { fnv1a32 } from '@leadscorer/engine';

/**
 * Leads are spread over a fixed number of shards; a store keeps each shard's leads, outbox and
 * schedule together (on Redis Cluster: one hash slot), so one atomic call can update a lead,
 * record its stage changes and reschedule it. The count is part of the stored data's layout and
 * must not change while data exists.
 */
export const SHARDS = 64;

export function shardOf(leadId: string, shards = SHARDS): number {
  return fnv1a32(leadId) % shards;
}
