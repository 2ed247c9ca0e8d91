import type { LeadState } from '@leadscorer/engine';
import { decode } from '@msgpack/msgpack';

/**
 * Reads the lead state string the Lua scripts write (MessagePack of { s, o }). MessagePack
 * cannot tell an empty map from an empty array, so empty collections are normalised here.
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

export function decodeStoredLead(raw: Uint8Array): StoredLead {
  const blob = decode(raw) as { s: Loose; o: unknown };
  const s = blob.s;
  const state: LeadState = {
    stage: String(s.stage),
    seq: Number(s.seq),
    ring: String(s.ring ?? ''),
    c: map<[number, number]>(s.c),
    caps: map<{ w: number; hits: number[] }>(s.caps),
    sig: map<number>(s.sig),
  };
  if (s.fit) {
    const fit = s.fit as { t: number; h: string; r?: string[] };
    state.fit =
      Array.isArray(fit.r) && fit.r.length > 0 ? { t: fit.t, h: fit.h, r: fit.r } : { t: fit.t, h: fit.h };
  }
  if (s.sales) state.sales = s.sales as NonNullable<LeadState['sales']>;
  if (s.dq !== undefined && s.dq !== null) state.dq = Number(s.dq);
  return { state, offsets: map<number>(blob.o) };
}
