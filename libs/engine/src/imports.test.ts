import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The engine's modules form a tree of layers (types -> model-types -> layout / state -> stage ->
 * apply ...): no module imports one that imports it back, directly or through others. A circle
 * makes the load order decide which binding is still undefined, and hides which module owns a
 * word of the vocabulary.
 */
const DIR = import.meta.dirname;

function localImports(file: string): string[] {
  const text = readFileSync(join(DIR, file), 'utf8');
  return [...text.matchAll(/from '\.\/([\w-]+\.ts)'/g)].map((m) => m[1]!);
}

function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'active' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'active') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'active');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('engine module graph', () => {
  const sources = readdirSync(DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  const graph = new Map(sources.map((f) => [f, localImports(f)]));

  it('has no import circle', () => {
    expect(findCycle(graph)).toBeUndefined();
  });

  it('finds a circle when there is one (the check itself works)', () => {
    const bad = new Map(graph);
    bad.set('types.ts', [...(graph.get('types.ts') ?? []), 'state.ts']);
    expect(findCycle(bad)).toEqual(expect.arrayContaining(['types.ts', 'state.ts']));
  });
});
