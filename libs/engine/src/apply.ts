import { evaluateEvent } from './evaluate.ts';
import { topContributions } from './explain.ts';
import { type Condition, DISQUALIFIED, type Model } from './model-types.ts';
import {
  decay,
  decidingConditions,
  describeConditions,
  dimensionScores,
  ladderStage,
  nearThreshold,
  q,
  runningScores,
  scoreRecord,
} from './stage.ts';
import {
  bind,
  copyState,
  hashNumber,
  type LeadState,
  newState,
  ringHas,
  ringPush,
  SALES_CODE,
  salesKind,
  setFitRules,
  syncTotals,
} from './state.ts';
import {
  EVENT_TYPES,
  type EventEffect,
  type EventType,
  type FilterReason,
  type ScoringEvent,
  type StageCause,
  type StageTransition,
} from './types.ts';

const TYPE_INDEX = Object.fromEntries(EVENT_TYPES.map((t, i) => [t, i])) as Record<EventType, number>;

/**
 * The stateful part, O(1) in the number of events a lead has had. The services run it on the
 * state they read from Redis and commit the result with a compare-and-set; replays run it on
 * states in memory. docs/model.md spells out every step.
 */

export type ApplyOutcome = 'applied' | 'duplicate' | 'filtered';

export interface ApplyResult {
  /** The new state; on 'duplicate' and 'filtered' the input state unchanged (nothing to store). */
  state: LeadState;
  outcome: ApplyOutcome;
  transition?: StageTransition;
  /** Set when outcome is 'filtered'. */
  reason?: FilterReason;
  /** Ids of matching capped rules whose hit did not score (cap reached or older window). */
  capped?: string[];
}

export function initialState(model: Model): LeadState {
  return newState(model);
}

export interface ApplyOptions {
  /**
   * Update the given state in place instead of returning a new one. For callers that keep only
   * the latest state of each lead, such as an offline replay of an event log: it saves a copy of
   * the state's numbers per event, and most of the garbage. Default false.
   */
  inPlace?: boolean;
}

/** `applyEffect(state, evaluateEvent(model, event), now, model, options)`. */
export function applyEvent(
  state: LeadState | undefined,
  event: ScoringEvent,
  now: number,
  model: Model,
  options?: ApplyOptions,
): ApplyResult {
  return applyEffect(state, evaluateEvent(model, event), now, model, options);
}

/**
 * Applies one evaluated event to a lead's state. By default the input state is not modified: the
 * result's state is a new object. A state laid out for another model is converted first.
 */
export function applyEffect(
  state: LeadState | undefined,
  effect: EventEffect,
  now: number,
  model: Model,
  options?: ApplyOptions,
): ApplyResult {
  const prev = state === undefined ? newState(model) : bind(state, model);
  if (effect.filtered) return result(prev, 'filtered', effect.filtered, undefined);
  const layout = prev.layout;
  const h = hashNumber(effect.hash);
  // Each event type has its own ring: an original stays in it however many events of other
  // types (other services, at other speeds) the lead gets before its duplicate comes.
  const ring = layout.ringAt[TYPE_INDEX[effect.type]]!;
  if (ringHas(prev.n, ring, h)) return result(prev, 'duplicate', undefined, undefined);

  // An event from the future (producer clock skew) counts as happening now.
  const te = Math.min(effect.eventTime, now);
  const from = prev.stage;
  const next = options?.inPlace === true || prev !== state ? prev : copyState(prev);
  const n = next.n;
  ringPush(n, ring, layout.window, h);
  let capped: string[] | undefined;
  const hits = effect.hits;
  for (let i = 0; i < hits.length; i++) {
    const rule = model.ruleById.get(hits[i]!);
    // A signal/disqualify-only rule, or a rule this model does not have.
    if (rule === undefined) continue;
    const at = layout.valueAt[rule.index]!;
    if (at < 0) continue;
    const halfLife = rule.dimension!.halfLifeMs!;
    const total = layout.totalAt[rule.dimension!.index]!;
    const cap = layout.capAt[rule.index]!;
    if (cap >= 0) {
      const replaced = capHit(n, cap, layout.capHits[rule.index]!, te, rule.cap!.windowMs);
      if (replaced === NOT_SCORED) {
        capped = capped ? [...capped, rule.id] : [rule.id];
        continue;
      }
      if (!Number.isNaN(replaced)) addPoints(n, at, total, -rule.points, replaced, halfLife);
    }
    addPoints(n, at, total, rule.points, te, halfLife);
  }
  const signals = effect.signals;
  for (let i = 0; i < signals.length; i++) {
    const at = layout.signalAt.get(signals[i]!);
    if (at === undefined) setForeignSignal(next, signals[i]!, te);
    else n[at] = latest(n[at]!, te);
  }
  if (effect.disqualify) n[layout.dqAt] = latest(n[layout.dqAt]!, te);
  const fit = layout.fitAt;
  if (effect.fit && newer(te, h, n[fit]!, n[fit + 1]!)) {
    n[fit] = te;
    n[fit + 1] = h;
    next.fitRules = effect.fit.length > 0 ? effect.fit.slice() : undefined;
    setFitRules(n, layout, effect.fit, model);
  }
  const sa = layout.salesAt;
  if (effect.sales && newer(te, h, n[sa + 1]!, n[sa + 2]!)) {
    n[sa] = SALES_CODE[effect.sales.kind];
    n[sa + 1] = te;
    n[sa + 2] = h;
    n[sa + 3] = effect.sales.bantPassed ? 1 : 0;
  }

  // The running totals decide; the exact per-rule sums (what a transition publishes, and what
  // explanations and nextChangeAt use) are computed only for a change or a score at a threshold's doorstep.
  let scores = runningScores(next, now, model);
  let to = ladderStage(next, scores, now, model);
  if (to !== from || nearThreshold(scores, model)) {
    scores = dimensionScores(next, now, model);
    to = ladderStage(next, scores, now, model);
    syncTotals(n, layout);
  }
  const applied = result(next, 'applied', undefined, capped);
  if (to === from) return applied;
  next.stage = to;
  next.seq = prev.seq + 1;
  applied.transition = {
    from,
    to,
    scores: scoreRecord(scores, model),
    cause: eventCause(from, to, next, effect, capped, scores, now, model),
    eventId: effect.eventId,
    eventTime: effect.eventTime,
    seq: next.seq,
    topRules: topContributions(next, now, model),
  };
  return applied;
}

