import { hash } from 'node:crypto';

/**
 * The dedupe ring entry for an event: the first 8 hex characters of sha1(eventId). The Lua port
 * computes the same with `string.sub(redis.sha1hex(id), 1, 8)`; 32 bits make a false duplicate
 * within one lead's last few events a ~1e-9 event.
 */
export function eventHash(eventId: string): string {
  return hash('sha1', eventId, 'hex').slice(0, 8);
}

/**
 * The event id of a stage transition: UUID-shaped (version 5 and variant bits set) from
 * sha1 of the lead, sequence number and stages, so re-publishing the same transition after a
 * crash yields the same id and subscribers can dedupe.
 */
export function transitionId(leadId: string, seq: number, from: string, to: string): string {
  const hex = hash('sha1', JSON.stringify([leadId, seq, from, to]), 'hex');
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
