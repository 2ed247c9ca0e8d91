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
  /** In model order; `ix` is the rule's stored position (see RulePositions in store.ts). */
  rules: {
    id: string;
    ix: number;
    d: number;
    p: number;
    fit: boolean;
    cap?: { n: number; w: number };
    sig?: string;
  }[];
  ladder: { name: string; enter: LuaCondition[]; stay: LuaCondition[] }[];
  dedupe: number;
}

/**
 * `positions` names each rule's position in the stored state; by default the model order
 * (1-based), which is what a fresh store's position registry assigns.
 */
export function compileLuaModel(
  model: Model,
  positions: ReadonlyMap<string, number> = modelOrder(model),
): LuaModel {
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
      ix: positions.get(r.id) ?? missing(r.id),
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

export function modelOrder(model: Model): Map<string, number> {
  return new Map(model.rules.map((r, i) => [r.id, i + 1]));
}

function missing(id: string): never {
  throw new Error(`rule ${id} has no stored position`);
}
