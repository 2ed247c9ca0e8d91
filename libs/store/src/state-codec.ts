import type { LeadState } from '@leadscorer/engine';
import { decode } from '@msgpack/msgpack';

/**
 * Reads the lead state string the Lua scripts write (MessagePack of { s, o }) into the engine's
 * LeadState. Lua keeps contributions and cap windows as maps keyed by rule id (natural in Lua,
 * compact in MessagePack); the engine keeps parallel lists (fast in V8). Both hold the same
 * numbers; lists come out in model rule order. MessagePack cannot tell an empty map from an
 * empty array, so empty collections are normalised here.
 */
export interface StoredLead {
  state: LeadState;
  /** Offset watermark per source ("w3" = web topic, partition 3). */
  offsets: Record<string, number>;
}

type Loose = Record<string, unknown>;

function map<T>(v: unknown): Record<string, T> {
  return v && !Array.isArray(v) && typeof v === 'object' ? (v as Record<string, T>) : {};
}

export function decodeStoredLead(raw: Uint8Array, ruleOrder?: readonly string[]): StoredLead {
  const blob = decode(raw) as { s: Loose; o: unknown };
  const s = blob.s;
  const state: LeadState = { stage: String(s.stage), seq: Number(s.seq), ring: String(s.ring ?? '') };
  const order = (ids: string[]) =>
    ruleOrder ? ids.sort((a, b) => ruleOrder.indexOf(a) - ruleOrder.indexOf(b)) : ids.sort();
  const c = map<[number, number]>(s.c);
  const ci = order(Object.keys(c));
  if (ci.length > 0) {
    state.ci = ci;
    state.cv = ci.flatMap((id) => [c[id]![0], c[id]![1]]);
  }
  const caps = map<{ w: number; hits: number[] }>(s.caps);
  const ki = order(Object.keys(caps));
  if (ki.length > 0) {
    state.ki = ki;
    state.kw = ki.map((id) => [caps[id]!.w, ...caps[id]!.hits]);
  }
  const sig = map<number>(s.sig);
  if (Object.keys(sig).length > 0) state.sig = sig;
  if (s.fit) {
    const fit = s.fit as { t: number; h: string; r?: string[] };
    state.fit =
      Array.isArray(fit.r) && fit.r.length > 0 ? { t: fit.t, h: fit.h, r: fit.r } : { t: fit.t, h: fit.h };
  }
  if (s.sales) state.sales = s.sales as NonNullable<LeadState['sales']>;
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
