import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ORDER_BAND, orderKey, scoreOfKey } from './indexes.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

/** A score s at time t faded to time u: what every score of the dimension does. */
const fade = (s: number, t: number, u: number, h: number) => s * 2 ** (-(u - t) / h);

describe('orderKey', () => {
  const score = fc.oneof(
    fc.constant(0),
    fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
    fc.double({ min: 1e-300, max: 1e-3, noNaN: true }),
  );
  const time = fc.integer({ min: T0, max: T0 + 3 * 365 * 24 * HOUR });
  const halfLife = fc.integer({ min: 60_000, max: 365 * 24 * HOUR });

  it('orders two leads as their scores compare at any later time, whenever each key was written', () => {
    fc.assert(
      fc.property(
        score,
        time,
        score,
        time,
        halfLife,
        fc.integer({ min: 0, max: 400 * 24 * HOUR }),
        (a, ta, b, tb, h, dt) => {
          const later = Math.max(ta, tb) + dt;
          const sa = fade(a, ta, later, h);
          const sb = fade(b, tb, later, h);
          const ka = orderKey(a, ta, h);
          const kb = orderKey(b, tb, h);
          // Scores that differ by more than the key's resolution compare as their keys do.
          if (Math.abs(sa - sb) > 1e-8 * Math.max(Math.abs(sa), Math.abs(sb))) {
            expect(Math.sign(ka - kb)).toBe(Math.sign(sa - sb));
          }
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('keeps positive keys above zero and zero above negative keys', () => {
    fc.assert(
      fc.property(
        fc.double({ min: Number.MIN_VALUE, max: 1e300, noNaN: true }),
        time,
        halfLife,
        (s, t, h) => {
          expect(orderKey(s, t, h)).toBeGreaterThan(0);
          expect(orderKey(-s, t, h)).toBeLessThan(0);
          expect(orderKey(s, t, h)).toBeGreaterThanOrEqual(ORDER_BAND - 1075);
        },
      ),
    );
    expect(orderKey(0, T0, HOUR)).toBe(0);
  });

  it('is the score itself for a dimension that does not fade, and scoreOfKey inverts it', () => {
    expect(orderKey(-12.5, T0, null)).toBe(-12.5);
    for (const s of [42, -3.25, 0.001]) {
      expect(scoreOfKey(orderKey(s, T0, 7 * 24 * HOUR), T0 + 7 * 24 * HOUR, 7 * 24 * HOUR)).toBeCloseTo(
        s / 2,
        9,
      );
    }
  });
});
