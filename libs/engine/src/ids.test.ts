import { describe, expect, it } from 'vitest';
import { eventHash, fmix32, fnv1a32, transitionId } from './ids.ts';

describe('eventHash', () => {
  it('builds on 32-bit FNV-1a (published test vectors) and the murmur3 finalizer', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    expect(fmix32(0)).toBe(0);
    // The finalizer is a bijection: distinct inputs stay distinct.
    const outs = new Set(Array.from({ length: 10_000 }, (_, i) => fmix32(i)));
    expect(outs.size).toBe(10_000);
  });

  it('is fmix32(fnv1a32(id)) as 8 lowercase hex characters, leading zeros kept', () => {
    for (const id of ['', 'a', 'evt-1', '0e4f0c4c-6a4a-4d8e-9f1e-3f2d5c1b7a90', 'é✓ unicode']) {
      expect(eventHash(id)).toBe(fmix32(fnv1a32(id)).toString(16).padStart(8, '0'));
    }
    const hashes = Array.from({ length: 5_000 }, (_, i) => eventHash(`evt-${i}`));
    expect(hashes.every((h) => /^[0-9a-f]{8}$/.test(h))).toBe(true);
    expect(hashes.some((h) => h.startsWith('0'))).toBe(true);
  });

  it('tells apart ids that differ in one character, wherever it is', () => {
    const base = 'lead-42:web:2026-11-23T12:00:00Z:0001';
    const variants = new Set([base]);
    for (let i = 0; i < base.length; i++) variants.add(`${base.slice(0, i)}#${base.slice(i + 1)}`);
    expect(new Set([...variants].map(eventHash)).size).toBe(variants.size);
  });

  it('spreads sequential ids evenly over the first hex digit', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[Number.parseInt(eventHash(`evt-${i}`)[0]!, 16)]!++;
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(Math.max(...counts)).toBeLessThan(1_200);
  });
});

describe('transitionId', () => {
  it('is a stable version-5-shaped UUID', () => {
    const id = transitionId('lead-1', 3, 'mql', 'sql');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(transitionId('lead-1', 3, 'mql', 'sql')).toBe(id);
  });

  it('differs when any part differs, including ambiguous concatenations', () => {
    const ids = new Set([
      transitionId('lead-1', 3, 'mql', 'sql'),
      transitionId('lead-1', 4, 'mql', 'sql'),
      transitionId('lead-2', 3, 'mql', 'sql'),
      transitionId('lead-1', 3, 'sql', 'mql'),
      transitionId('lead-13', 3, 'mql', 'sql'),
      transitionId('lead-1', 33, 'mql', 'sql'),
    ]);
    expect(ids.size).toBe(6);
  });
});
