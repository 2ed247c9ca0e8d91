import {
  type LeadState,
  type LeadStateView,
  type Model,
  type StageCause,
  stateFromView,
  stateView,
} from '@leadscorer/engine';
import { decode } from '@msgpack/msgpack';

/**
 * Reads the lead state string the Lua scripts write into the engine's LeadState, the offset
 * watermarks and the recent stage changes. The stored form (lua/includes/persistence.lua has
 * the full layout) is compact because it is most of Redis's memory per lead: MessagePack of
 * flat lists of small integers, rules named by their 1-based position in the model, times as
 * distances from one base time, contribution values in millionths, the dedupe ring as raw
 * bytes. It is read into the engine's view (`LeadStateView`, keyed by rule ids) and laid out for
 * the given model; both hold the same numbers, and rules the model no longer has are kept aside
 * (`LeadState.foreign`), as in Redis.
 */
export interface StoredLead {
  state: LeadState;
  /** Offset watermark per source ("w3" = web topic, partition 3). */
  offsets: Record<string, number>;
  /** The last stage changes, newest first. */
  history: HistoryEntry[];
}

/** A stage change as the lead's history keeps it. */
export interface HistoryEntry {
  seq: number;
  from: string;
  to: string;
  cause: StageCause;
  /** The triggering event's time, or the computed crossing time of a time-driven change. */
  eventTime: number;
  /** When it was decided (the `now` of the call that recorded it). */
  at: number;
}

type Loose = Record<string, unknown>;

function map<T>(v: unknown): Record<string, T> {
  return v && !Array.isArray(v) && typeof v === 'object' ? (v as Record<string, T>) : {};
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

const utf8 = new TextDecoder();

/** Strings are read as bytes (the ring is binary); the text fields are decoded here. */
function text(v: unknown): string {
  return v instanceof Uint8Array ? utf8.decode(v) : String(v ?? '');
}

/** Raw bytes (the dedupe ring, an event hash) as hex. */
function ringHex(v: unknown): string {
  return v instanceof Uint8Array ? Buffer.from(v).toString('hex') : '';
}

/**
 * `ruleIds` maps stored rule positions to rule ids: the store's position registry, which also
 * knows rules that later models dropped (the engine keeps their contributions and counts them
 * as nothing). By default the model order, which is what a fresh registry assigns.
 */
export function decodeStoredLead(
  raw: Uint8Array,
  model: Model,
  ruleIds: ReadonlyMap<number, string> = new Map(model.rules.map((r, i) => [i + 1, r.id])),
): StoredLead {
  const blob = decode(raw, { rawStrings: true }) as Loose | unknown[];
  const ruleId = (pos: number): string => {
    const id = ruleIds.get(pos);
    if (id === undefined) throw new Error(`stored state names rule position ${pos}, which is not registered`);
    return id;
  };
  if (!Array.isArray(blob)) throw new Error('lead state is not in format 2');
  const [format, base, stage, seq, ring, cs, ks, gs, fis, sas, dq, offsets, hs] = blob as unknown[];
  if (format !== 2) throw new Error(`lead state in unknown format ${String(format)}`);
  const b = Number(base) * 1000;
  const at = (dt: unknown): number => b - Number(dt);
  const state: LeadStateView = { stage: text(stage), seq: Number(seq), ring: ringHex(ring) };
  const c = list(cs).map(Number);
  if (c.length > 0) {
    state.ci = [];
    state.cv = [];
    for (let i = 0; i < c.length; i += 3) {
      state.ci.push(ruleId(c[i]!));
      state.cv.push(c[i + 1]! / 1e6, b - c[i + 2]!);
    }
  }
  const k = list(ks).map(Number);
  if (k.length > 0) {
    state.ki = [];
    state.kw = [];
    for (let i = 0; i < k.length; ) {
      const pos = k[i]!;
      const hits = k[i + 2]!;
      // Hits are distances from the rule's contribution time (b when it has none).
      const id = ruleId(pos);
      const ci = state.ci?.indexOf(id) ?? -1;
      const ref = ci >= 0 ? state.cv![2 * ci + 1]! : b;
      state.ki.push(id);
      state.kw.push([k[i + 1]!, ...k.slice(i + 3, i + 3 + hits).map((dt) => ref - dt)]);
      i += 3 + hits;
    }
  }
  const g = list(gs);
  if (g.length > 0) {
    state.sig = {};
    for (let i = 0; i < g.length; i += 2) state.sig[text(g[i])] = at(g[i + 1]);
  }
  const fi = list(fis);
  if (fi.length > 0) {
    const r = fi.slice(2).map((x) => ruleId(Number(x)));
    const h = ringHex(fi[1]);
    state.fit = r.length > 0 ? { t: at(fi[0]), h, r } : { t: at(fi[0]), h };
  }
  const sa = list(sas);
  if (sa.length > 0) {
    const kind = text(sa[0]) as NonNullable<LeadStateView['sales']>['k'];
    state.sales = { k: kind, t: at(sa[1]), h: ringHex(sa[2]), b: sa[3] === 1 };
  }
  if (typeof dq === 'number') state.dq = at(dq);
  const history: HistoryEntry[] = [];
  const h = list(hs);
  for (let i = 0; i + 7 < h.length; i += 8) {
    const decided = at(h[i + 6]);
    const rule = text(h[i + 4]);
    const cause: StageCause = { kind: text(h[i + 3]) as StageCause['kind'], detail: text(h[i + 5]) };
    if (rule !== '') cause.ruleId = rule;
    history.push({
      seq: Number(h[i]),
      from: text(h[i + 1]),
      to: text(h[i + 2]),
      cause,
      eventTime: decided - Number(h[i + 7]),
      at: decided,
    });
  }
  return { state: stateFromView(state, model), offsets: map<number>(offsets), history };
}

/** Contributions and cap windows keyed by rule id: the order-free view tests compare. */
export function normalizeState(state: LeadState): Omit<LeadStateView, 'ci' | 'cv' | 'ki' | 'kw'> & {
  c: Record<string, [number, number]>;
  caps: Record<string, number[]>;
} {
  const { ci, cv, ki, kw, ...rest } = stateView(state);
  const c: Record<string, [number, number]> = {};
  ci?.forEach((id, i) => {
    c[id] = [cv![2 * i]!, cv![2 * i + 1]!];
  });
  const caps: Record<string, number[]> = {};
  ki?.forEach((id, i) => {
    caps[id] = kw![i]!;
  });
  return { ...rest, c, caps };
}