/** Every result has every field, in one order (undefined when not set): one object shape. */
function result(
  state: LeadState,
  outcome: ApplyResult['outcome'],
  reason: ApplyResult['reason'],
  capped: string[] | undefined,
): ApplyResult {
  return { state, outcome, transition: undefined, reason, capped };
}

/** The later of a register's time (NaN when unset) and t. */
function latest(stored: number, t: number): number {
  return !Number.isNaN(stored) && stored > t ? stored : t;
}

function setForeignSignal(s: LeadState, name: string, t: number): void {
  const sig = { ...s.foreign?.sig };
  sig[name] = Math.max(sig[name] ?? t, t);
  s.foreign = { ...s.foreign, sig };
}

/**
 * Adds p points earned at te to the rule's contribution (value v at reference time t, in n[at]
 * and n[at + 1]): an older point is decayed to t; a newer one first moves the reference to te.
 * The dimension's running total [S, T] at n[total] follows: it moves its reference forward to
 * te when te is newer, then takes the contribution's change, decayed to T. Every power of two
 * here has an exponent <= 0, so nothing overflows however far apart the times are.
 */
function addPoints(n: number[], at: number, total: number, p: number, te: number, halfLife: number): void {
  let T = n[total + 1]!;
  if (Number.isNaN(T)) {
    n[total] = 0;
    n[total + 1] = T = te;
  } else if (te > T) {
    n[total] = n[total]! * decay(te, T, halfLife);
    n[total + 1] = T = te;
  }
  const t = n[at + 1]!;
  const v = n[at]!;
  if (Number.isNaN(t)) {
    const v1 = q(p);
    n[at] = v1;
    n[at + 1] = te;
    n[total] = n[total]! + (te === T ? v1 : v1 * decay(T, te, halfLife));
  } else if (te <= t) {
    const v1 = q(v + p * decay(t, te, halfLife));
    n[at] = v1;
    n[total] = n[total]! + (t === T ? v1 - v : (v1 - v) * decay(T, t, halfLife));
  } else {
    // te > t, and T >= te: T === te unless another rule of the dimension scored later.
    const f = decay(te, t, halfLife);
    const v1 = q(v * f + p);
    n[at] = v1;
    n[at + 1] = te;
    n[total] = n[total]! + (te === T ? v1 - v * f : v1 * decay(T, te, halfLife) - v * decay(T, t, halfLife));
  }
}

/** capHit's answer for a hit that does not score; NaN means it scores and replaces nothing. */
const NOT_SCORED = -1;

