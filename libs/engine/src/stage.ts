import { formatDuration } from './duration.ts';
import { type Condition, DISQUALIFIED, type Model, type Stage } from './model-types.ts';
import { bind, type LeadState, SALES_CODE } from './state.ts';

/**
 * Rounds to 1e-6. Stored contribution values and published scores go through it: the stored
 * form keeps values as whole millionths (compact, and exact when read back), and JSON stays short.
 */
export function q(x: number): number {
  return Math.floor(x * 1e6 + 0.5) / 1e6;
}

/** `2^(-(now - t) / h)`: the decay factor from time t to now for half-life h (ms). */
export function decay(now: number, t: number, halfLifeMs: number): number {
  return 2 ** (-(now - t) / halfLifeMs);
}

/**
 * Scores at `now` by dimension index. Contributions are summed in model rule order, not in the
 * order events arrived in, so the float result does not depend on arrival order. Fit adds the points of the latest profile's fit rules, in their order.
 */
export function dimensionScores(state: LeadState, now: number, model: Model): number[] {
  const s = bind(state, model);
  const n = s.n;
  const { at, dim, halfLife } = s.layout.decaying;
  const scores: number[] = [];
  for (let d = 0; d < model.dimensions.length; d++) scores.push(0);
  for (let i = 0; i < at.length; i++) {
    const t = n[at[i]! + 1]!;
    // NaN: the rule has not scored.
    if (!Number.isNaN(t)) scores[dim[i]!]! += n[at[i]!]! * decay(now, t, halfLife[i]!);
  }
  addFit(scores, s, model);
  return scores;
}

/**
 * Scores at `now` from the running totals, for a state laid out for `model`, in an array that the
 * next call reuses: one power of two per decaying dimension instead of one per scored rule.
 * Mathematically equal to dimensionScores; in floating point within ~1e-12 of it (the totals add
 * the same rounded contributions in another order), so applyEffect decides with these and falls
 * back to dimensionScores where that could matter (`nearThreshold`).
 */
export function runningScores(state: LeadState, now: number, model: Model): number[] {
  const { n, layout } = state;
  const { totalAt, totalHalfLife } = layout;
  const dims = totalAt.length;
  let scores = runningScratch;
  if (scores.length !== dims) scores = runningScratch = new Array<number>(dims).fill(0);
  for (let d = 0; d < dims; d++) {
    const at = totalAt[d]!;
    if (at < 0) {
      scores[d] = 0;
      continue;
    }
    const T = n[at + 1]!;
    scores[d] = Number.isNaN(T) ? 0 : n[at]! * decay(now, T, totalHalfLife[d]!);
  }
  addFit(scores, state, model);
  return scores;
}

/** runningScores' answer, reused: its callers read it before the next event. */
let runningScratch: number[] = [];

/**
 * True when a score is so close to a threshold it is compared with that the difference between
 * runningScores and dimensionScores could flip the comparison. The margin (1e-7 of the threshold,
 * at least 1e-7) is five orders of magnitude above the totals' rounding error.
 */
export function nearThreshold(scores: number[], model: Model): boolean {
  const { dim, gte, margin } = model.thresholds;
  for (let i = 0; i < dim.length; i++) if (Math.abs(scores[dim[i]!]! - gte[i]!) <= margin[i]!) return true;
  return false;
}

function addFit(scores: number[], s: LeadState, model: Model): void {
  const n = s.n;
  const at = s.layout.fitAt + 2;
  const count = n[at]!;
  for (let i = 1; i <= count; i++) {
    const rule = model.rules[n[at + i]!]!;
    scores[rule.dimension!.index]! += rule.points;
  }
}

export function scoreRecord(scores: number[], model: Model): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of model.dimensions) out[d.name] = q(scores[d.index]!);
  return out;
}

/** Scores at `now`, by dimension name (rounded to 1e-6). */
export function scoresAt(state: LeadState, now: number, model: Model): Record<string, number> {
  return scoreRecord(dimensionScores(state, now, model), model);
}

/** Rejected, or a disqualifying hit newer than the latest sales verdict (a tie goes to sales). */
export function isDisqualified(state: LeadState): boolean {
  const { n, layout } = state;
  const kind = n[layout.salesAt]!;
  if (kind === SALES_CODE.rejected) return true;
  const dq = n[layout.dqAt]!;
  // NaN compares false: no disqualifying hit, or no verdict to be newer than.
  return !Number.isNaN(dq) && (kind === 0 || n[layout.salesAt + 1]! < dq);
}

