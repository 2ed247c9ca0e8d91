import { describe, expect, it } from 'vitest';
import { anyOf, unsafePatternReason } from './safe-regex.ts';

describe('unsafePatternReason', () => {
  it.each([
    '^/pricing',
    '^/(demo|contact-sales)/thank-you$',
    '^/docs/[a-z-]+/[a-z0-9-]+$',
    '(?:\\.\\d+)?$',
    '(?<section>blog|news)/',
    '[Ss]tudent|[Ii]ntern',
    'a{2,5}b',
    'x+?y',
    '[(*+)]',
    '\\(a+\\)',
  ])('accepts %j', (pattern) => {
    expect(unsafePatternReason(pattern)).toBeUndefined();
  });

  it.each([
    ['(a+)+', /repeated group/],
    ['(a*)*b', /repeated group/],
    ['((ab)+c)*', /repeated group/],
    ['(a|aa)+', /repeated group/],
    ['(?:x|y){2,}', /repeated group/],
    ['(a)\\1', /backreference/],
    ['(?<n>a)\\k<n>', /backreference/],
    ['foo(?=bar)', /lookahead/],
    ['(?<!x)y', /lookahead/],
    ['a{1,1000}', /counted repeat/],
    ['a{500}', /counted repeat/],
    ['.*a.*b.*c', /unbounded/],
    ['(?i:abc)', /unsupported group/],
    ['(abc', /unbalanced/],
    ['abc)', /unbalanced/],
    ['[abc', /unterminated/],
    ['*a', /quantifier without/],
    ['a**', /quantifier without/],
    ['x'.repeat(201), /longer than 200/],
  ])('refuses %j', (pattern, why) => {
    expect(unsafePatternReason(pattern)).toMatch(why);
  });

  it('allows an optional group that contains a quantifier: it cannot repeat', () => {
    expect(unsafePatternReason('v(\\d+)?')).toBeUndefined();
  });
});

describe('anyOf', () => {
  it('matches any listed pattern, ignoring case', () => {
    const re = anyOf(['GoogleImageProxy', '^curl/'])!;
    expect(re.test('Mozilla/5.0 (via ggpht.com GoogleImageProxy)')).toBe(true);
    expect(re.test('CURL/8.1')).toBe(true);
    expect(re.test('Mozilla/5.0 curl/8.1')).toBe(false);
  });

  it('is undefined for an empty list', () => {
    expect(anyOf([])).toBeUndefined();
  });
});
