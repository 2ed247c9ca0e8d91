import { hash } from 'node:crypto';

/**
 * The dedupe ring entry for an event: a 32-bit hash of the event id as 8 hex characters. Not
 * cryptographic and needn't be: it only has to tell apart a lead's last few events (a false
 * duplicate among the last 8 is a ~2e-9 event) and break ties between equal event times. It is
 * computed once, in evaluateEvent, and travels with the effect. FNV-1a over the id's UTF-16 code
 * units, then murmur3's finalizer so every input bit reaches every output bit; about 20 times
 * cheaper than sha1 through node:crypto for ids of a few dozen characters.
 */
export function eventHash(eventId: string): string {
  const h = fmix32(fnv1a32(eventId));
  // One string built from eight character codes: Number.prototype.toString(16) costs ten times
  // the hash itself, and concatenating pieces allocates a string per piece.
  return String.fromCharCode(
    HEX[h >>> 28]!,
    HEX[(h >>> 24) & 15]!,
    HEX[(h >>> 20) & 15]!,
    HEX[(h >>> 16) & 15]!,
    HEX[(h >>> 12) & 15]!,
    HEX[(h >>> 8) & 15]!,
    HEX[(h >>> 4) & 15]!,
    HEX[h & 15]!,
  );
}

/** Character codes of '0'-'9', 'a'-'f'. */
const HEX = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** 32-bit FNV-1a over UTF-16 code units (equal to the byte-wise one for ASCII). */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** MurmurHash3's 32-bit finalizer. */
export function fmix32(x: number): number {
  let h = x ^ (x >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The event id of a stage transition: UUID-shaped (version 5 and variant bits set) from
 * sha1 of the lead, sequence number and stages, so re-publishing the same transition after a
 * crash yields the same id and subscribers can dedupe. `epoch` names the life of the stored
 * state the transition belongs to: the first life ('0', the default) keeps the ids of the
 * formula without it; a later life (after the state was lost and started again, when sequence
 * numbers start over) mixes it in, so no id is ever reused for another transition.
 */
export function transitionId(leadId: string, seq: number, from: string, to: string, epoch = '0'): string {
  const parts = epoch === '0' ? [leadId, seq, from, to] : [leadId, seq, from, to, epoch];
  const hex = hash('sha1', JSON.stringify(parts), 'hex');
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
