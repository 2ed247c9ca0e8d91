import type { Model } from '@leadscorer/engine';

/**
 * The model as the Lua engine port reads it (see lua/includes/engine.lua for the shape):
 * indices instead of object references, 1-based like Lua, short keys because it is sent with
 * every script call. Matching stays in TypeScript, so no matcher or regex is here.
 */
type LuaCondition =
  | { k: 'score'; d: number; gte: number }
  | { k: 'signal'; s: string; w: number }
  | { k: 'sales' };

export interface LuaModel {
  version: string;
  dims: { name: string; h: number }[];
  rules: { id: string; d: number; p: number; fit: boolean; cap?: { n: number; w: number }; sig?: string }[];
  ladder: { name: string; enter: LuaCondition[]; stay: LuaCondition[] }[];
  dedupe: number;
}

export function compileLuaModel(model: Model): LuaModel {
  const conditions = (list: Model['ladder'][number]['enter']): LuaCondition[] =>
    list.map((c) =>
      c.kind === 'score'
        ? { k: 'score', d: c.dimension.index + 1, gte: c.gte }
        : c.kind === 'signal'
          ? { k: 'signal', s: c.signal, w: c.withinMs }
          : { k: 'sales' },
    );
  return {
    version: model.version,
    dims: model.dimensions.map((d) => ({ name: d.name, h: d.halfLifeMs ?? 0 })),
    rules: model.rules.map((r) => ({
      id: r.id,
      d: r.dimension ? r.dimension.index + 1 : 0,
      p: r.points,
      fit: r.fit,
      ...(r.cap ? { cap: { n: r.cap.hits, w: r.cap.windowMs } } : {}),
      ...(r.signal ? { sig: r.signal } : {}),
    })),
    ladder: model.ladder.map((s) => ({ name: s.name, enter: conditions(s.enter), stay: conditions(s.stay) })),
    dedupe: model.dedupeWindow,
  };
}
