/**
 * The engine's words for events, effects, states and stage changes: the leaf of the engine's
 * module graph (it imports nothing). `ScoringEvent` is fixed by docs/design-notes.md (the contracts
 * library maps decoded Avro records to it); the rest is the engine's own. Effects and transitions
 * are plain data (numbers, strings, short arrays): they are logged, stored in the outbox as JSON
 * and compared by tests.
 */

export type EventType = 'web' | 'email' | 'trial' | 'profile' | 'sales';
export const EVENT_TYPES: readonly EventType[] = ['web', 'email', 'trial', 'profile', 'sales'];

export type PropValue = string | number | boolean | null;

export interface ScoringEvent {
  /** Producer-assigned, unique per event; duplicates carry the same id. */
  eventId: string;
  leadId: string;
  /** Epoch milliseconds. */
  eventTime: number;
  type: EventType;
  /** The Avro record's own fields, flat; nested records flattened with a dot (`bant.budget`). */
  props: Record<string, PropValue>;
}

/** Why an event was recognised as machine activity and scored nothing. */
export type FilterReason = 'email-too-soon' | 'email-proxy-agent' | 'web-bot';

export type SalesKind = 'accepted' | 'rejected' | 'reopened';

/**
 * Everything `evaluateEvent` can decide from the event and the model alone: plain data naming
 * rules by id, so it can be computed once per event and applied to a state read later (and again,
 * when a compare-and-set commit finds the lead changed meanwhile).
 */
export interface EventEffect {
  eventId: string;
  /** The event's type: whose dedupe ring it is checked against and enters. */
  type: EventType;
  /**
   * The dedupe ring entry: a 32-bit hash of the event id as 8 hex characters (FNV-1a over its
   * UTF-16 code units, finished with MurmurHash3's fmix32; see ids.ts `eventHash`).
   */
  hash: string;
  eventTime: number;
  /** Set when the event is machine activity: nothing else below is set then. */
  filtered?: FilterReason;
  /**
   * Ids of all matching rules except fit rules, in model order. Rules without points (signal or
   * disqualify only) are listed too, so a stage change can name them as its cause.
   */
  hits: string[];
  /** Profile events only: ids of all matching fit rules (possibly none), in model order. */
  fit?: string[];
  /** Signal names raised by matching rules, each once. */
  signals: string[];
  /** Id of the first matching rule with `disqualify: true`. */
  disqualify?: string;
  /** Sales events with a known verdict. */
  sales?: { kind: SalesKind; bantPassed: boolean };
}

/**
 * The per-lead state in its documented, model-independent form, keyed by rule ids: what
 * `stateView` returns, `stateFromView` reads, the Redis codec produces and tests compare. The
 * engine itself works on `LeadState` (state.ts), the same content packed into one list of numbers.
 * Empty lists and maps are left out rather than stored empty. See docs/model.md, "State layout".
 */
export interface LeadStateView {
  /** Current stage name (a ladder stage or 'disqualified'). */
  stage: string;
  /** Number of stage transitions so far; the next transition carries seq + 1. */
  seq: number;
  /**
   * Dedupe rings, one per event type: the 8-char hashes of that type's last applied event ids,
   * concatenated, oldest first. Types with no applied event are left out.
   */
  ring: Partial<Record<EventType, string>>;
  /** Ids of the decaying rules that have scored. */
  ci?: string[];
  /** Contribution of ci[i]: value v at index 2i, its reference time t (ms) at 2i + 1. */
  cv?: number[];
  /** Ids of the capped rules that have scored. */
  ki?: string[];
  /** Cap window of ki[i]: [window index w, scoring hit times in it ascending (1..cap.hits)]. */
  kw?: number[][];
  /** Signals: name -> latest event time. */
  sig?: Record<string, number>;
  /** Latest profile: event time, event hash (tie-break) and matching fit rule ids (absent if none). */
  fit?: { t: number; h: string; r?: string[] };
  /** Latest sales verdict: kind, event time, event hash (tie-break), BANT passed. */
  sales?: { k: SalesKind; t: number; h: string; b: boolean };
  /** Latest event time of a disqualifying rule hit. */
  dq?: number;
}

export type CauseKind =
  | 'rule'
  | 'threshold'
  | 'sales-verdict'
  | 'disqualified'
  | 'reopened'
  | 'decay'
  | 'signal-expired'
  /** A rescore: the lead's stage under the new model differs from the one published (rebase). */
  | 'model-change';

export interface StageCause {
  kind: CauseKind;
  ruleId?: string;
  /** Human-readable, e.g. "engagement 42.1 >= 40". */
  detail: string;
}

export interface StageTransition {
  from: string;
  to: string;
  /** Scores at the evaluation time `now`, by dimension. */
  scores: Record<string, number>;
  cause: StageCause;
  /** The triggering event; absent for time-driven changes. */
  eventId?: string;
  /** The triggering event's time, or for time-driven changes the computed crossing time. */
  eventTime: number;
  /** The lead's new sequence number (previous state.seq + 1). */
  seq: number;
  /**
   * Why, in short: the rules contributing most to the lead's scores at `now` (largest absolute
   * points first, at most TOP_RULES), each with its points now: decayed for a behaviour rule, as
   * scored for a fit rule. So a salesperson sees why without asking the read API.
   */
  topRules: RuleContribution[];
}

/** A rule's share of a lead's scores at some moment. */
export interface RuleContribution {
  ruleId: string;
  dimension: string;
  /** Points now, rounded to 1e-6. */
  points: number;
}