/**
 * Tumbling cap windows aligned to the epoch; a window is [w, count, hit times ascending] at
 * n[at]. Within the newest window seen, the N earliest hits score whatever order they arrive
 * in: an earlier hit arriving late replaces the latest scoring one. Hits for an older window
 * never score (only the newest window is kept: bounded memory). Updates the window of a scoring
 * hit and returns the time of the hit it replaced, NaN if none, or NOT_SCORED.
 */
function capHit(n: number[], at: number, size: number, te: number, windowMs: number): number {
  const w = Math.floor(te / windowMs);
  const count = n[at + 1]!;
  // A stored window whose first hit is not in it was counted with another window size (the
  // model changed): start over rather than compare indices of different sizes.
  const stale = count > 0 && Math.floor(n[at + 2]! / windowMs) !== n[at]!;
  if (count === 0 || stale || w > n[at]!) {
    n[at] = w;
    n[at + 1] = 1;
    n[at + 2] = te;
    return Number.NaN;
  }
  if (w < n[at]!) return NOT_SCORED;
  if (count < size) {
    insertHit(n, at + 2, count, te);
    n[at + 1] = count + 1;
    return Number.NaN;
  }
  const last = n[at + 1 + count]!;
  if (te >= last) return NOT_SCORED;
  insertHit(n, at + 2, count - 1, te);
  return last;
}

/** Inserts t among the `count` ascending times at n[from], after equal ones. */
function insertHit(n: number[], from: number, count: number, t: number): void {
  let i = from + count;
  while (i > from && n[i - 1]! > t) {
    n[i] = n[i - 1]!;
    i--;
  }
  n[i] = t;
}

/** Last-writer-wins by event time; on a tie the larger event hash wins, so arrival order never matters. */
function newer(t: number, h: number, regT: number, regH: number): boolean {
  return Number.isNaN(regT) || t > regT || (t === regT && h > regH);
}

function eventCause(
  from: string,
  to: string,
  state: LeadState,
  effect: EventEffect,
  capped: string[] | undefined,
  scores: number[],
  now: number,
  model: Model,
): StageCause {
  if (to === DISQUALIFIED) {
    if (salesKind(state.n[state.layout.salesAt]!) === 'rejected')
      return { kind: 'sales-verdict', detail: 'sales verdict rejected' };
    const ruleId = effect.disqualify;
    if (ruleId) return { kind: 'disqualified', ruleId, detail: `rule ${ruleId} disqualifies` };
    return { kind: 'disqualified', detail: 'a disqualifying event is newer than the sales verdict' };
  }
  const { conditions, up } = decidingConditions(from, to, scores, state, now, model);
  const detail = describeConditions(conditions, up, scores, state);
  if (from === DISQUALIFIED && effect.sales) {
    const kind = effect.sales.kind === 'reopened' ? 'reopened' : 'sales-verdict';
    return { kind, detail: `sales verdict ${effect.sales.kind}` + (detail ? `; ${detail}` : '') };
  }
  if (effect.sales && conditions.some((c) => c.kind === 'salesQualified')) {
    return { kind: 'sales-verdict', detail: detail || `sales verdict ${effect.sales.kind}` };
  }
  const ruleId = relevantRule(effect, conditions, up, capped, model);
  if (ruleId) return { kind: 'rule', ruleId, detail };
  return { kind: 'threshold', detail: detail || `now ${to}` };
}

/**
 * The rule named as a move's cause: of the rules the event hit that scored (a capped hit did not)
 * on a dimension or signal that decided the move, the one that pushed the most in the move's
 * direction. Moving up, the most positive points (a rule raising a deciding signal counts, with
 * its points on a deciding dimension or 0); moving down, the most negative points. A rule that
 * pushed against the move is never named, however large: a profile that moves a lead up despite
 * its -15 for a student title names the rule that lifted it. Ties go to the first in model order.
 */
function relevantRule(
  effect: EventEffect,
  conditions: Condition[],
  up: boolean,
  capped: string[] | undefined,
  model: Model,
): string | undefined {
  let best: string | undefined;
  let bestPush = -1;
  for (const id of effect.fit ? [...effect.hits, ...effect.fit] : effect.hits) {
    const rule = model.ruleById.get(id);
    if (!rule || capped?.includes(id)) continue;
    let scored = false;
    let signalled = false;
    for (const c of conditions) {
      if (c.kind === 'score' && c.dimension === rule.dimension) scored = true;
      else if (c.kind === 'signal' && c.signal === rule.signal) signalled = true;
    }
    const points = scored ? rule.points : 0;
    const push = up ? points : -points;
    const pushes = push > 0 || (up && signalled && push === 0);
    if (pushes && push > bestPush) {
      best = id;
      bestPush = push;
    }
  }
  return best;
}
