import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { outcomeLabel, parseRetryAfter, sign } from './webhook.ts';

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it('reads delay-seconds and every HTTP-date form', () => {
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 12:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('Thursday, 01-Jan-26 12:00:07 GMT', now)).toBe(7_000);
    expect(parseRetryAfter('Thu Jan  1 12:00:09 2026', now - 0)).not.toBeNull();
    expect(parseRetryAfter('Thu, 01 Jan 2026 11:00:00 GMT', now)).toBe(0); // in the past
  });

  it('ignores what is neither form', () => {
    for (const v of [null, '', '-1', '1.5', 'soon', '0x10', '1e3'])
      expect(parseRetryAfter(v, now), String(v)).toBeNull();
  });
});

describe('sign', () => {
  it('is v1=hex HMAC-SHA256 over "<timestamp>.<body>", as receivers verify it', () => {
    const expected = createHmac('sha256', 'k'.repeat(16)).update('1700000000000.{"a":1}').digest('hex');
    expect(sign('k'.repeat(16), 1_700_000_000_000, '{"a":1}')).toBe(`v1=${expected}`);
  });
});

describe('outcomeLabel', () => {
  it('names status classes, never anything from the request', () => {
    expect(outcomeLabel({ kind: 'delivered', status: 204 })).toBe('2xx');
    expect(
      outcomeLabel({ kind: 'retry', status: 429, error: 'HTTP 429', down: false, retryAfterMs: 1 }),
    ).toBe('429');
    expect(
      outcomeLabel({ kind: 'retry', status: 503, error: 'HTTP 503', down: true, retryAfterMs: null }),
    ).toBe('5xx');
    expect(outcomeLabel({ kind: 'rejected', status: 404, error: 'HTTP 404' })).toBe('4xx');
    expect(
      outcomeLabel({ kind: 'retry', status: null, error: 'timeout', down: true, retryAfterMs: null }),
    ).toBe('timeout');
    expect(
      outcomeLabel({ kind: 'retry', status: null, error: 'ECONNRESET', down: true, retryAfterMs: null }),
    ).toBe('network');
  });
});