export function isSalesQualified(state: LeadState): boolean {
  const { n, layout } = state;
  return n[layout.salesAt] === SALES_CODE.accepted && n[layout.salesAt + 3] === 1;
}

/** Latest time of a signal condition's signal, NaN if never seen. The state must be bound. */
export function signalTime(c: Condition & { kind: 'signal' }, state: LeadState): number {
  return state.n[c.at]!;
}

export function holds(c: Condition, scores: number[], state: LeadState, now: number): boolean {
  if (c.kind === 'score') return scores[c.dimension.index]! >= c.gte;
  if (c.kind === 'signal') return now - state.n[c.at]! <= c.withinMs; // false for NaN
  return isSalesQualified(state);
}

function allHold(conditions: Condition[], scores: number[], state: LeadState, now: number): boolean {
  for (const c of conditions) if (!holds(c, scores, state, now)) return false;
  return true;
}

/** Ladder index of a stage name; -1 for 'disqualified' or a stage the model no longer has. */
export function ladderIndex(model: Model, stage: string): number {
  for (let i = 0; i < model.ladder.length; i++) if (model.ladder[i]!.name === stage) return i;
  return -1;
}

/**
 * The stage re-evaluation gives at `now`, from `state.stage`: disqualified if so; else the
 * highest stage whose condition holds, using `enter` above the current stage and `stay` at or
 * below it (hysteresis). From disqualified (index -1) every stage uses `enter`.
 */
export function nextStage(state: LeadState, scores: number[], now: number, model: Model): string {
  return ladderStage(bind(state, model), scores, now, model);
}

/** nextStage for a state laid out for `model`. */
export function ladderStage(state: LeadState, scores: number[], now: number, model: Model): string {
  if (isDisqualified(state)) return DISQUALIFIED;
  const current = ladderIndex(model, state.stage);
  for (let i = model.ladder.length - 1; i > 0; i--) {
    const stage = model.ladder[i]!;
    if (allHold(i > current ? stage.enter : stage.stay, scores, state, now)) return stage.name;
  }
  return model.ladder[0]!.name;
}

/** The stage the lead is in at `now` when re-evaluated with no new event. */
export function evaluateStage(state: LeadState, now: number, model: Model): string {
  return nextStage(state, dimensionScores(state, now, model), now, model);
}

/**
 * The conditions that decide a move within the ladder, for the cause: moving up, the new stage's
 * enter conditions (all hold); moving down, the old stage's stay conditions that now fail.
 */
export function decidingConditions(
  from: string,
  to: string,
  scores: number[],
  state: LeadState,
  now: number,
  model: Model,
): { conditions: Condition[]; up: boolean } {
  const fromIdx = ladderIndex(model, from);
  const toIdx = ladderIndex(model, to);
  if (toIdx > fromIdx) return { conditions: (model.ladder[toIdx] as Stage).enter, up: true };
  const stay = model.ladder[fromIdx]!.stay;
  return { conditions: stay.filter((c) => !holds(c, scores, state, now)), up: false };
}

export function describeConditions(
  conditions: Condition[],
  up: boolean,
  scores: number[],
  state: LeadState,
): string {
  const parts = conditions.map((c) => {
    if (c.kind === 'score') {
      const shown = shortest(scores[c.dimension.index]!, (v) => (up ? v >= c.gte : v < c.gte));
      return `${c.dimension.name} ${shown} ${up ? '>=' : '<'} ${c.gte}`;
    }
    if (c.kind === 'signal') {
      const within = formatDuration(c.withinMs);
      if (up) return `${c.signal} within ${within}`;
      return Number.isNaN(signalTime(c, state)) ? `no ${c.signal}` : `${c.signal} older than ${within}`;
    }
    return up ? 'sales qualified (BANT passed)' : 'no longer sales qualified';
  });
  return parts.join(', ');
}

/** The shortest rounding of x (1 decimal, then more) that keeps `ok` true: never "15 < 15". */
function shortest(x: number, ok: (v: number) => boolean): string {
  for (const digits of [1, 2, 4, 6]) {
    const v = Number(x.toFixed(digits));
    if (ok(v)) return String(v);
  }
  return String(x);
}
