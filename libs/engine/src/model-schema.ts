import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './duration.ts';
import { unsafePatternReason } from './safe-regex.ts';
import { EVENT_TYPES } from './types.ts';

/**
 * The model file's shape (zod 4). It only validates: durations stay strings here and are
 * converted by compileModel, so the same schema exports cleanly to JSON Schema for editors.
 * Cross-field checks (unknown dimensions, duplicate ids, hysteresis) live in `crossIssues` and
 * report the exact path, which loadModel maps to a line of the file.
 */

const duration = z.string().regex(DURATION_PATTERN, 'expected a duration such as 30s, 15m, 12h or 14d');
const name = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,31}$/, 'expected a short lower-case name (a-z, 0-9, _; at most 32 characters)');
const scalar = z.union([z.string(), z.number(), z.boolean()]);

const pattern = z.string().superRefine((source, ctx) => {
  const why = unsafePatternReason(source);
  if (why) ctx.addIssue({ code: 'custom', message: `unsafe pattern: ${why}` });
});

const matcher = z
  .strictObject({
    equals: scalar.optional().describe('the property equals this value (type included)'),
    oneOf: z.array(scalar).min(1).optional().describe('the property equals one of these values'),
    prefix: z.string().min(1).optional().describe('the property is a string starting with this'),
    range: z
      .strictObject({ gte: z.number(), gt: z.number(), lte: z.number(), lt: z.number() })
      .partial()
      .refine((r) => Object.keys(r).length > 0, 'a range needs at least one of gte, gt, lte, lt')
      .optional()
      .describe('the property is a number within these bounds'),
    pattern: pattern
      .optional()
      .describe('a safe regular expression (no nested quantifiers, backreferences or lookarounds)'),
    exists: z.boolean().optional().describe('the property is present and not null (true) or absent (false)'),
  })
  .refine(
    (m) => Object.keys(m).length > 0,
    'a matcher needs at least one of equals, oneOf, prefix, range, pattern, exists',
  );

const rule = z.strictObject({
  id: name.describe('short unique id: stored in lead state and named in explanations'),
  description: z.string().min(1).max(200),
  when: z.strictObject({
    type: z.enum(EVENT_TYPES as [string, ...string[]]),
    where: z
      .record(z.string().min(1), matcher)
      .optional()
      .describe('event property -> matcher; all must match'),
  }),
  dimension: name.optional().describe('the dimension the points go to'),
  points: z.number().optional().describe('points per hit, may be negative'),
  cap: z
    .strictObject({ hits: z.int().min(1).max(20), window: duration })
    .optional()
    .describe('at most `hits` scoring hits per lead per tumbling window'),
  signal: name.optional().describe('records the latest time of this signal, e.g. buying_intent'),
  disqualify: z.boolean().optional().describe('a hit disqualifies the lead until sales re-opens it'),
});

const condition = z.union(
  [
    z.strictObject({ score: name, gte: z.number() }),
    z.strictObject({ signal: name, within: duration }),
    z.strictObject({ salesQualified: z.literal(true) }),
  ],
  {
    error:
      'expected { score: <dimension>, gte: <number> }, { signal: <name>, within: <duration> } or { salesQualified: true }',
  },
);

const stage = z.strictObject({
  name,
  description: z.string().max(200).optional(),
  enter: z.array(condition).optional().describe('all must hold to enter from below'),
  stay: z
    .array(condition)
    .optional()
    .describe('all must hold to stay (the lower exit thresholds); defaults to enter'),
});

const dimension = z.union(
  [z.strictObject({ halfLife: duration }), z.strictObject({ decays: z.literal(false) })],
  { error: 'expected { halfLife: <duration> } or { decays: false }' },
);

export const ModelFileSchema = z.strictObject({
  version: z.string().min(1).max(64).describe('named in every emitted event: change it with every edit'),
  dimensions: z.record(name, dimension).describe('score dimensions, e.g. engagement, product, fit'),
  machineActivity: z
    .strictObject({
      emailMinSecondsAfterDelivery: z.number().min(0).max(3600).default(10),
      emailProxyAgents: z.array(pattern).default([]),
      webBotAgents: z.array(pattern).default([]),
    })
    .prefault({}),
  dedupe: z.strictObject({ window: z.int().min(1).max(64).default(8) }).prefault({}),
  sales: z.strictObject({ bantMinPassed: z.int().min(0).max(4).default(4) }).prefault({}),
  rules: z.array(rule).min(1),
  stages: z.array(stage).min(1).describe('the stage ladder, lowest first'),
});

export type ModelFile = z.output<typeof ModelFileSchema>;
export type ConditionSpec = z.output<typeof condition>;
export type Issue = { path: (string | number)[]; message: string };

