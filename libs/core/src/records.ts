import type { LeadState, StageCause, StageTransition } from '@leadscorer/engine';

/**
 * What the system keeps per lead besides the engine's state, and the stage changes it records.
 * Plain data: the store adapters persist it (libs/store has the compact Redis form), replays keep
 * it in memory.
 */

/** A stage change as recorded in the outbox: the engine's transition plus who, which model and when. */
export interface StageChangeRecord extends StageTransition {
  lead: string;
  modelVersion: string;
  /** The state epoch it was recorded in (core state.ts); absent: the genesis epoch. */
  epoch?: string;
  /** Evaluation time: the `now` the change was decided at. */
  at: number;
  /**
   * W3C `traceparent` (55 characters) of the commit that recorded it, when its event carried a
   * trace: the publish continues that trace. Observability only; never part of the change's id.
   */
  trace?: string;
}

/** A stage change as the lead's history keeps it (newest first, a few of them). */
export interface HistoryEntry {
  seq: number;
  from: string;
  to: string;
  cause: StageCause;
  /** The triggering event's time, or the computed crossing time of a time-driven change. */
  eventTime: number;
  /** When it was decided. */
  at: number;
}

export interface LeadRecord {
  state: LeadState;
  /**
   * Offset watermark per source (input topic code and partition, e.g. "w3"): the highest Kafka
   * offset applied to this lead from there. A redelivered message is at or below it.
   */
  offsets: Map<string, number>;
  /** The last stage changes, newest first (at most the store's history length). */
  history: HistoryEntry[];
  /**
   * When the lead's next time-driven stage change is scheduled (epoch ms), or null when time
   * alone changes nothing. Kept with the state so a commit touches the schedule only when it moves.
   */
  due: number | null;
}

/** How many stage changes a lead's history keeps. */
export const HISTORY_LENGTH = 5;

/**
 * The letter of each event type in offset-watermark sources. Part of the stored records: a source
 * names the topic a message came from, so a letter must never be reused for another type.
 */
export const TYPE_CODES: Readonly<Record<string, string>> = {
  web: 'w',
  email: 'e',
  trial: 't',
  profile: 'p',
  sales: 's',
};

/** The offset-watermark source of a message: event type letter and partition, e.g. "w3". */
export function sourceId(topicCode: string, partition: number): string {
  return `${topicCode}${partition}`;
}

export function historyEntry(change: StageTransition, at: number): HistoryEntry {
  return {
    seq: change.seq,
    from: change.from,
    to: change.to,
    cause: change.cause,
    eventTime: change.eventTime,
    at,
  };
}
