import type { ModelFile } from '@leadscorer/engine';

/**
 * The model's pieces in plain words for marketing operations: durations, matchers, rules and
 * stage conditions. Shared by `diff` and `explain` so both say the same thing the same way.
 */

export type RuleSpec = ModelFile['rules'][number];
export type StageSpec = ModelFile['stages'][number];
export type ConditionSpec = NonNullable<StageSpec['enter']>[number];
type Matcher = NonNullable<RuleSpec['when']['where']>[string];

const UNITS: Record<string, string> = {
  ms: 'millisecond',
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
};

/** `14d` -> `14 days`, `1d` -> `1 day`. The model's duration strings are validated already. */
export function durationWords(spec: string): string {
  const m = /^(\d+)(ms|s|m|h|d|w)$/.exec(spec);
  if (!m) return spec;
  const n = Number(m[1]);
  return `${n} ${UNITS[m[2]!]}${n === 1 ? '' : 's'}`;
}

/** `1d` -> `a day`, `12h` -> `per 12 hours`: for "at most 3 times a day". */
function perWindow(spec: string): string {
  const m = /^1(s|m|h|d|w)$/.exec(spec);
  return m ? `a ${UNITS[m[1]!]}` : `per ${durationWords(spec)}`;
}

export function times(n: number): string {
  return n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`;
}

/** Points as people write them: 10, -5, 2.5 (no trailing zeros, at most 2 decimals). */
export function num(x: number): string {
  return String(Math.round(x * 100) / 100);
}

export function signed(x: number): string {
  return x > 0 ? `+${num(x)}` : num(x);
}

const EVENTS: Record<string, { one: string; many: string }> = {
  web: { one: 'website visit', many: 'website visits' },
  email: { one: 'email event', many: 'email events' },
  trial: { one: 'trial event', many: 'trial events' },
  profile: { one: 'profile', many: 'profiles' },
  sales: { one: 'sales verdict', many: 'sales verdicts' },
};

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

function matcherWords(prop: string, m: Matcher): string {
  const parts: string[] = [];
  if (m.equals !== undefined) parts.push(`is ${show(m.equals)}`);
  if (m.oneOf) parts.push(`is one of ${m.oneOf.map(show).join(', ')}`);
  if (m.prefix !== undefined) parts.push(`starts with ${m.prefix}`);
  if (m.range) {
    const r = m.range;
    if (r.gte !== undefined && r.lte !== undefined && r.gt === undefined && r.lt === undefined) {
      parts.push(`is between ${num(r.gte)} and ${num(r.lte)}`);
    } else if (r.gte !== undefined) parts.push(`is at least ${num(r.gte)}`);
    if (r.gt !== undefined) parts.push(`is more than ${num(r.gt)}`);
    if (r.lte !== undefined && r.gte === undefined) parts.push(`is at most ${num(r.lte)}`);
    if (r.lt !== undefined) parts.push(`is less than ${num(r.lt)}`);
  }
  if (m.pattern !== undefined) parts.push(`matches the pattern ${m.pattern}`);
  if (m.exists !== undefined) parts.push(m.exists ? 'is set' : 'is not set');
  return `${prop} ${parts.join(' and ')}`;
}

/** What a rule counts: `website visits whose path starts with /pricing`. */
export function whenWords(rule: RuleSpec): string {
  const ev = EVENTS[rule.when.type] ?? { one: rule.when.type, many: rule.when.type };
  const where = Object.entries(rule.when.where ?? {});
  if (where.length === 0) return `every ${ev.one}`;
  return `${ev.many} whose ${where.map(([p, m]) => matcherWords(p, m)).join(' and ')}`;
}

/** Only the matchers: `path starts with /pricing` (for "now counts ... (before: ...)"). */
export function whereWords(rule: RuleSpec): string {
  const where = Object.entries(rule.when.where ?? {});
  return where.length === 0 ? 'any' : where.map(([p, m]) => matcherWords(p, m)).join(' and ');
}

export function capWords(cap: RuleSpec['cap']): string {
  return cap ? `at most ${times(cap.hits)} ${perWindow(cap.window)}` : 'no limit';
}

/** What a hit does: `+10 engagement points, at most 3 times a day; raises buying_intent`. */
export function effectWords(rule: RuleSpec, fit: boolean): string {
  const parts: string[] = [];
  if (rule.points !== undefined && rule.dimension !== undefined) {
    const points = `${signed(rule.points)} ${rule.dimension} point${Math.abs(rule.points) === 1 ? '' : 's'}`;
    parts.push(fit ? points : rule.cap ? `${points}, ${capWords(rule.cap)}` : points);
  }
  if (rule.signal) parts.push(`raises the ${rule.signal} signal`);
  if (rule.disqualify) parts.push('disqualifies the lead');
  return parts.join('; ');
}

/** `pricing_page ("Viewed the pricing page")`. */
export function ruleName(rule: RuleSpec): string {
  return `${rule.id} ("${rule.description}")`;
}

export function stageName(name: string): string {
  return /^[a-z]ql$/.test(name) ? name.toUpperCase() : name;
}

export function conditionWords(c: ConditionSpec, bantMinPassed: number): string {
  if ('score' in c) return `${c.score} score at least ${num(c.gte)}`;
  if ('signal' in c) return `a ${c.signal} signal in the last ${durationWords(c.within)}`;
  return `sales accepted the lead with ${bantWords(bantMinPassed)}`;
}

export function bantWords(min: number): string {
  if (min === 4) return 'all 4 BANT checks passed (budget, authority, need, timeline)';
  if (min === 0) return 'no BANT check required';
  return `at least ${min} of the 4 BANT checks passed (budget, authority, need, timeline)`;
}

/** Conditions joined for a sentence; `stay` defaults to `enter` as the engine does. */
export function conditionsWords(list: ConditionSpec[], bantMinPassed: number): string {
  return list.map((c) => conditionWords(c, bantMinPassed)).join(' and ');
}

export function effectiveStay(s: StageSpec): ConditionSpec[] {
  return s.stay ?? s.enter ?? [];
}
