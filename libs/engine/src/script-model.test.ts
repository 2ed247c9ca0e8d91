import { describe, expect, it } from 'vitest';
import { compileForScript } from './script-model.ts';
import { DAY, testModel } from './test-support.ts';

describe('compileForScript', () => {
  const script = compileForScript(testModel);

  it('carries only what applyEffect, the ladder and nextChangeAt need, as plain JSON', () => {
    expect(JSON.parse(JSON.stringify(script))).toEqual(script);
    expect(script.version).toBe('test-1');
    expect(script.dedupeWindow).toBe(4);
    expect(script.dimensions).toEqual([
      { name: 'engagement', halfLifeMs: 10 * DAY },
      { name: 'product', halfLifeMs: 5 * DAY },
      { name: 'fit', halfLifeMs: 0 },
    ]);
  });

  it('lists scoring rules in model order with caps, and leaves out signal/disqualify-only rules', () => {
    expect(script.rules.map((r) => r.id)).toEqual([
      'page',
      'neg',
      'capped',
      'open',
      'use',
      'intent',
      'fit_exec',
      'fit_size',
    ]);
    expect(script.rules[2]).toEqual({
      id: 'capped',
      dimension: 'engagement',
      points: 3,
      fit: false,
      cap: { hits: 2, windowMs: DAY },
    });
    expect(script.rules[6]).toEqual({ id: 'fit_exec', dimension: 'fit', points: 20, fit: true });
  });

  it('spells out the ladder with stay defaulting to enter', () => {
    expect(script.ladder[0]).toEqual({ name: 'unqualified', enter: [], stay: [] });
    expect(script.ladder[2]).toEqual({
      name: 'sql',
      enter: [{ salesQualified: true }],
      stay: [{ salesQualified: true }],
    });
    expect(script.ladder[4]).toEqual({
      name: 'cql',
      enter: [
        { score: 'product', gte: 60 },
        { signal: 'intent', withinMs: 7 * DAY },
      ],
      stay: [
        { score: 'product', gte: 45 },
        { signal: 'intent', withinMs: 7 * DAY },
      ],
    });
  });
});
