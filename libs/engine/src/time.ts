import { topContributions } from './explain.ts';
import { type Condition, DISQUALIFIED, type Model } from './model-types.ts';
import {
  decidingConditions,
  describeConditions,
  dimensionScores,
  evaluateStage,
  ladderIndex,
  ladderStage,
  nearThreshold,
  nextStage,
  runningScores,
  scoreRecord,
  signalTime,
} from './stage.ts';
import { bind, copyState, type LeadState } from './state.ts';
import type { StageCause, StageTransition } from './types.ts';

/**
 * Time-driven changes. With no new events only decay and signal expiry change anything, and both
 * have closed forms: a dimension's score is a sum of exponentials with one half-life, which is
 * itself one exponential S(t) = S(now) * 2^(-(t - now) / h), so it reaches x at
 * now + h * log2(S(now) / x) (when S(now) / x > 0), and a signal seen at s expires after s + within.
 * Each condition therefore flips at most once, and the stage is constant between flips.
 */

/**
 * The earliest whole millisecond >= now at which re-evaluating the stage with no new events gives
 * a stage other than `state.stage`, or null if time alone never changes it. Returns `now` when
 * the stored stage is already stale.
 */
export function nextChangeAt(given: LeadState, now: number, model: Model): number | null {
  const state = bind(given, model);
  const scores = dimensionScores(state, now, model);
  if (nextStage(state, scores, now, model) !== state.stage) return now;
  if (state.stage === DISQUALIFIED) return null; // only events leave it
  const current = ladderIndex(model, state.stage);
  const flips: number[] = [];
  for (let i = 1; i < model.ladder.length; i++) {
    const stage = model.ladder[i]!;
    for (const c of i > current ? stage.enter : stage.stay) {
      const t = flipTime(c, scores, state, now);
      if (t !== undefined) flips.push(t);
    }
  }
  flips.sort((a, b) => a - b);
  for (const t of flips) {
    // t is exact up to float rounding (well under a millisecond): probe the whole milliseconds
    // around it for the first one where the stage really differs.
    for (let at = Math.max(now, Math.floor(t) - 1); at <= Math.floor(t) + 2; at++) {
      if (evaluateStage(state, at, model) !== state.stage) return at;
    }
  }
  return null;
}

/**
 * False when time alone certainly changes nothing for a state whose stage was evaluated when it
 * last changed (as applyEffect and advanceTo leave it): a disqualified lead, or a lead in the
 * lowest stage when no stage can be entered by time. Entering needs an enter condition to turn
 * true, and by time only a score condition with a negative threshold can (a negative score rising
 * towards 0); signals only expire. A cheap test before nextChangeAt, for callers that ask after
 * every event (replays): most leads sit in the lowest stage.
 */
export function mayChangeByTime(given: LeadState, model: Model): boolean {
  const stage = given.stage;
  if (stage === DISQUALIFIED) return false;
  return stage !== model.ladder[0]!.name || enteredByTime(model);
}

/**
 * Whether time alone changes the stage of `state` (as evaluated at `since`) at some moment in
 * (since, now]: `nextChangeAt(state, since) <= now`, answered without predicting when. Every
 * condition flips at most once by time (see above), and without a stage that can be entered by
 * time a flip only ever fails the current stage's stay condition for good, so a change happened
 * by `now` exactly when re-evaluating at `now` gives another stage: one evaluation on the running
 * totals (the exact sums near a threshold, as applyEffect decides) instead of a prediction that
 * probes several moments. For replays, which ask before every event of a lead.
 */
export function movesByTime(given: LeadState, since: number, now: number, model: Model): boolean {
  if (!mayChangeByTime(given, model)) return false;
  if (enteredByTime(model)) {
    const at = nextChangeAt(given, since, model);
    return at !== null && at <= now;
  }
  const state = bind(given, model);
  let scores = runningScores(state, now, model);
  if (nearThreshold(scores, model)) scores = dimensionScores(state, now, model);
  return ladderStage(state, scores, now, model) !== state.stage;
}

