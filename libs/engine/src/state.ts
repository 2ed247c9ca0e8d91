import type { Layout, Model } from './model-types.ts';
import { EVENT_TYPES, type EventType, type LeadStateView, type SalesKind } from './types.ts';

/**
 * The per-lead state as the engine keeps it in memory: every number in one flat list laid out by
 * the model, so that applying an event reads and writes a few neighbouring slots of one array
 * instead of walking half a dozen small lists and objects per lead. With thousands of leads in
 * memory most of an event's cost is cache misses on its lead's state, so fewer places to reach
 * is most of the speed (see docs/model.md, "Performance").
 *
 * The layout belongs to the model (rule order, caps, signal names, dedupe window). A state meeting
 * a model with another layout is converted once through its view (`bind`); parts the new model
 * has no place for (rules it dropped, a cap it removed) are carried along untouched in `foreign`,
 * count nothing, and come back in the view, as the Redis store keeps them too.
 *
 * `LeadStateView` (`stateView`, `stateFromView`) is the documented, model-independent form keyed
 * by rule ids: what tests compare, the Redis codec produces, and JSON shows.
 */
export class LeadState {
  /** Current stage name (a ladder stage or 'disqualified'). */
  stage: string;
  /** Number of stage transitions so far; the next transition carries seq + 1. */
  seq: number;
  /** Every number of the state, at the offsets `layout` gives. Never shared with another state. */
  n: number[];
  layout: Layout;
  /**
   * Ids of the fit rules the latest profile matched (replaced, never changed in place), for the
   * view; scoring reads their model positions from `n`.
   */
  fitRules: string[] | undefined;
  /** What the layout has no place for: kept, never counted. */
  foreign: Foreign | undefined;

  /** Build states with newState, copyState or stateFromView. */
  constructor(
    stage: string,
    seq: number,
    n: number[],
    layout: Layout,
    fitRules: string[] | undefined,
    foreign: Foreign | undefined,
  ) {
    // Every field, in one order: one object shape for the hot paths.
    this.stage = stage;
    this.seq = seq;
    this.n = n;
    this.layout = layout;
    this.fitRules = fitRules;
    this.foreign = foreign;
  }

  /** JSON.stringify of a state (a log line, a debug dump) gives its view. */
  toJSON(): LeadStateView {
    return stateView(this);
  }
}

export type Foreign = Pick<LeadStateView, 'ci' | 'cv' | 'ki' | 'kw' | 'sig'>;

const SALES_KINDS: readonly (SalesKind | undefined)[] = [undefined, 'accepted', 'rejected', 'reopened'];
/** The verdict kinds as the state's sales slot keeps them; 0 is no verdict. */
export const SALES_CODE: Readonly<Record<SalesKind, number>> = { accepted: 1, rejected: 2, reopened: 3 };

export function newState(model: Model): LeadState {
  const layout = model.layout;
  return new LeadState(model.ladder[0]!.name, 0, layout.template.slice(), layout, undefined, undefined);
}

/**
 * Recomputes a state's running totals from its contributions: for a codec that wrote the numbers
 * of a freshly created state (`initialState`) directly at the offsets its layout documents.
 */
export function refreshTotals(state: LeadState): void {
  syncTotals(state.n, state.layout);
}

export function copyState(s: LeadState): LeadState {
  return new LeadState(s.stage, s.seq, s.n.slice(), s.layout, s.fitRules, s.foreign);
}

/** The state laid out for `model`: itself when it already is, else converted through its view. */
export function bind(s: LeadState, model: Model): LeadState {
  return s.layout === model.layout ? s : stateFromView(stateView(s), model);
}

/** Writes the model positions of the fit rules among `ids` (in their order) into the fit slots. */
export function setFitRules(
  n: number[],
  layout: Layout,
  ids: readonly string[] | undefined,
  model: Model,
): void {
  const at = layout.fitAt + 2;
  let count = 0;
  for (const id of ids ?? []) {
    const rule = model.ruleById.get(id);
    if (rule?.fit && rule.dimension) n[at + 1 + count++] = rule.index;
  }
  n[at] = count;
}

/**
 * Recomputes every running total from the contributions: S at T = the latest contribution time
 * of the dimension, summed in model rule order. For a state read from its view, and to clear the
 * totals' accumulated rounding whenever the exact sums were needed anyway.
 */
