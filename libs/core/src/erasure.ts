import { createHash } from 'node:crypto';

/**
 * The one form in which an erased lead's id is kept (the audit record, the list of leads whose
 * later events are dropped, the archive's erasure): SHA-256 of the id's UTF-8 bytes, hex.
 * Lead ids are opaque CRM ids, not personal data in themselves; the hash keeps even them out of
 * what outlives the erasure, while still recognising the lead's later events.
 */
export function leadHash(leadId: string): string {
  return createHash('sha256').update(leadId, 'utf8').digest('hex');
}
