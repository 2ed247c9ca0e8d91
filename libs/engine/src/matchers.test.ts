import { describe, expect, it } from 'vitest';
import { compileWhere } from './matchers.ts';
import type { PropValue } from './types.ts';

const on = (value: PropValue | undefined): Record<string, PropValue> =>
  value === undefined ? {} : { x: value };

describe('compileWhere matchers', () => {
  it('equals compares strictly, types included', () => {
    const m = compileWhere({ x: { equals: 'open' } });
    expect(m(on('open'))).toBe(true);
    expect(m(on('Open'))).toBe(false);
    expect(m(on(undefined))).toBe(false);
    expect(compileWhere({ x: { equals: 5 } })(on('5'))).toBe(false);
    expect(compileWhere({ x: { equals: false } })(on(false))).toBe(true);
    expect(compileWhere({ x: { equals: false } })(on(null))).toBe(false);
  });

  it('oneOf accepts any listed value', () => {
    const m = compileWhere({ x: { oneOf: ['vp', 'cxo', 3] } });
    expect(m(on('vp'))).toBe(true);
    expect(m(on('cxo'))).toBe(true);
    expect(m(on(3))).toBe(true);
    expect(m(on('ic'))).toBe(false);
    expect(m(on(undefined))).toBe(false);
  });

  it('prefix only matches strings that start with it', () => {
    const m = compileWhere({ x: { prefix: '/pricing' } });
    expect(m(on('/pricing'))).toBe(true);
    expect(m(on('/pricing/enterprise'))).toBe(true);
    expect(m(on('/en/pricing'))).toBe(false);
    expect(m(on(7))).toBe(false);
  });

  it('range honours each bound, inclusive and exclusive, numbers only', () => {
    const m = compileWhere({ x: { range: { gte: 50, lt: 500 } } });
    expect(m(on(50))).toBe(true);
    expect(m(on(499.9))).toBe(true);
    expect(m(on(49))).toBe(false);
    expect(m(on(500))).toBe(false);
    expect(m(on('100'))).toBe(false);
    const open = compileWhere({ x: { range: { gt: 5000 } } });
    expect(open(on(5000))).toBe(false);
    expect(open(on(5001))).toBe(true);
    const closed = compileWhere({ x: { range: { lte: 10 } } });
    expect(closed(on(10))).toBe(true);
    expect(closed(on(10.5))).toBe(false);
  });

  it('pattern tests strings with the compiled regex', () => {
    const m = compileWhere({ x: { pattern: '^/(demo|contact-sales)/thank-you' } });
    expect(m(on('/demo/thank-you'))).toBe(true);
    expect(m(on('/contact-sales/thank-you?x=1'))).toBe(true);
    expect(m(on('/blog/demo/thank-you'))).toBe(false);
    expect(m(on(1))).toBe(false);
  });

  it('exists tells present values from missing and null ones', () => {
    const present = compileWhere({ x: { exists: true } });
    const absent = compileWhere({ x: { exists: false } });
    expect(present(on('a'))).toBe(true);
    expect(present(on(0))).toBe(true);
    expect(present(on(null))).toBe(false);
    expect(present(on(undefined))).toBe(false);
    expect(absent(on(null))).toBe(true);
    expect(absent(on(undefined))).toBe(true);
    expect(absent(on(''))).toBe(false);
  });

  it('requires every matcher on every property', () => {
    const m = compileWhere({
      path: { prefix: '/docs', pattern: 'api' },
      durationSeconds: { range: { gte: 30 } },
    });
    expect(m({ path: '/docs/api', durationSeconds: 40 })).toBe(true);
    expect(m({ path: '/docs/guide', durationSeconds: 40 })).toBe(false);
    expect(m({ path: '/docs/api', durationSeconds: 10 })).toBe(false);
    expect(m({ path: '/docs/api' })).toBe(false);
  });

  it('matches everything when there is no condition', () => {
    expect(compileWhere({})({})).toBe(true);
  });
});
