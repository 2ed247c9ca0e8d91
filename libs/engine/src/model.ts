import { LeadScorerError } from '@leadscorer/errors';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { parseDuration } from './duration.ts';
import { layoutFor } from './layout.ts';
import { checksPredicate, compileChecks } from './matchers.ts';
import {
  type ConditionSpec,
  crossIssues,
  type Issue,
  type ModelFile,
  ModelFileSchema,
} from './model-schema.ts';
import type { Condition, Dimension, Model, Rule, Stage } from './model-types.ts';
import { anyOf } from './safe-regex.ts';
import type { EventType } from './types.ts';

/**
 * Parses and validates a model file. A bad file is refused with MODEL_INVALID naming the file,
 * line, field path and reason of every problem (the first one in `details`).
 */
export function loadModel(text: string, fileName: string): Model {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const line = err.linePos?.[0].line ?? 1;
    throw invalid(fileName, [{ line, field: '(yaml)', why: err.message.split('\n')[0]! }]);
  }
  const parsed = ModelFileSchema.safeParse(doc.toJS());
  // Cross-field checks only run on a well-formed file: on a malformed one they mostly echo its
  // shape errors (a misspelt `points` would also be "a rule must score points").
  const issues = parsed.success ? crossIssues(parsed.data) : parsed.error.issues.flatMap(narrowUnion);
  if (issues.length > 0 || !parsed.success) {
    throw invalid(
      fileName,
      issues.map((issue) => describeIssue(doc.contents, lineCounter, issue)),
    );
  }
  return compileModel(parsed.data);
}

interface Problem {
  line: number;
  field: string;
  why: string;
}

function invalid(fileName: string, problems: Problem[]): LeadScorerError {
  const lines = problems.slice(0, 10).map((p) => `${fileName}:${p.line}: ${p.field}: ${p.why}`);
  const more = problems.length > 10 ? `\n(and ${problems.length - 10} more)` : '';
  const first = problems[0]!;
  return new LeadScorerError('MODEL_INVALID', `invalid scoring model\n${lines.join('\n')}${more}`, {
    details: { file: fileName, line: first.line, field: first.field, reason: first.why },
  });
}

/**
 * A union issue says only "none of the forms fit". When exactly one form has the keys the author
 * wrote, its own issues ("gte: expected number") are the useful message.
 */
function narrowUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union') return [issue];
  const fitting = issue.errors.filter((list) => !list.some((i) => i.code === 'unrecognized_keys'));
  if (fitting.length !== 1) return [issue];
  return fitting[0]!.flatMap((inner) => narrowUnion({ ...inner, path: [...issue.path, ...inner.path] }));
}

function describeIssue(root: unknown, lines: LineCounter, issue: z.core.$ZodIssue | Issue): Problem {
  const path: (string | number)[] = [];
  for (const p of issue.path as PropertyKey[]) if (typeof p !== 'symbol') path.push(p);
  // An unknown key is best shown at the key itself.
  if ('code' in issue && issue.code === 'unrecognized_keys' && issue.keys.length > 0)
    path.push(issue.keys[0]!);
  const offset = locate(root, path);
  return { line: lines.linePos(offset).line, field: formatPath(path), why: issue.message };
}

/** Offset in the text of the deepest node along `path`: a map entry's key, a sequence item. */
function locate(root: unknown, path: (string | number)[]): number {
  let node = root as Node | null | undefined;
  let offset = node?.range?.[0] ?? 0;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg] as Node | undefined;
      if (!node) break;
      offset = node.range?.[0] ?? offset;
    } else {
      break;
    }
  }
  return offset;
}

function formatPath(path: (string | number)[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Turns a validated file into the runtime model: durations in ms, matchers and regexes compiled. */
export function compileModel(file: ModelFile): Model {
  const dimensions: Dimension[] = Object.entries(file.dimensions).map(([name, d], index) => ({
    name,
    index,
    halfLifeMs: 'halfLife' in d ? parseDuration(d.halfLife)! : null,
  }));
  const dimByName = new Map(dimensions.map((d) => [d.name, d]));
  // Every rule has every field (undefined when not set): one object shape keeps the hot loops monomorphic.
  const propsByType = { web: [], email: [], trial: [], profile: [], sales: [] } as Record<
    EventType,
    string[]
  >;
  const rules: Rule[] = file.rules.map((r, index) => {
    const type = r.when.type as EventType;
    const checks = compileChecks(r.when.where ?? {});
    const names = propsByType[type];
    for (const [prop] of checks) if (!names.includes(prop)) names.push(prop);
    return {
      id: r.id,
      index,
      description: r.description,
      type,
      matches: checksPredicate(checks),
      checkProps: Int32Array.from(checks, ([prop]) => names.indexOf(prop)),
      checkTests: checks.map(([, test]) => test),
      dimension: r.dimension === undefined ? undefined : dimByName.get(r.dimension)!,
      points: r.points ?? 0,
      fit: r.when.type === 'profile' && r.dimension !== undefined,
      cap: r.cap ? { hits: r.cap.hits, windowMs: parseDuration(r.cap.window)! } : undefined,
      signal: r.signal,
      disqualify: r.disqualify ?? false,
    };
  });
  const rulesByType = { web: [], email: [], trial: [], profile: [], sales: [] } as Record<EventType, Rule[]>;
  for (const r of rules) rulesByType[r.type].push(r);
  const layout = layoutFor(dimensions, rules, file.dedupe.window);
  const condition = (c: ConditionSpec): Condition =>
    'score' in c
      ? { kind: 'score', dimension: dimByName.get(c.score)!, gte: c.gte }
      : 'signal' in c
        ? {
            kind: 'signal',
            signal: c.signal,
            withinMs: parseDuration(c.within)!,
            // The file check guarantees a rule raises every signal a stage names.
            at: layout.signalAt.get(c.signal)!,
          }
        : { kind: 'salesQualified' };
  const ladder: Stage[] = file.stages.map((s, index) => {
    const enter = (s.enter ?? []).map(condition);
    return { name: s.name, index, enter, stay: s.stay ? s.stay.map(condition) : enter };
  });
  const scored = ladder.flatMap((s) => [...s.enter, ...s.stay]).filter((c) => c.kind === 'score');
  const thresholds = {
    dim: Int32Array.from(scored, (c) => c.dimension.index),
    gte: Float64Array.from(scored, (c) => c.gte),
    margin: Float64Array.from(scored, (c) => 1e-7 * Math.max(1, Math.abs(c.gte))),
  };
  const ma = file.machineActivity;
  return {
    version: file.version,
    dimensions,
    rules,
    ruleById: new Map(rules.map((r) => [r.id, r])),
    rulesByType,
    propsByType,
    ladder,
    dedupeWindow: file.dedupe.window,
    bantMinPassed: file.sales.bantMinPassed,
    machine: {
      emailMinMsAfterDelivery: ma.emailMinSecondsAfterDelivery * 1000,
      ...optional('emailProxyAgents', anyOf(ma.emailProxyAgents)),
      ...optional('webBotAgents', anyOf(ma.webBotAgents)),
    },
    layout,
    thresholds,
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
