import type { PropValue } from './types.ts';

/** A property matcher as written in the model file; all given keys must hold. */
export interface MatcherSpec {
  equals?: string | number | boolean;
  oneOf?: (string | number | boolean)[];
  prefix?: string;
  range?: { gte?: number; gt?: number; lte?: number; lt?: number };
  /** Checked by unsafePatternReason before it gets here. */
  pattern?: string;
  exists?: boolean;
}

export type Test = (value: PropValue | undefined) => boolean;

/**
 * Compiles `where: { prop: matcher }` once into a list of (property, test) checks, all of which
 * must hold. Regexes are built here, never per event. A missing or null property fails every
 * matcher but `exists: false`.
 */
export function compileChecks(where: Record<string, MatcherSpec>): [string, Test][] {
  const checks: [string, Test][] = [];
  for (const [prop, spec] of Object.entries(where)) {
    for (const test of compileMatcher(spec)) checks.push([prop, test]);
  }
  return checks;
}

/** The checks of `where` as one predicate over an event's props. */
export function compileWhere(
  where: Record<string, MatcherSpec>,
): (props: Record<string, PropValue>) => boolean {
  return checksPredicate(compileChecks(where));
}

/** Compiled checks as one predicate over an event's props (evaluateEvent has its own loop). */
export function checksPredicate(checks: [string, Test][]): (props: Record<string, PropValue>) => boolean {
  if (checks.length === 0) return () => true;
  return (props) => {
    for (const [prop, test] of checks) {
      if (!test(props[prop])) return false;
    }
    return true;
  };
}

function compileMatcher(spec: MatcherSpec): Test[] {
  const tests: Test[] = [];
  if (spec.exists !== undefined) {
    const want = spec.exists;
    tests.push((v) => (v !== undefined && v !== null) === want);
  }
  if (spec.equals !== undefined) {
    const want = spec.equals;
    tests.push((v) => v === want);
  }
  if (spec.oneOf !== undefined) {
    const set = new Set<PropValue>(spec.oneOf);
    tests.push((v) => v !== undefined && set.has(v));
  }
  if (spec.prefix !== undefined) {
    const prefix = spec.prefix;
    tests.push((v) => typeof v === 'string' && v.startsWith(prefix));
  }
  if (spec.range !== undefined) {
    const { gte = -Infinity, gt = -Infinity, lte = Infinity, lt = Infinity } = spec.range;
    tests.push((v) => typeof v === 'number' && v >= gte && v > gt && v <= lte && v < lt);
  }
  if (spec.pattern !== undefined) {
    const re = new RegExp(spec.pattern);
    tests.push((v) => typeof v === 'string' && re.test(v));
  }
  return tests;
}