const enterableByTime = new WeakMap<Model, boolean>();

function enteredByTime(model: Model): boolean {
  let answer = enterableByTime.get(model);
  if (answer === undefined) {
    answer = model.ladder.some((s) => s.enter.some((c) => c.kind === 'score' && c.gte < 0));
    enterableByTime.set(model, answer);
  }
  return answer;
}

/** When condition c, evaluated at `now`, next changes truth by time alone (>= now), if ever. */
function flipTime(c: Condition, scores: number[], state: LeadState, now: number): number | undefined {
  if (c.kind === 'signal') {
    const seen = signalTime(c, state);
    return now - seen <= c.withinMs ? seen + c.withinMs : undefined; // false for NaN: never seen
  }
  if (c.kind !== 'score' || c.dimension.halfLifeMs === null) return undefined;
  const s = scores[c.dimension.index]!;
  const x = c.gte;
  // Holding and positive: decays below x. Failing and negative: rises (towards 0) to a negative x.
  // Every other case never flips: an exponential never changes sign or reaches 0.
  const flips = s >= x ? s > 0 && x > 0 : s < 0 && x < 0;
  return flips ? now + c.dimension.halfLifeMs * Math.log2(s / x) : undefined;
}

/**
 * Re-evaluates the stage at `now` with no new event: what the fading-lead service calls at the
 * time nextChangeAt predicted. The transition's eventTime is when the deciding condition crossed.
 */
export function advanceTo(
  given: LeadState,
  now: number,
  model: Model,
): { state: LeadState; transition?: StageTransition } {
  const state = bind(given, model);
  const scores = dimensionScores(state, now, model);
  const to = nextStage(state, scores, now, model);
  if (to === state.stage) return { state: given };
  const next = copyState(state);
  next.stage = to;
  next.seq = state.seq + 1;
  const { cause, at } = timeCause(state, to, scores, now, model);
  const transition: StageTransition = {
    from: state.stage,
    to,
    scores: scoreRecord(scores, model),
    cause,
    eventTime: at,
    seq: next.seq,
    topRules: topContributions(state, now, model),
  };
  return { state: next, transition };
}

function timeCause(
  state: LeadState,
  to: string,
  scores: number[],
  now: number,
  model: Model,
): { cause: StageCause; at: number } {
  if (to === DISQUALIFIED || state.stage === DISQUALIFIED) {
    // Cannot happen by time alone; only a stale state (e.g. a model change) gets here.
    return { cause: { kind: 'decay', detail: `re-evaluated: now ${to}` }, at: now };
  }
  const { conditions, up } = decidingConditions(state.stage, to, scores, state, now, model);
  const detail = describeConditions(conditions, up, scores, state) || `now ${to}`;
  if (up) return { cause: { kind: 'decay', detail }, at: now };
  // Moving down: the stay condition that failed first decides the crossing time and the kind.
  let at = Number.POSITIVE_INFINITY;
  let kind: StageCause['kind'] = 'decay';
  for (const c of conditions) {
    const t = crossedAt(c, scores, state, now);
    if (t < at) {
      at = t;
      kind = c.kind === 'signal' ? 'signal-expired' : 'decay';
    }
  }
  if (at === Number.POSITIVE_INFINITY) at = now;
  return { cause: { kind, detail }, at };
}

/** The first whole millisecond at which a failing condition failed, or now if unknown. */
function crossedAt(c: Condition, scores: number[], state: LeadState, now: number): number {
  if (c.kind === 'signal') {
    const seen = signalTime(c, state);
    return Number.isNaN(seen) ? now : Math.min(now, Math.floor(seen + c.withinMs) + 1);
  }
  if (c.kind === 'score' && c.dimension.halfLifeMs !== null) {
    const s = scores[c.dimension.index]!;
    if (s > 0 && c.gte > 0)
      return Math.min(now, Math.floor(now + c.dimension.halfLifeMs * Math.log2(s / c.gte)) + 1);
  }
  return now;
}