export function syncTotals(n: number[], layout: Layout): void {
  const { at, dim, halfLife } = layout.decaying;
  for (const total of layout.totalAt) {
    if (total < 0) continue;
    n[total] = 0;
    n[total + 1] = Number.NaN;
  }
  for (let i = 0; i < at.length; i++) {
    const total = layout.totalAt[dim[i]!]!;
    const t = n[at[i]! + 1]!;
    if (!Number.isNaN(t) && !(n[total + 1]! >= t)) n[total + 1] = t;
  }
  for (let i = 0; i < at.length; i++) {
    const total = layout.totalAt[dim[i]!]!;
    const t = n[at[i]! + 1]!;
    if (!Number.isNaN(t)) n[total] = n[total]! + n[at[i]!]! * 2 ** (-(n[total + 1]! - t) / halfLife[i]!);
  }
}

// ---- the ring ----

/** Whether the 32-bit hash h is among the entries of the ring at `at`. */
export function ringHas(n: number[], at: number, h: number): boolean {
  const count = n[at]!;
  for (let i = 0; i < count; i++) if (n[at + 2 + i] === h) return true;
  return false;
}

/** Appends h to the ring at `at`, overwriting its oldest entry once the ring is full. */
export function ringPush(n: number[], at: number, window: number, h: number): void {
  const next = n[at + 1]!;
  n[at + 2 + next] = h;
  n[at + 1] = next + 1 === window ? 0 : next + 1;
  if (n[at]! < window) n[at] = n[at]! + 1;
}

/** An 8-hex-character event hash (`eventHash`) as the unsigned 32-bit number the state keeps. */
export function hashNumber(hex: string): number {
  // By hand: Number.parseInt costs several times these eight steps.
  let h = 0;
  for (let i = 0; i < 8; i++) {
    const c = hex.charCodeAt(i) | 0x20; // '0'-'9' are unchanged, 'A'-'F' become 'a'-'f'
    h = h * 16 + (c <= 0x39 ? c - 0x30 : c - 0x57);
  }
  return h;
}

export function hashHex(h: number): string {
  return h.toString(16).padStart(8, '0');
}

export function salesKind(code: number): SalesKind | undefined {
  return SALES_KINDS[code];
}

// ---- the view ----

/**
 * The state keyed by rule ids and signal names, in the documented JSON form (docs/model.md,
 * "State layout"). Contributions and cap windows are listed in model order, then foreign ones.
 */
export function stateView(s: LeadState): LeadStateView {
  const { n, layout } = s;
  const view: LeadStateView = { stage: s.stage, seq: s.seq, ring: ringsView(n, layout) };
  const ci: string[] = [];
  const cv: number[] = [];
  const ki: string[] = [];
  const kw: number[][] = [];
  for (let i = 0; i < layout.ruleIds.length; i++) {
    const v = layout.valueAt[i]!;
    if (v >= 0 && !Number.isNaN(n[v + 1]!)) {
      ci.push(layout.ruleIds[i]!);
      cv.push(n[v]!, n[v + 1]!);
    }
    const k = layout.capAt[i]!;
    if (k >= 0 && n[k + 1]! > 0) {
      ki.push(layout.ruleIds[i]!);
      kw.push([n[k]!, ...n.slice(k + 2, k + 2 + n[k + 1]!)]);
    }
  }
  const f = s.foreign;
  if (f?.ci) ci.push(...f.ci);
  if (f?.cv) cv.push(...f.cv);
  if (f?.ki) ki.push(...f.ki);
  if (f?.kw) kw.push(...f.kw.map((w) => w.slice()));
  putRuleLists(view, ci, cv, ki, kw);
  const sig = signalsOf(s);
  if (sig !== undefined) view.sig = sig;
  const fit = layout.fitAt;
  if (!Number.isNaN(n[fit]!)) {
    view.fit = { t: n[fit]!, h: hashHex(n[fit + 1]!) };
    if (s.fitRules && s.fitRules.length > 0) view.fit.r = s.fitRules.slice();
  }
  const sa = layout.salesAt;
  const kind = salesKind(n[sa]!);
  if (kind) view.sales = { k: kind, t: n[sa + 1]!, h: hashHex(n[sa + 2]!), b: n[sa + 3] === 1 };
  if (!Number.isNaN(n[layout.dqAt]!)) view.dq = n[layout.dqAt]!;
  return view;
}

