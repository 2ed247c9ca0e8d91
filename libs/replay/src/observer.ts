import type { InputTopicName, LeadOutcome } from '@leadscorer/contracts';
import type { ItemOutcome, LeadRecord, StageChangeRecord } from '@leadscorer/core';
import type { EventEffect, ScoringEvent } from '@leadscorer/engine';

/**
 * What an evaluation sees while a replay runs, in replay order: every event as it is applied,
 * every outcome with its lead as it is at that moment (so a score *before* the outcome can be
 * read: `scoresAt(step.record.state, step.now, model)`), and every stage change, from events and
 * from time. The step objects are reused from one call to the next (a replay makes millions):
 * read what you need during the call, copy what you keep. `record` is the live record the replay
 * goes on changing; copy its state (`copyState`) to keep a moment.
 */
export interface EventStep {
  leadId: string;
  topic: InputTopicName;
  partition: number;
  offset: number;
  /** Replay time: the Kafka timestamp, never below an earlier one of the partition. */
  time: number;
  /** The `now` it was applied at. */
  now: number;
  event: ScoringEvent;
  effect: EventEffect;
  /** 'applied', 'duplicate' (event id seen before) or 'filtered' (machine activity). */
  outcome: ItemOutcome;
  /** The lead after the event. */
  record: LeadRecord;
}

export interface OutcomeStep {
  leadId: string;
  partition: number;
  offset: number;
  time: number;
  now: number;
  outcome: LeadOutcome;
  /** The lead at that moment; undefined when no event of it came before. */
  record: LeadRecord | undefined;
}

export interface ReplayObserver {
  event?(step: EventStep): void;
  outcome?(step: OutcomeStep): void;
  /** A stage change as it is recorded (the lead's history has it first), and the lead after it. */
  stageChange?(change: StageChangeRecord, record: LeadRecord): void;
}

/** The two reusable step objects of one replay (every field set before each call). */
export function steps(): { event: EventStep; outcome: OutcomeStep } {
  return {
    event: {
      leadId: '',
      topic: 'engagement.web-visit.v1',
      partition: 0,
      offset: 0,
      time: 0,
      now: 0,
      event: undefined as unknown as ScoringEvent,
      effect: undefined as unknown as EventEffect,
      outcome: 'applied',
      record: undefined as unknown as LeadRecord,
    },
    outcome: {
      leadId: '',
      partition: 0,
      offset: 0,
      time: 0,
      now: 0,
      outcome: undefined as unknown as LeadOutcome,
      record: undefined,
    },
  };
}
