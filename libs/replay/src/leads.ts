import {
  type ApplyItem,
  advanceLead,
  applyItem,
  type ItemOutcome,
  type LeadRecord,
  newRecord,
  type StageChangeRecord,
} from '@leadscorer/core';
import { type Model, mayChangeByTime, movesByTime, nextChangeAt } from '@leadscorer/engine';

/**
 * The leads' records in memory, and the two things that change them, the way the live services
 * do: an event (the scoring core's applyItem: offset watermark, engine in place, history), and,
 * when `timeDriven`, what fading-leads does between events: a lead whose stage changes by time
 * alone (a score fading below a stay threshold, a signal expiring) is moved at the computed
 * moment, before its next event or outcome is looked at. Before each event the engine says
 * cheaply whether time moved the lead at all (movesByTime); only then is the moment predicted.
 */
interface Slot {
  record: LeadRecord;
  /** The `now` the record was last changed at. */
  lastNow: number;
  /** Whether record.due is the prediction for the current state. */
  dueKnown: boolean;
}

export class LeadTable {
  readonly slots = new Map<string, Slot>();
  /** The record the last apply() worked on (no object per call on the hot path). */
  record: LeadRecord | undefined;
  private readonly model: Model;
  private readonly historyLength: number;
  private readonly timeDriven: boolean;

  /** Collects applyItem's stage changes; emptied into onChange after each call. */
  private readonly changes: StageChangeRecord[] = [];
  private readonly onChange: (change: StageChangeRecord, record: LeadRecord) => void;

  constructor(
    model: Model,
    historyLength: number,
    timeDriven: boolean,
    onChange: (change: StageChangeRecord, record: LeadRecord) => void,
  ) {
    this.model = model;
    this.historyLength = historyLength;
    this.timeDriven = timeDriven;
    this.onChange = onChange;
  }

  private report(record: LeadRecord): void {
    const changes = this.changes;
    for (let i = 0; i < changes.length; i++) this.onChange(changes[i]!, record);
    changes.length = 0;
  }

  get(leadId: string): LeadRecord | undefined {
    return this.slots.get(leadId)?.record;
  }

  /** Applies an event at `now`; `record` is then the lead's record. */
  apply(item: ApplyItem, now: number): ItemOutcome {
    let slot = this.slots.get(item.leadId);
    if (slot === undefined) {
      slot = { record: newRecord(this.model), lastNow: now, dueKnown: true };
      this.record = slot.record;
      const outcome = applyItem(slot.record, item, now, this.model, this.historyLength, this.changes);
      // As a live service stores nothing for a lead whose only events are machine activity.
      if (outcome === 'filtered') return outcome;
      this.slots.set(item.leadId, slot);
      slot.dueKnown = false;
      if (this.changes.length > 0) this.report(slot.record);
      return outcome;
    }
    if (this.timeDriven) this.advance(slot, item.leadId, now);
    this.record = slot.record;
    const outcome = applyItem(slot.record, item, now, this.model, this.historyLength, this.changes);
    if (outcome === 'applied') {
      slot.lastNow = now;
      slot.dueKnown = false;
      if (this.changes.length > 0) this.report(slot.record);
    }
    return outcome;
  }

  /** The lead as it is at `now` (time-driven changes due by then made), if it has a record. */
  at(leadId: string, now: number): LeadRecord | undefined {
    const slot = this.slots.get(leadId);
    if (slot && this.timeDriven) this.advance(slot, leadId, now);
    return slot?.record;
  }

  /**
   * Ends the replay: with `finishAt`, makes the time-driven changes due by then; sets every
   * record's `due` (its next time-driven change, null if none), as the live services keep it.
   */
  finish(finishAt: number | undefined): Map<string, LeadRecord> {
    const out = new Map<string, LeadRecord>();
    for (const [lead, slot] of this.slots) {
      if (finishAt !== undefined && this.timeDriven) this.advance(slot, lead, finishAt);
      this.predict(slot);
      out.set(lead, slot.record);
    }
    return out;
  }

  private predict(slot: Slot): void {
    if (slot.dueKnown) return;
    const { record } = slot;
    record.due = mayChangeByTime(record.state, this.model)
      ? nextChangeAt(record.state, slot.lastNow, this.model)
      : null;
    slot.dueKnown = true;
  }

  /** The moves fading-leads makes up to `now`, each at its computed time. */
  private advance(slot: Slot, leadId: string, now: number): void {
    const { record } = slot;
    if (!slot.dueKnown) {
      // Most of the time nothing moved: find that out without predicting when something would.
      if (!movesByTime(record.state, slot.lastNow, now, this.model)) return;
      this.predict(slot);
    }
    while (record.due !== null && record.due <= now) {
      const at = record.due;
      const r = advanceLead(record, leadId, at, this.model, this.historyLength);
      for (const c of r.changes) this.onChange(c, record);
      slot.lastNow = at;
      slot.dueKnown = false;
      this.predict(slot);
      // The prediction said the stage differs at `at`; if it did not, never loop on it.
      if (!r.changed) break;
    }
  }
}
