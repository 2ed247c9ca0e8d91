import {
  advanceTo,
  applyEffect,
  type EventEffect,
  initialState,
  type Model,
  nextChangeAt,
  rebase,
  type StageTransition,
} from '@leadscorer/engine';
import { historyEntry, type LeadRecord, type StageChangeRecord } from './records.ts';

/**
 * The pure part of applying a chunk of events: per lead, the offset watermarks (Kafka
 * redelivery), the engine (`applyEffect` in place, the ladder), the lead's history and its next
 * time-driven change. No I/O: scorer.ts reads the records, runs this, and commits the result.
 */

/** One event to apply: the effect the engine evaluated, and where it came from in Kafka. */
export interface ApplyItem {
  leadId: string;
  /** Offset-watermark source, e.g. "w3" (records.ts sourceId). */
  source: string;
  offset: number;
  effect: EventEffect;
  /**
   * W3C `traceparent` of the span that applies this event (observability only): a stage change
   * it causes carries it into the outbox, so the publish continues the event's trace.
   */
  trace?: string;
}

/** `redelivered`: at or below its source's offset watermark, applied before. */
export type ItemOutcome = 'applied' | 'redelivered' | 'duplicate' | 'filtered';

export function newRecord(model: Model): LeadRecord {
  return { state: initialState(model), offsets: new Map(), history: [], due: null };
}

export interface LeadResult {
  /** Whether the record changed and must be written. */
  changed: boolean;
  changes: StageChangeRecord[];
}

/**
 * Applies `items[at[0]], items[at[1]], ...` (one lead's events, in partition order) to `record`
 * in place and writes each event's outcome into `outcomes` at the same positions. An event at or
 * below its source's watermark is skipped. Machine activity changes nothing and moves no
 * watermark (applying it again changes nothing either).
 */
export function applyToLead(
  record: LeadRecord,
  items: readonly ApplyItem[],
  at: readonly number[],
  outcomes: ItemOutcome[],
  now: number,
  model: Model,
  historyLength: number,
  epoch?: string,
): LeadResult {
  let changed = false;
  const changes: StageChangeRecord[] = [];
  for (const i of at) {
    const outcome = applyItem(record, items[i]!, now, model, historyLength, changes, epoch);
    outcomes[i] = outcome;
    if (outcome === 'applied' || outcome === 'duplicate') changed = true;
  }
  return { changed, changes };
}

/**
 * Applies one event to `record` in place: skipped at or below its source's watermark
 * ('redelivered'); machine activity changes nothing and moves no watermark (applying it again
 * changes nothing either); anything else moves the watermark. A stage change is appended to
 * `changes` and to the record's history. What applyToLead does per event; replays call it
 * directly, event by event, in their own order.
 */
export function applyItem(
  record: LeadRecord,
  item: ApplyItem,
  now: number,
  model: Model,
  historyLength: number,
  changes: StageChangeRecord[],
  epoch?: string,
): ItemOutcome {
  const mark = record.offsets.get(item.source);
  if (mark !== undefined && item.offset <= mark) return 'redelivered';
  const r = applyEffect(record.state, item.effect, now, model, { inPlace: true });
  // Machine activity changes nothing, now or when applied again: no write for it.
  if (r.outcome === 'filtered') return r.outcome;
  // A duplicate moves the watermark too: once its original has left the dedupe ring, only
  // the watermark keeps a redelivery of this very message from counting.
  record.offsets.set(item.source, item.offset);
  if (r.outcome !== 'applied') return r.outcome;
  record.state = r.state;
  if (r.transition) {
    const change = recordChange(record, item.leadId, r.transition, now, model, historyLength, epoch);
    if (item.trace !== undefined) change.trace = item.trace;
    changes.push(change);
  }
  return r.outcome;
}

/**
 * Re-evaluates a lead at `now` with no new event (a score faded below an exit threshold, a
 * signal expired): what the fading loop runs when the lead's scheduled time has come.
 */
export function advanceLead(
  record: LeadRecord,
  leadId: string,
  now: number,
  model: Model,
  historyLength: number,
  epoch?: string,
): LeadResult {
  const r = advanceTo(record.state, now, model);
  if (!r.transition) return { changed: false, changes: [] };
  record.state = r.state;
  return {
    changed: true,
    changes: [recordChange(record, leadId, r.transition, now, model, historyLength, epoch)],
  };
}

/** The lead's next time-driven change as the engine predicts it at `now`. */
export function dueOf(record: LeadRecord, now: number, model: Model): number | null {
  return nextChangeAt(record.state, now, model);
}

/**
 * A lead's record rebuilt under a model (a rescore), continued from what was published before:
 * `previous` is the record the old generation holds (undefined: the lead was never published, it
 * starts from the ladder's first stage at sequence 0). The rebuilt state keeps its scores and
 * watermarks; its sequence continues the published one, its history is the published history,
 * and a stage that differs from the published one is a stage change with cause `model-change`
 * (the engine's `rebase`), recorded like any other.
 */
export function rebaseLead(
  rebuilt: LeadRecord,
  lead: string,
  previous: LeadRecord | undefined,
  now: number,
  model: Model,
  historyLength: number,
  epoch: string | undefined,
): { record: LeadRecord; change?: StageChangeRecord } {
  const published = previous
    ? { stage: previous.state.stage, seq: previous.state.seq }
    : { stage: model.ladder[0]!.name, seq: 0 };
  const r = rebase(rebuilt.state, published, now, model);
  const record: LeadRecord = {
    state: r.state,
    offsets: rebuilt.offsets,
    history: previous ? previous.history.map((h) => ({ ...h })) : [],
    due: rebuilt.due,
  };
  if (!r.transition) return { record };
  return { record, change: recordChange(record, lead, r.transition, now, model, historyLength, epoch) };
}

function recordChange(
  record: LeadRecord,
  lead: string,
  transition: StageTransition,
  now: number,
  model: Model,
  historyLength: number,
  epoch: string | undefined,
): StageChangeRecord {
  record.history.unshift(historyEntry(transition, now));
  if (record.history.length > historyLength) record.history.length = historyLength;
  const change: StageChangeRecord = { ...transition, lead, modelVersion: model.version, at: now };
  if (epoch !== undefined && epoch !== '0') change.epoch = epoch;
  return change;
}
