import type { Test } from './matchers.ts';
import type { EventType, PropValue } from './types.ts';

/**
 * The compiled model's vocabulary: what `loadModel` returns and every engine function reads.
 * Kept apart from model.ts (the loader) and layout.ts (the state layout) so that no module of
 * the engine imports one that imports it back.
 */

/** A validated, compiled model: what every engine function takes. Treat as read-only. */
export interface Model {
  version: string;
  /** In file order; `index` is the position used by per-dimension score arrays. */
  dimensions: Dimension[];
  /** All rules in file order. */
  rules: Rule[];
  ruleById: ReadonlyMap<string, Rule>;
  /** Rules by event type, in file order: evaluateEvent only looks at these. */
  rulesByType: Readonly<Record<EventType, Rule[]>>;
  /** Per event type, the names of the properties its rules test, each once. */
  propsByType: Readonly<Record<EventType, string[]>>;
  /** Lowest first; `disqualified` is outside it. */
  ladder: Stage[];
  dedupeWindow: number;
  bantMinPassed: number;
  machine: { emailMinMsAfterDelivery: number; emailProxyAgents?: RegExp; webBotAgents?: RegExp };
  /** Where each part of a lead's state lives in its list of numbers (state.ts). */
  layout: Layout;
  /**
   * Every score threshold of the ladder as parallel lists (dimension index, threshold, margin
   * 1e-7 * max(1, |threshold|)), for stage.ts's `nearThreshold`.
   */
  thresholds: { dim: Int32Array; gte: Float64Array; margin: Float64Array };
}

export interface Dimension {
  name: string;
  index: number;
  /** Null when the dimension does not decay (fit). */
  halfLifeMs: number | null;
}

export interface Rule {
  id: string;
  /** Position in `Model.rules`. */
  index: number;
  description: string;
  type: EventType;
  /** Whether an event's props satisfy the rule's `where` (for tools and tests). */
  matches: (props: Record<string, PropValue>) => boolean;
  /**
   * The same checks for evaluateEvent's fast path: check i tests the value of the property at
   * `checkProps[i]` in the rule's event type's `Model.propsByType` list.
   */
  checkProps: Int32Array;
  checkTests: Test[];
  /** Undefined for rules that only raise a signal or disqualify. */
  dimension?: Dimension;
  points: number;
  /** True for profile rules: they score a non-decaying dimension and are replaced, not added. */
  fit: boolean;
  cap?: { hits: number; windowMs: number };
  signal?: string;
  disqualify: boolean;
}

export type Condition =
  | { kind: 'score'; dimension: Dimension; gte: number }
  /** `at`: the signal's slot in the state's numbers (the model's layout). */
  | { kind: 'signal'; signal: string; withinMs: number; at: number }
  | { kind: 'salesQualified' };

export interface Stage {
  name: string;
  index: number;
  enter: Condition[];
  stay: Condition[];
}

export const DISQUALIFIED = 'disqualified';

/**
 * Offsets into `LeadState.n`. Slot contents:
 * - per event type (EVENT_TYPES order) a dedupe ring [count, next, hash_0 .. hash_{W-1}], a
 *   circular buffer of the 32-bit hashes of that type's last W applied events;
 * - per decaying dimension: its running total [S, T] (see `runningScores` in stage.ts);
 * - sales: [kind code, t, h, bant passed]; dq: [t];
 * - per signal name: latest time, NaN if never seen;
 * - fit: [t, h, count, rule index_1 .. rule index_count] (room for every fit rule of the model),
 *   t NaN without a profile: the model positions of the fit rules the latest profile matched;
 * - per decaying rule (model order): [v, t], t NaN while the rule has not scored, followed for a
 *   capped rule by its cap window [w, count, hit_1 .. hit_N], count 0 while it has no window.
 */
export interface Layout {
  /** Identifies the layout: models with equal keys share one Layout object. */
  key: string;
  /** Rule ids in model order: what the per-rule offsets below are indexed by. */
  ruleIds: readonly string[];
  /** Dedupe ring entries kept per event type. */
  window: number;
  /** Per event type index (EVENT_TYPES order): offset of its dedupe ring. */
  ringAt: Int32Array;
  /**
   * Per dimension index: offset of its running total [S, T] (S the sum of its contributions at
   * reference time T, T NaN while it has none), or -1 when the dimension does not decay.
   */
  totalAt: Int32Array;
  /** Per dimension index: its half-life (ms), 0 when it does not decay. */
  totalHalfLife: Float64Array;
  /** Per rule index: offset of [v, t], or -1 when the rule keeps no contribution. */
  valueAt: Int32Array;
  /** Per rule index: offset of [w, count, hits...], or -1 when the rule has no cap. */
  capAt: Int32Array;
  capHits: Int32Array;
  /** Decaying rules in model order, as parallel lists: value offset, dimension index, half-life. */
  decaying: { at: Int32Array; dim: Int32Array; halfLife: Float64Array };
  signalAt: ReadonlyMap<string, number>;
  fitAt: number;
  salesAt: number;
  dqAt: number;
  /** A fresh state's numbers: copied, never written. */
  template: readonly number[];
}
