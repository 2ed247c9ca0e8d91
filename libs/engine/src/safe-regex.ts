/**
 * Model patterns run on every event, against values an outsider controls (URLs, user agents),
 * so a pattern that backtracks catastrophically would let one crafted event stall a consumer.
 * This check is deliberately conservative: it refuses the constructs behind exponential
 * backtracking (a repeated group that itself contains a quantifier or an alternation, and
 * backreferences), lookarounds, large counted repeats, and more than two unbounded quantifiers,
 * which keeps the worst case polynomial and small for the bounded inputs events carry.
 */

export const MAX_PATTERN_LENGTH = 200;
const MAX_REPEAT = 100;
const MAX_UNBOUNDED = 2;

interface Frame {
  quantified: boolean;
  alternation: boolean;
}

type Last = 'none' | 'atom' | 'quantifier' | { group: Frame };

/** Why a pattern is refused, or undefined when it is accepted. Also checks that it compiles. */
export function unsafePatternReason(source: string): string | undefined {
  if (source.length > MAX_PATTERN_LENGTH) return `pattern longer than ${MAX_PATTERN_LENGTH} characters`;
  const why = scan(source);
  if (why) return why;
  try {
    new RegExp(source);
  } catch (err) {
    return `not a valid regular expression: ${(err as Error).message}`;
  }
  return undefined;
}

function scan(src: string): string | undefined {
  const stack: Frame[] = [{ quantified: false, alternation: false }];
  let last: Last = 'none';
  let unbounded = 0;
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    const top = stack[stack.length - 1]!;
    if (ch === '\\') {
      const next = src[i + 1] ?? '';
      if (/[1-9]/.test(next) || (next === 'k' && src[i + 2] === '<')) return 'backreferences are not allowed';
      i += 2;
      last = 'atom';
    } else if (ch === '[') {
      i = skipClass(src, i);
      if (i < 0) return 'unterminated character class';
      last = 'atom';
    } else if (ch === '(') {
      let open = 1;
      if (src[i + 1] === '?') {
        if (/^\(\?(=|!|<=|<!)/.test(src.slice(i, i + 4))) return 'lookahead and lookbehind are not allowed';
        const named = /^\(\?<[A-Za-z_][A-Za-z0-9_]*>/.exec(src.slice(i));
        if (src.startsWith('(?:', i)) open = 3;
        else if (named) open = named[0].length;
        else return 'unsupported group syntax (use (...), (?:...) or (?<name>...))';
      }
      stack.push({ quantified: false, alternation: false });
      i += open;
      last = 'none';
    } else if (ch === ')') {
      if (stack.length === 1) return 'unbalanced parenthesis';
      const closed = stack.pop()!;
      const parent = stack[stack.length - 1]!;
      // What is inside a group is inside its parent too: ((a+)b)* nests as deeply as (a+)*.
      parent.quantified ||= closed.quantified;
      parent.alternation ||= closed.alternation;
      i += 1;
      last = { group: closed };
    } else if (ch === '|') {
      top.alternation = true;
      i += 1;
      last = 'none';
    } else if (
      ch === '*' ||
      ch === '+' ||
      ch === '?' ||
      (ch === '{' && /^\{\d+(,\d*)?\}/.test(src.slice(i)))
    ) {
      if (ch === '?' && last === 'quantifier') {
        i += 1; // lazy modifier, not a second quantifier
        continue;
      }
      if (last === 'none' || last === 'quantifier') return 'quantifier without something to repeat';
      const q = ch === '{' ? /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i))! : undefined;
      const max = q
        ? q[2] === undefined
          ? Number(q[1])
          : q[3] === ''
            ? Infinity
            : Number(q[3])
        : ch === '?'
          ? 1
          : Infinity;
      if (q && Number(q[1]) > MAX_REPEAT) return `counted repeat above ${MAX_REPEAT}`;
      if (max !== Infinity && max > MAX_REPEAT) return `counted repeat above ${MAX_REPEAT}`;
      if (max > 1 && typeof last === 'object' && (last.group.quantified || last.group.alternation)) {
        return 'a repeated group must not contain a quantifier or an alternation (catastrophic backtracking)';
      }
      if (max === Infinity && ++unbounded > MAX_UNBOUNDED)
        return `more than ${MAX_UNBOUNDED} unbounded quantifiers`;
      top.quantified = true;
      i += q ? q[0].length : 1;
      last = 'quantifier';
    } else {
      i += 1;
      last = 'atom';
    }
  }
  if (stack.length !== 1) return 'unbalanced parenthesis';
  return undefined;
}

/** Index just past the `]` closing the class that opens at `start`, or -1. */
function skipClass(src: string, start: number): number {
  let i = start + 1;
  if (src[i] === '^') i += 1;
  while (i < src.length) {
    if (src[i] === '\\') i += 2;
    else if (src[i] === ']') return i + 1;
    else i += 1;
  }
  return -1;
}

/** Compiles a list of accepted patterns into one case-insensitive regex (any of them matches). */
export function anyOf(patterns: readonly string[]): RegExp | undefined {
  if (patterns.length === 0) return undefined;
  return new RegExp(patterns.map((p) => `(?:${p})`).join('|'), 'i');
}
