import type { RecordByTopic, TopicName } from '@leadscorer/contracts';
import { mapToScoringEvent } from '@leadscorer/contracts';
import type { ScoringEvent } from '@leadscorer/engine';

/**
 * What an evaluation reads: a time-ordered stream of history items, the scoring events the
 * engine scores and the outcomes sales recorded. The evaluation defines this input rather than
 * reading an archive itself, so that any reader (the JSONL loader here, the seeded demo, an
 * archive reader) can feed it.
 */

/** How an opportunity ended. lead.outcome.v1's UNKNOWN is no outcome and never becomes one. */
export type OutcomeResult = 'WON' | 'LOST';

export interface Outcome {
  eventId: string;
  leadId: string;
  /** When the opportunity closed (the record's eventTime), epoch ms. */
  time: number;
  result: OutcomeResult;
  amount: number | null;
  currency: string | null;
}

/**
 * `at` is when the live system learnt of the item: the record's Kafka timestamp, else its event
 * time. Items must come in non-decreasing `at`; events are applied with `now = at`, as the live
 * services would have applied them on arrival.
 */
export type HistoryItem =
  | { kind: 'event'; at: number; event: ScoringEvent }
  | { kind: 'outcome'; at: number; outcome: Outcome };

/**
 * One record of a topic as a tool writes it: the topic's logical name, the Kafka timestamp
 * (optional) and the decoded record (docs/evaluation.md, "History files").
 */
export interface TopicRecord<T extends TopicName = TopicName> {
  topic: T;
  timestamp?: number;
  record: RecordByTopic[T];
}

/**
 * The history item a topic record stands for, or null for what the evaluation does not read:
 * stage changes (the evaluation computes its own) and outcomes whose result is UNKNOWN.
 */
export function historyItem(r: TopicRecord): HistoryItem | null {
  if (r.topic === 'lead.stage.v1') return null;
  const at = r.timestamp ?? (r.record as { eventTime: number }).eventTime;
  if (r.topic === 'lead.outcome.v1') {
    const o = r.record as RecordByTopic['lead.outcome.v1'];
    if (o.result !== 'WON' && o.result !== 'LOST') return null;
    return {
      kind: 'outcome',
      at,
      outcome: {
        eventId: o.eventId,
        leadId: o.leadId,
        time: o.eventTime,
        result: o.result,
        amount: o.amount,
        currency: o.currency,
      },
    };
  }
  // The topic decides the record's type; the union of the two cannot say so.
  const event = mapToScoringEvent(r.topic, r.record as never);
  return event === null ? null : { kind: 'event', at, event };
}

/** Sorts by `at`, keeping the given order among equal times (Array.prototype.sort is stable). */
export function byArrival(items: HistoryItem[]): HistoryItem[] {
  return items.sort((a, b) => a.at - b.at);
}
