import type { Model } from '@leadscorer/engine';
import { LeadScorerError } from '@leadscorer/errors';
import {
  type ApplyItem,
  advanceLead,
  applyToLead,
  dueOf,
  type ItemOutcome,
  newRecord,
} from './apply-lead.ts';
import { indexEntry, previousOrder } from './indexes.ts';
import type { CommitGuard, LeadWrite, RecordedChange, ScoreStore } from './ports.ts';

/**
 * Read, compute, compare-and-set: how every writer changes leads. The engine runs here, in the
 * service (which scales out); the store only checks versions and writes bytes atomically.
 *
 * 1. read the records of the leads involved, with their versions, in one round trip;
 * 2. apply the events with the engine, in memory;
 * 3. commit every changed lead, its stage changes (outbox) and its schedule in one atomic call
 *    per lead (one round trip per chunk), each write conditional on the version read;
 * 4. a lead another writer changed in between is skipped by the store: read it again and redo
 *    only its events. Bounded: after `maxAttempts` rounds the rest fails with a retryable error,
 *    the consumer retries the whole chunk, and the leads already committed skip their events by
 *    their offset watermarks.
 */
export interface ScorerOptions {
  model: Model;
  historyLength: number;
  /** Rounds of read-apply-commit before giving up with STATE_CONFLICT (retryable). Default 8. */
  maxAttempts?: number;
  /** Told how many leads had to be redone after each round that had conflicts. */
  onConflicts?: (leads: number) => void;
}

export interface ChunkResult {
  /** Aligned with the input items. */
  outcomes: ItemOutcome[];
  /** The committed stage changes, with their outbox ids. */
  recorded: RecordedChange[];
  /** Lead commits that were redone because another writer got there first. */
  conflicts: number;
}

const DEFAULT_ATTEMPTS = 8;

/** Applies a chunk of events (in partition order) at `now`. */
export async function applyChunk(
  store: ScoreStore,
  items: readonly ApplyItem[],
  now: number,
  opts: ScorerOptions,
  guard?: CommitGuard,
): Promise<ChunkResult> {
  const { model, historyLength } = opts;
  const outcomes = new Array<ItemOutcome>(items.length);
  // Each lead's item positions, in order: a lead's events stay in partition order.
  const byLead = new Map<string, number[]>();
  for (let i = 0; i < items.length; i++) {
    const lead = items[i]!.leadId;
    const at = byLead.get(lead);
    if (at) at.push(i);
    else byLead.set(lead, [i]);
  }
  const recorded: RecordedChange[] = [];
  let conflicts = 0;
  let pending = [...byLead.keys()];
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > (opts.maxAttempts ?? DEFAULT_ATTEMPTS)) throw conflictError(pending.length, attempt - 1);
    const stored = await store.read(pending);
    const writes: LeadWrite[] = [];
    for (const lead of pending) {
      const found = stored.get(lead);
      const record = found?.record ?? newRecord(model);
      // A new lead has no schedule entry to keep: undefined makes its first due time differ.
      const scheduled = found ? record.due : undefined;
      const before = found ? record.state.stage : undefined;
      const previous = found ? previousOrder(lead, record, now, model) : undefined;
      const r = applyToLead(
        record,
        items,
        byLead.get(lead)!,
        outcomes,
        now,
        model,
        historyLength,
        guard?.epoch,
      );
      if (!r.changed) continue;
      record.due = dueOf(record, now, model);
      writes.push({
        leadId: lead,
        expected: found?.version,
        record,
        // The schedule is written only when it moves: most commits leave it alone.
        ...(record.due !== scheduled ? { due: record.due } : {}),
        changes: r.changes,
        index: { before, entry: indexEntry(lead, record, now, model), previous },
      });
    }
    if (writes.length === 0) break;
    const result = await store.commit(writes, now, guard);
    recorded.push(...result.recorded);
    pending = result.conflicts;
    if (pending.length > 0) {
      conflicts += pending.length;
      opts.onConflicts?.(pending.length);
    }
  }
  return { outcomes, recorded, conflicts };
}

/**
 * Moves a shard's leads whose scheduled time has come (fading scores, expiring signals) and
 * reschedules them; several instances may run it at once. A lead whose schedule was stale (it
 * changed since) is only rescheduled; a lead that no longer exists leaves the schedule.
 */
export async function advanceDue(
  store: ScoreStore,
  shard: number,
  now: number,
  limit: number,
  opts: ScorerOptions,
  guard?: CommitGuard,
): Promise<{ leads: number; recorded: RecordedChange[]; conflicts: number }> {
  const { model, historyLength } = opts;
  let pending = await store.dueLeads(shard, now, limit);
  const leads = pending.length;
  const recorded: RecordedChange[] = [];
  let conflicts = 0;
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > (opts.maxAttempts ?? DEFAULT_ATTEMPTS)) throw conflictError(pending.length, attempt - 1);
    const stored = await store.read(pending);
    const writes: LeadWrite[] = [];
    for (const lead of pending) {
      const found = stored.get(lead);
      if (!found) {
        writes.push({ leadId: lead, expected: undefined, due: null, changes: [] });
        continue;
      }
      const record = found.record;
      const before = record.state.stage;
      const previous = previousOrder(lead, record, now, model);
      const r = advanceLead(record, lead, now, model, historyLength, guard?.epoch);
      const due = dueOf(record, now, model);
      // The schedule entry is what brought us here: always write it, so that a lead whose
      // time-driven change is not due after all leaves the due set or moves in it. The record
      // is written when it changed, its due time included (the record and the schedule agree).
      const rewrite = r.changed || due !== record.due;
      record.due = due;
      writes.push({
        leadId: lead,
        expected: found.version,
        ...(rewrite
          ? { record, index: { before, entry: indexEntry(lead, record, now, model), previous } }
          : {}),
        due,
        changes: r.changes,
      });
    }
    const result = await store.commit(writes, now, guard);
    recorded.push(...result.recorded);
    pending = result.conflicts;
    if (pending.length > 0) {
      conflicts += pending.length;
      opts.onConflicts?.(pending.length);
    }
  }
  return { leads, recorded, conflicts };
}

function conflictError(leads: number, rounds: number): LeadScorerError {
  return new LeadScorerError(
    'STATE_CONFLICT',
    `${leads} lead(s) changed by other writers in each of ${rounds} rounds; retrying the batch`,
    { details: { leads, rounds } },
  );
}
