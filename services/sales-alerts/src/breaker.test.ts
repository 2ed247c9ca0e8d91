import { describe, expect, it } from 'vitest';
import { Breaker } from './breaker.ts';

describe('Breaker', () => {
  const T = 1_000_000;

  it('opens after the configured consecutive failures, and lets nothing through while open', () => {
    const b = new Breaker({ failures: 3, cooldownMs: 1_000 });
    expect(b.permits(T, 0, 4)).toBe(4);
    b.record(T, false);
    b.record(T, false);
    expect(b.state(T)).toBe('closed');
    b.record(T, true); // a success in between resets the count
    b.record(T, false);
    b.record(T, false);
    expect(b.state(T)).toBe('closed');
    b.record(T + 10, false);
    expect(b.state(T + 10)).toBe('open');
    expect(b.permits(T + 500, 0, 4)).toBe(0);
    expect(b.reopensAt()).toBe(T + 1_010);
  });

  it('half-open: one probe at a time; a failed probe opens it again, a good one closes it', () => {
    const b = new Breaker({ failures: 1, cooldownMs: 1_000 });
    b.record(T, false);
    expect(b.state(T + 1_000)).toBe('half-open');
    expect(b.permits(T + 1_000, 1, 4)).toBe(0); // something still in flight
    expect(b.permits(T + 1_000, 0, 4)).toBe(1);
    b.started(T + 1_000);
    expect(b.permits(T + 1_001, 0, 4)).toBe(0); // the probe is out
    b.record(T + 1_200, false);
    expect(b.state(T + 1_300)).toBe('open');
    expect(b.state(T + 2_200)).toBe('half-open');
    b.started(T + 2_200);
    b.record(T + 2_300, true);
    expect(b.state(T + 2_300)).toBe('closed');
    expect(b.permits(T + 2_300, 1, 4)).toBe(3);
  });
});
