import type { Dimension, Layout, Rule } from './model-types.ts';
import { EVENT_TYPES } from './types.ts';

/**
 * Where each part of a lead's state lives in its list of numbers (`LeadState.n`), per model.
 * See `Layout` (model-types.ts) for the slots and state.ts for the state that uses them.
 */

const layouts = new Map<string, Layout>();

/**
 * The layout of a compiled model; the same object for every model with the same key. The slots
 * every event reads (ring, running totals, verdict, signals) come first, in two or three cache
 * lines; the per-rule slots after them are touched only for the rules an event hits.
 */
export function layoutFor(dimensions: readonly Dimension[], rules: readonly Rule[], window: number): Layout {
  const signals: string[] = [];
  for (const r of rules) if (r.signal && !signals.includes(r.signal)) signals.push(r.signal);
  const parts = rules.map(
    (r) =>
      `${r.id}:${r.dimension?.index ?? ''}:${r.fit ? 'f' : ''}${keepsValue(r) ? 'v' : ''}${capOf(r) ?? ''}`,
  );
  const dims = dimensions.map((d) => (d.halfLifeMs ? 'd' : 'f'));
  const key = `${window}|${dims.join('')}|${parts.join(',')}|${signals.join(',')}`;
  const known = layouts.get(key);
  if (known) return known;

  // One dedupe ring per event type: [count, next, hash_0 .. hash_{W-1}].
  const template: number[] = [];
  const ringAt = new Int32Array(EVENT_TYPES.length);
  for (let t = 0; t < EVENT_TYPES.length; t++) {
    ringAt[t] = template.length;
    template.push(0, 0);
    for (let i = 0; i < window; i++) template.push(0);
  }
  const totalAt = new Int32Array(dimensions.length).fill(-1);
  for (const d of dimensions) {
    if (!d.halfLifeMs) continue;
    totalAt[d.index] = template.length;
    template.push(0, Number.NaN);
  }
  const salesAt = template.length;
  template.push(0, Number.NaN, 0, 0);
  const dqAt = template.length;
  template.push(Number.NaN);
  const signalAt = new Map<string, number>();
  for (const s of signals) {
    signalAt.set(s, template.length);
    template.push(Number.NaN);
  }
  const fitAt = template.length;
  const fitRules = rules.filter((r) => r.fit && r.dimension).length;
  template.push(Number.NaN, 0, 0);
  for (let i = 0; i < fitRules; i++) template.push(0);
  const valueAt = new Int32Array(rules.length).fill(-1);
  const capAt = new Int32Array(rules.length).fill(-1);
  const capHits = new Int32Array(rules.length);
  const at: number[] = [];
  const dim: number[] = [];
  const halfLife: number[] = [];
  for (const r of rules) {
    if (!keepsValue(r)) continue;
    valueAt[r.index] = template.length;
    at.push(template.length);
    dim.push(r.dimension!.index);
    halfLife.push(r.dimension!.halfLifeMs!);
    template.push(0, Number.NaN);
    // The cap window right after the contribution: a hit touches one stretch of the list.
    const hits = capOf(r);
    if (hits === undefined) continue;
    capAt[r.index] = template.length;
    capHits[r.index] = hits;
    template.push(0, 0);
    for (let i = 0; i < hits; i++) template.push(0);
  }
  // Pushing a NaN made the list a list of doubles: slice() keeps that, so every copy is one
  // flat block of 8-byte numbers.
  const layout: Layout = {
    key,
    ruleIds: rules.map((r) => r.id),
    window,
    ringAt,
    totalAt,
    totalHalfLife: Float64Array.from(dimensions, (d) => d.halfLifeMs ?? 0),
    valueAt,
    capAt,
    capHits,
    decaying: { at: Int32Array.from(at), dim: Int32Array.from(dim), halfLife: Float64Array.from(halfLife) },
    signalAt,
    fitAt,
    salesAt,
    dqAt,
    template,
  };
  layouts.set(key, layout);
  return layout;
}

/** Rules whose points decay keep a contribution; fit rules are replaced, not added. */
function keepsValue(r: Rule): boolean {
  return !r.fit && r.dimension !== undefined && r.dimension.halfLifeMs !== null && r.dimension.halfLifeMs > 0;
}

function capOf(r: Rule): number | undefined {
  return keepsValue(r) && r.cap ? r.cap.hits : undefined;
}
