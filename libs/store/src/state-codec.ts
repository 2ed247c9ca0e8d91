import type { LeadState, Model } from '@leadscorer/engine';
import { decode } from '@msgpack/msgpack';

/**
 * Reads the lead state string the Lua scripts write (MessagePack of { s, o }) into the engine's
 * LeadState. The stored form is compact because it is most of Redis's memory per lead: rules
 * are named by their 1-based position in the model (not by id), the dedupe ring holds raw bytes
 * (not hex), contributions and cap windows are maps keyed by that position. The engine keeps
 * parallel lists of ids (fast in V8); both hold the same numbers. Lists come out in model rule
 * order. MessagePack turns a Lua table with keys 1..n into an array and cannot tell an empty
 * map from an empty array, so both shapes are accepted.
 */
export interface StoredLead {
  state: LeadState;
  /** Offset watermark per source ("w3" = web topic, partition 3). */
  offsets: Record<string, number>;
}

type Loose = Record<string, unknown>;

/** Entries of a Lua table keyed by rule position, whichever shape MessagePack gave it. */
function byPosition<T>(v: unknown): [number, T][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => (x === null || x === undefined ? [] : [[i + 1, x as T]]));
  if (v && typeof v === 'object')
    return Object.entries(v as Record<string, T>).map(([k, x]) => [Number(k), x]);
  return [];
}

function map<T>(v: unknown): Record<string, T> {
  return v && !Array.isArray(v) && typeof v === 'object' ? (v as Record<string, T>) : {};
}

const utf8 = new TextDecoder();

/** Strings are read as bytes (the ring is binary); the text fields are decoded here. */
function text(v: unknown): string {
  return v instanceof Uint8Array ? utf8.decode(v) : String(v ?? '');
}

export function decodeStoredLead(raw: Uint8Array, model: Model): StoredLead {
  const blob = decode(raw, { rawStrings: true }) as { s: Loose; o: unknown };
  const s = blob.s;
  const ruleId = (pos: number): string => {
    const rule = model.rules[pos - 1];
    if (!rule) throw new Error(`stored state names rule #${pos}, which model ${model.version} does not have`);
    return rule.id;
  };
  const ring = s.ring instanceof Uint8Array ? Buffer.from(s.ring).toString('hex') : '';
  const state: LeadState = { stage: text(s.stage), seq: Number(s.seq), ring };
  const c = byPosition<[number, number]>(s.c).sort((a, b) => a[0] - b[0]);
  if (c.length > 0) {
    state.ci = c.map(([pos]) => ruleId(pos));
    state.cv = c.flatMap(([, [v, t]]) => [v, t]);
  }
  const caps = byPosition<number[]>(s.caps).sort((a, b) => a[0] - b[0]);
  if (caps.length > 0) {
    state.ki = caps.map(([pos]) => ruleId(pos));
    state.kw = caps.map(([, window]) => window);
  }
  const sig = map<number>(s.sig);
  if (Object.keys(sig).length > 0) state.sig = sig;
  if (s.fit) {
    const fit = s.fit as { t: number; h: unknown; r?: number[] };
    const h = text(fit.h);
    state.fit =
      Array.isArray(fit.r) && fit.r.length > 0 ? { t: fit.t, h, r: fit.r.map(ruleId) } : { t: fit.t, h };
  }
  if (s.sales) {
    const sales = s.sales as { k: unknown; t: number; h: unknown; b: boolean };
    state.sales = {
      k: text(sales.k) as NonNullable<LeadState['sales']>['k'],
      t: sales.t,
      h: text(sales.h),
      b: sales.b,
    };
  }
  if (s.dq !== undefined && s.dq !== null) state.dq = Number(s.dq);
  return { state, offsets: map<number>(blob.o) };
}

/** Contributions and cap windows keyed by rule id: the order-free view tests compare. */
export function normalizeState(state: LeadState): Omit<LeadState, 'ci' | 'cv' | 'ki' | 'kw'> & {
  c: Record<string, [number, number]>;
  caps: Record<string, number[]>;
} {
  const { ci, cv, ki, kw, ...rest } = state;
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