/** Signal name -> latest time, the foreign ones included; undefined when the lead has none. */
export function signalsOf(s: LeadState): Record<string, number> | undefined {
  const sig: Record<string, number> = { ...s.foreign?.sig };
  let any = s.foreign?.sig !== undefined;
  for (const [name, at] of s.layout.signalAt) {
    if (Number.isNaN(s.n[at]!)) continue;
    sig[name] = s.n[at]!;
    any = true;
  }
  return any ? sig : undefined;
}

/** Sets the contribution and cap window lists that are not empty: empty ones are left out. */
function putRuleLists(into: Foreign, ci: string[], cv: number[], ki: string[], kw: number[][]): void {
  if (ci.length > 0) {
    into.ci = ci;
    into.cv = cv;
  }
  if (ki.length > 0) {
    into.ki = ki;
    into.kw = kw;
  }
}

/** Each event type's ring, its hashes oldest first; types with an empty ring left out. */
function ringsView(n: number[], layout: Layout): Partial<Record<EventType, string>> {
  const out: Partial<Record<EventType, string>> = {};
  const window = layout.window;
  for (let t = 0; t < EVENT_TYPES.length; t++) {
    const at = layout.ringAt[t]!;
    const count = n[at]!;
    if (count === 0) continue;
    const start = count < window ? 0 : n[at + 1]!;
    let ring = '';
    for (let i = 0; i < count; i++) ring += hashHex(n[at + 2 + ((start + i) % window)]!);
    out[EVENT_TYPES[t]!] = ring;
  }
  return out;
}

/**
 * A state laid out for `model` from its view. Contributions, cap windows and signals the model has
 * no place for go to `foreign`; a stored cap window with more hits than the model's cap keeps its
 * earliest hits; a ring longer than the model's dedupe window keeps its newest entries.
 */
export function stateFromView(view: LeadStateView, model: Model): LeadState {
  const layout = model.layout;
  const n = layout.template.slice();
  for (let t = 0; t < EVENT_TYPES.length; t++) {
    const hashes = view.ring[EVENT_TYPES[t]!]?.match(/.{8}/g) ?? [];
    for (const h of hashes.slice(-layout.window))
      ringPush(n, layout.ringAt[t]!, layout.window, hashNumber(h));
  }
  const fci: string[] = [];
  const fcv: number[] = [];
  const fki: string[] = [];
  const fkw: number[][] = [];
  const fsig: Record<string, number> = {};
  const index = (id: string): number => model.ruleById.get(id)?.index ?? -1;
  view.ci?.forEach((id, i) => {
    const at = layout.valueAt[index(id)] ?? -1;
    const v = view.cv![2 * i]!;
    const t = view.cv![2 * i + 1]!;
    if (at >= 0) {
      n[at] = v;
      n[at + 1] = t;
    } else {
      fci.push(id);
      fcv.push(v, t);
    }
  });
  view.ki?.forEach((id, i) => {
    const w = view.kw![i]!;
    const rule = index(id);
    const at = layout.capAt[rule] ?? -1;
    if (at < 0) {
      fki.push(id);
      fkw.push(w.slice());
      return;
    }
    const hits = w.slice(1, 1 + layout.capHits[rule]!);
    n[at] = w[0]!;
    n[at + 1] = hits.length;
    for (let j = 0; j < hits.length; j++) n[at + 2 + j] = hits[j]!;
  });
  for (const [name, t] of Object.entries(view.sig ?? {})) {
    const at = layout.signalAt.get(name);
    if (at === undefined) fsig[name] = t;
    else n[at] = t;
  }
  if (view.fit) {
    n[layout.fitAt] = view.fit.t;
    n[layout.fitAt + 1] = hashNumber(view.fit.h);
    setFitRules(n, layout, view.fit.r, model);
  }
  if (view.sales) {
    const sa = layout.salesAt;
    n[sa] = SALES_CODE[view.sales.k];
    n[sa + 1] = view.sales.t;
    n[sa + 2] = hashNumber(view.sales.h);
    n[sa + 3] = view.sales.b ? 1 : 0;
  }
  if (view.dq !== undefined) n[layout.dqAt] = view.dq;
  syncTotals(n, layout);
  const foreign: Foreign = {};
  putRuleLists(foreign, fci, fcv, fki, fkw);
  if (Object.keys(fsig).length > 0) foreign.sig = fsig;
  const fitRules = view.fit?.r?.slice();
  return new LeadState(
    view.stage,
    view.seq,
    n,
    layout,
    fitRules,
    Object.keys(foreign).length > 0 ? foreign : undefined,
  );
}
