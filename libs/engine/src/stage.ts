import { formatDuration } from './duration.ts';
import { type Condition, DISQUALIFIED, type Model, type Stage } from './model.ts';
import type { LeadState } from './types.ts';

/**
 * Rounds to 1e-6. Stored contribution values and published scores go through it, so the Lua
 * port (same expression: math.floor(x * 1e6 + 0.5) / 1e6) stores the same numbers even where
 * libm's pow and V8's differ in the last bit, and JSON stays short.
 */
export function q(x: number): number {
  return Math.floor(x * 1e6 + 0.5) / 1e6;
}

/** `2^(-(now - t) / h)`: the decay factor from time t to now for half-life h (ms). */
export function decay(now: number, t: number, halfLifeMs: number): number {
  return 2 ** (-(now - t) / halfLifeMs);
}

/** Per-rule values, reused between calls (allocating a typed array per event is measurable). */
let scratch = new Float64Array(32);

/**
 * Scores at `now` by dimension index. The contributions are summed in model rule order, not in
 * the state's list order (which is arrival order), so the float result does not depend on the
 * order events arrived in; the Lua port sums in the same order.
 */
export function dimensionScores(state: LeadState, now: number, model: Model): number[] {
  const n = model.rules.length;
  if (scratch.length < n) scratch = new Float64Array(n);
  const values = scratch.fill(0, 0, n);
  const ids = state.ci;
  const cv = state.cv!;
  for (let i = 0; ids !== undefined && i < ids.length; i++) {
    const rule = model.ruleById.get(ids[i]!);
    const h = rule?.dimension?.halfLifeMs;
    // A rule this model no longer has counts nothing.
    if (rule && h && !rule.fit) values[rule.index] = cv[2 * i]! * decay(now, cv[2 * i + 1]!, h);
  }
  const scores: number[] = [];
  for (let d = 0; d < model.dimensions.length; d++) scores.push(0);
  // Absent rules add 0, which leaves a float sum unchanged: the same as skipping them.
  for (let i = 0; i < n; i++) {
    const dim = model.rules[i]!.dimension;
    if (dim) scores[dim.index]! += values[i]!;
  }
  for (const id of state.fit?.r ?? []) {
    const rule = model.ruleById.get(id);
    // A rule dropped from the model since the profile arrived no longer counts.
    if (rule?.fit && rule.dimension) scores[rule.dimension.index]! += rule.points;
  }
  return scores;
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
  const { sales, dq } = state;
  if (sales?.k === 'rejected') return true;
  return dq !== undefined && (sales === undefined || sales.t < dq);
}

export function isSalesQualified(state: LeadState): boolean {
  return state.sales?.k === 'accepted' && state.sales.b;
}

export function holds(c: Condition, scores: number[], state: LeadState, now: number): boolean {
  if (c.kind === 'score') return scores[c.dimension.index]! >= c.gte;
  if (c.kind === 'signal') {
    const t = state.sig?.[c.signal];
    return t !== undefined && now - t <= c.withinMs;
  }
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
      return state.sig?.[c.signal] === undefined ? `no ${c.signal}` : `${c.signal} older than ${within}`;
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