/** Checks that need more than one field: references, uniqueness, hysteresis. */
export function crossIssues(m: ModelFile): Issue[] {
  const issues: Issue[] = [];
  const dims = Object.keys(m.dimensions);
  if (dims.length === 0) issues.push({ path: ['dimensions'], message: 'at least one dimension is needed' });
  const decays = (d: string) => 'halfLife' in m.dimensions[d]!;
  const ids = new Map<string, number>();
  const signals = new Set<string>();
  m.rules.forEach((r, i) => {
    const at = (field: string): (string | number)[] => ['rules', i, field];
    const first = ids.get(r.id);
    if (first !== undefined)
      issues.push({ path: at('id'), message: `duplicate rule id '${r.id}' (see rules[${first}])` });
    else ids.set(r.id, i);
    if (r.signal) signals.add(r.signal);
    if (r.points !== undefined && r.dimension === undefined) {
      issues.push({ path: at('points'), message: 'points need a dimension to score' });
    }
    if (r.points === undefined && r.dimension !== undefined) {
      issues.push({ path: at('dimension'), message: 'a dimension needs points' });
    }
    if (r.points === undefined && !r.signal && !r.disqualify) {
      issues.push({ path: at('points'), message: 'a rule must score points, raise a signal or disqualify' });
    }
    const profile = r.when.type === 'profile';
    if (r.dimension !== undefined) {
      if (!dims.includes(r.dimension)) {
        issues.push({
          path: at('dimension'),
          message: `unknown dimension '${r.dimension}' (known: ${dims.join(', ')})`,
        });
      } else if (profile && decays(r.dimension)) {
        issues.push({ path: at('dimension'), message: `profile rules score fit: '${r.dimension}' decays` });
      } else if (!profile && !decays(r.dimension)) {
        issues.push({
          path: at('dimension'),
          message: `only profile rules may score '${r.dimension}' (it does not decay)`,
        });
      }
    }
    if (profile && r.cap)
      issues.push({ path: at('cap'), message: 'profile rules cannot be capped: fit is replaced' });
  });
  issues.push(...checkStages(m, dims, signals));
  return issues;
}

function checkStages(m: ModelFile, dims: string[], signals: Set<string>): Issue[] {
  const issues: Issue[] = [];
  const seen = new Set<string>();
  m.stages.forEach((s, i) => {
    if (s.name === 'disqualified') {
      issues.push({
        path: ['stages', i, 'name'],
        message: "'disqualified' is outside the ladder and implicit",
      });
    }
    if (seen.has(s.name))
      issues.push({ path: ['stages', i, 'name'], message: `duplicate stage '${s.name}'` });
    seen.add(s.name);
    if (i === 0 && ((s.enter?.length ?? 0) > 0 || (s.stay?.length ?? 0) > 0)) {
      issues.push({
        path: ['stages', 0],
        message: 'the lowest stage is where leads start: it takes no conditions',
      });
    }
    for (const part of ['enter', 'stay'] as const) {
      s[part]?.forEach((c, j) => {
        const path = ['stages', i, part, j];
        if ('score' in c && !dims.includes(c.score)) {
          issues.push({ path: [...path, 'score'], message: `unknown dimension '${c.score}'` });
        }
        if ('signal' in c && !signals.has(c.signal)) {
          issues.push({ path: [...path, 'signal'], message: `no rule raises signal '${c.signal}'` });
        }
      });
    }
    s.stay?.forEach((c, j) => {
      if ((s.enter ?? []).some((e) => implies(e, c))) return;
      const same = (s.enter ?? []).find((e) => key(e) === key(c));
      issues.push({
        path: ['stages', i, 'stay', j],
        message: same
          ? `stay must not be stricter than enter: stay ${show(c)} vs enter ${show(same)}`
          : `stay must not be stricter than enter: enter has no condition on ${key(c)}`,
      });
    });
  });
  return issues;
}

const key = (c: ConditionSpec): string =>
  'score' in c ? c.score : 'signal' in c ? `signal ${c.signal}` : 'salesQualified';
const show = (c: ConditionSpec): string =>
  'score' in c
    ? `${c.score} >= ${c.gte}`
    : 'signal' in c
      ? `${c.signal} within ${c.within}`
      : 'salesQualified';

/** True when condition `e` holding guarantees `s` holds (so enter implies stay). */
function implies(e: ConditionSpec, s: ConditionSpec): boolean {
  if ('score' in e && 'score' in s) return e.score === s.score && e.gte >= s.gte;
  if ('signal' in e && 'signal' in s) {
    return e.signal === s.signal && parseDuration(e.within)! <= parseDuration(s.within)!;
  }
  return 'salesQualified' in e && 'salesQualified' in s;
}

/** JSON Schema of the model file, for editors (yaml-language-server) and docs. */
export function modelJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ModelFileSchema, { io: 'input', unrepresentable: 'any' });
  return {
    ...schema,
    $id: 'https://github.com/leadscorer/leadscorer/models/model.schema.json',
    title: 'Lead scoring model',
    description: 'A lead-scoring model: dimensions, rules, machine-activity filter and the stage ladder.',
  };
}
