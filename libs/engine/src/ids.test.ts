import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventHash, transitionId } from './ids.ts';

describe('eventHash', () => {
  it('is the first 8 hex chars of sha1(eventId)', () => {
    // sha1("abc") = a9993e364706816aba3e25717850c26c9cd0d89d (FIPS 180 test vector)
    expect(eventHash('abc')).toBe('a9993e36');
    expect(eventHash('evt-1')).toBe(createHash('sha1').update('evt-1').digest('hex').slice(0, 8));
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
