import { evaluateEvent } from './evaluate.ts';
import { type Condition, DISQUALIFIED, type Model } from './model.ts';
import {
  decay,
  decidingConditions,
  describeConditions,
  dimensionScores,
  nextStage,
  q,
  scoreRecord,
} from './stage.ts';
import type { ApplyResult, EventEffect, LeadState, ScoringEvent, StageCause } from './types.ts';

/**
 * The stateful part, O(1) in the number of events a lead has had. The Redis Lua script
 * re-implements exactly this file (plus nextStage), so it sticks to plain arithmetic on numbers,
 * strings and short arrays; docs/model.md spells out every step.
 */

export function initialState(model: Model): LeadState {
  return { stage: model.ladder[0]!.name, seq: 0, ring: '' };
}

export interface ApplyOptions {
  /**
   * Update the given state in place instead of returning a new one that shares unchanged parts
   * with it. For callers that keep only the latest state of each lead, such as an offline replay
   * of an event log: it saves the copies, and most of the garbage. Default false.
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
 * Applies one evaluated event to a lead's state. By default the input state is not modified:
 * the result's state is a new object that shares the lists this event did not change.
 */
export function applyEffect(
  state: LeadState | undefined,
  effect: EventEffect,
  now: number,
  model: Model,
  options?: ApplyOptions,
): ApplyResult {
  const prev = state ?? initialState(model);
  if (effect.filtered) return { state: prev, outcome: 'filtered', reason: effect.filtered };
  if (ringHas(prev.ring, effect.hash)) return { state: prev, outcome: 'duplicate' };

  // An event from the future (producer clock skew) counts as happening now.
  const te = Math.min(effect.eventTime, now);
  const from = prev.stage;
  const seq = prev.seq;
  // Lists of `shared` belong to the caller's state and are copied before their first change.
  const inPlace = options?.inPlace === true;
  const next = inPlace ? prev : copyState(prev);
  const shared: Shared = inPlace ? NOTHING_SHARED : prev;
  next.ring = (prev.ring + effect.hash).slice(-8 * model.dedupeWindow);
  let capped: string[] | undefined;
  for (const id of effect.hits) {
    const rule = model.ruleById.get(id);
    const h = rule?.dimension?.halfLifeMs;
    if (!rule || !h) continue; // signal/disqualify-only rule, or a rule this model does not have
    if (rule.cap) {
      const k = next.ki ? next.ki.indexOf(id) : -1;
      const hit = capHit(k < 0 ? undefined : next.kw![k], te, rule.cap.hits, rule.cap.windowMs);
      if (!hit) {
        capped = capped ? [...capped, id] : [id];
        continue;
      }
      setCapWindow(next, shared, k, id, hit.window);
      if (hit.replaced !== undefined) addPoints(next, shared, id, -rule.points, hit.replaced, h);
    }
    addPoints(next, shared, id, rule.points, te, h);
  }
  if (effect.signals.length > 0) {
    const sig = inPlace && next.sig ? next.sig : Object.assign({}, prev.sig);
    for (const name of effect.signals) sig[name] = Math.max(sig[name] ?? te, te);
    next.sig = sig;
  }
  if (effect.disqualify) next.dq = Math.max(prev.dq ?? te, te);
  if (effect.fit && newer(te, effect.hash, prev.fit)) {
    next.fit =
      effect.fit.length > 0 ? { t: te, h: effect.hash, r: effect.fit.slice() } : { t: te, h: effect.hash };
  }
  if (effect.sales && newer(te, effect.hash, prev.sales)) {
    next.sales = { k: effect.sales.kind, t: te, h: effect.hash, b: effect.sales.bantPassed };
  }

  const scores = dimensionScores(next, now, model);
  const to = nextStage(next, scores, now, model);
  const result: ApplyResult = { state: next, outcome: 'applied' };
  if (capped) result.capped = capped;
  if (to === from) return result;
  next.stage = to;
  next.seq = seq + 1;
  result.transition = {
    from,
    to,
    scores: scoreRecord(scores, model),
    cause: eventCause(from, to, next, effect, scores, now, model),
    eventId: effect.eventId,
    eventTime: effect.eventTime,
    seq: next.seq,
  };
  return result;
}

/** The lists a new state still shares with the caller's state. */
type Shared = Pick<LeadState, 'cv' | 'kw'>;
const NOTHING_SHARED: Shared = {};

/** A shallow copy with the fields in one fixed order, so that states come in few shapes. */
function copyState(s: LeadState): LeadState {
  const copy: LeadState = { stage: s.stage, seq: s.seq, ring: s.ring };
  if (s.ci !== undefined) copy.ci = s.ci;
  if (s.cv !== undefined) copy.cv = s.cv;
  if (s.ki !== undefined) copy.ki = s.ki;
  if (s.kw !== undefined) copy.kw = s.kw;
  if (s.sig !== undefined) copy.sig = s.sig;
  if (s.fit !== undefined) copy.fit = s.fit;
  if (s.sales !== undefined) copy.sales = s.sales;
  if (s.dq !== undefined) copy.dq = s.dq;
  return copy;
}

/** The ring holds 8-char hashes back to back; only aligned positions are entries. */
function ringHas(ring: string, hash: string): boolean {
  for (let i = ring.indexOf(hash); i >= 0; i = ring.indexOf(hash, i + 1)) if (i % 8 === 0) return true;
  return false;
}

/**
 * Adds p points earned at te to the rule's contribution (value v at reference time t): an older
 * point is decayed to t; a newer one first moves the reference forward to te. Writes into `s`
 * (the new state), copying a list still shared with the caller's state before changing it.
 */
function addPoints(s: LeadState, prev: Shared, id: string, p: number, te: number, h: number): void {
  const i = s.ci ? s.ci.indexOf(id) : -1;
  if (i < 0) {
    s.ci = s.ci ? s.ci.concat(id) : [id];
    s.cv = s.cv ? s.cv.concat(q(p), te) : [q(p), te];
    return;
  }
  const cv = s.cv === prev.cv ? s.cv!.slice() : s.cv!;
  const v = cv[2 * i]!;
  const t = cv[2 * i + 1]!;
  if (te <= t) {
    cv[2 * i] = q(v + p * decay(t, te, h));
  } else {
    cv[2 * i] = q(v * decay(te, t, h) + p);
    cv[2 * i + 1] = te;
  }
  s.cv = cv;
}

function setCapWindow(s: LeadState, prev: Shared, k: number, id: string, window: number[]): void {
  if (k < 0) {
    s.ki = s.ki ? s.ki.concat(id) : [id];
    s.kw = s.kw ? [...s.kw, window] : [window];
    return;
  }
  const kw = s.kw === prev.kw ? s.kw!.slice() : s.kw!;
  kw[k] = window;
  s.kw = kw;
}

/**
 * Tumbling cap windows aligned to the epoch; a window is [w, hit times ascending]. Within the
 * newest window seen, the N earliest hits score whatever order they arrive in: an earlier hit
 * arriving late replaces the latest scoring one. Hits for an older window never score (only the
 * newest window is kept: bounded memory). Returns undefined when the hit does not score.
 */
function capHit(
  window: number[] | undefined,
  te: number,
  n: number,
  windowMs: number,
): { window: number[]; replaced?: number } | undefined {
  const w = Math.floor(te / windowMs);
  // A stored window whose first hit is not in it was counted with another window size (the
  // model changed): start over rather than compare indices of different sizes.
  const stale = window !== undefined && Math.floor(window[1]! / windowMs) !== window[0];
  if (window === undefined || stale || w > window[0]!) return { window: [w, te] };
  if (w < window[0]!) return undefined;
  if (window.length - 1 < n) return { window: insertHit(window, te) };
  const latest = window[window.length - 1]!;
  if (te >= latest) return undefined;
  return { window: insertHit(window.slice(0, -1), te), replaced: latest };
}

/** A copy of [w, ...times] with t inserted among the times, after equal ones. */
function insertHit(window: number[], t: number): number[] {
  const out = window.slice();
  let i = out.length;
  while (i > 1 && out[i - 1]! > t) i--;
  out.splice(i, 0, t);
  return out;
}

/** Last-writer-wins by event time; on a tie the larger event hash wins, so arrival order never matters. */
function newer(t: number, h: string, reg: { t: number; h: string } | undefined): boolean {
  return reg === undefined || t > reg.t || (t === reg.t && h > reg.h);
}

function eventCause(
  from: string,
  to: string,
  state: LeadState,
  effect: EventEffect,
  scores: number[],
  now: number,
  model: Model,
): StageCause {
  if (to === DISQUALIFIED) {
    if (state.sales?.k === 'rejected') return { kind: 'sales-verdict', detail: 'sales verdict rejected' };
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
  const ruleId = relevantRule(effect, conditions, model);
  if (ruleId) return { kind: 'rule', ruleId, detail };
  return { kind: 'threshold', detail: detail || `now ${to}` };
}

/** Of the rules the event hit, the one with the most points on a score or signal that decided the move. */
function relevantRule(effect: EventEffect, conditions: Condition[], model: Model): string | undefined {
  let best: string | undefined;
  let bestPoints = -1;
  for (const id of effect.fit ? [...effect.hits, ...effect.fit] : effect.hits) {
    const rule = model.ruleById.get(id);
    if (!rule) continue;
    const relevant = conditions.some(
      (c) =>
        (c.kind === 'score' && c.dimension === rule.dimension) ||
        (c.kind === 'signal' && c.signal === rule.signal),
    );
    if (relevant && Math.abs(rule.points) > bestPoints) {
      best = id;
      bestPoints = Math.abs(rule.points);
    }
  }
  return best;
}
