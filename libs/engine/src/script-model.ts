import type { Model } from './model.ts';

export type ScriptCondition =
  | { score: string; gte: number }
  | { signal: string; withinMs: number }
  | { salesQualified: true };

/**
 * What the Redis Lua script needs to run applyEffect, the ladder and nextChangeAt: passed to it
 * as a JSON argument. Matching stays in TypeScript (evaluateEvent), so no matcher or regex is here.
 */
export interface ScriptModel {
  version: string;
  /** halfLifeMs 0 means the dimension does not decay (fit). */
  dimensions: { name: string; halfLifeMs: number }[];
  /** Rules that score, in model order: scores are summed in this order. */
  rules: {
    id: string;
    dimension: string;
    points: number;
    fit: boolean;
    cap?: { hits: number; windowMs: number };
  }[];
  /** Lowest first. */
  ladder: { name: string; enter: ScriptCondition[]; stay: ScriptCondition[] }[];
  dedupeWindow: number;
}

export function compileForScript(model: Model): ScriptModel {
  const rules: ScriptModel['rules'] = [];
  for (const r of model.rules) {
    if (!r.dimension) continue; // signal / disqualify only: the effect carries those
    rules.push({
      id: r.id,
      dimension: r.dimension.name,
      points: r.points,
      fit: r.fit,
      ...(r.cap ? { cap: r.cap } : {}),
    });
  }
  const conditions = (list: Model['ladder'][number]['enter']): ScriptCondition[] =>
    list.map((c) =>
      c.kind === 'score'
        ? { score: c.dimension.name, gte: c.gte }
        : c.kind === 'signal'
          ? { signal: c.signal, withinMs: c.withinMs }
          : { salesQualified: true },
    );
  return {
    version: model.version,
    dimensions: model.dimensions.map((d) => ({ name: d.name, halfLifeMs: d.halfLifeMs ?? 0 })),
    rules,
    ladder: model.ladder.map((s) => ({ name: s.name, enter: conditions(s.enter), stay: conditions(s.stay) })),
    dedupeWindow: model.dedupeWindow,
  };
}
