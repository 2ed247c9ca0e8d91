import { readFileSync } from 'node:fs';
import { isLeadScorerError, type LeadScorerError } from '@leadscorer/errors';
import { describe, expect, it } from 'vitest';
import { loadModel } from './model.ts';

// One key per line, so every error has an unambiguous line. Line numbers are 1-based.
const BASE = `version: v1
dimensions:
  engagement:
    halfLife: 14d
  fit:
    decays: false
rules:
  - id: pricing
    description: Pricing page
    when:
      type: web
      where:
        path:
          prefix: /pricing
    dimension: engagement
    points: 10
    cap:
      hits: 3
      window: 1d
  - id: exec
    description: Executive
    when:
      type: profile
      where:
        seniority:
          equals: vp
    dimension: fit
    points: 10
stages:
  - name: unqualified
  - name: mql
    enter:
      - score: engagement
        gte: 40
    stay:
      - score: engagement
        gte: 30
`;

/** BASE with line `n` replaced (null deletes it). */
function edit(n: number, text: string | null): string {
  const lines = BASE.split('\n');
  if (text === null) lines.splice(n - 1, 1);
  else lines[n - 1] = text;
  return lines.join('\n');
}

function refusal(text: string): LeadScorerError {
  try {
    loadModel(text, 'models/bad.yaml');
  } catch (err) {
    if (isLeadScorerError(err)) return err;
    throw err;
  }
  throw new Error('the model was accepted');
}

describe('loadModel', () => {
  it('accepts the base model and compiles durations, ladder and defaults', () => {
    const model = loadModel(BASE, 'base.yaml');
    expect(model.version).toBe('v1');
    expect(model.dimensions.map((d) => [d.name, d.halfLifeMs])).toEqual([
      ['engagement', 14 * 86_400_000],
      ['fit', null],
    ]);
    expect(model.rules[0]!.cap).toEqual({ hits: 3, windowMs: 86_400_000 });
    expect(model.rules[1]!.fit).toBe(true);
    expect(model.ladder.map((s) => s.name)).toEqual(['unqualified', 'mql']);
    expect(model.ladder[1]!.stay).toEqual([{ kind: 'score', dimension: model.dimensions[0], gte: 30 }]);
    expect(model.dedupeWindow).toBe(8);
    expect(model.bantMinPassed).toBe(4);
    expect(model.machine.emailMinMsAfterDelivery).toBe(10_000);
  });

  it('uses enter as stay when stay is omitted', () => {
    const model = loadModel(
      edit(35, null).replace('      - score: engagement\n        gte: 30\n', ''),
      'x.yaml',
    );
    expect(model.ladder[1]!.stay).toBe(model.ladder[1]!.enter);
  });

  it('loads the shipped default model', () => {
    const text = readFileSync(new URL('../../../models/default.yaml', import.meta.url), 'utf8');
    const model = loadModel(text, 'models/default.yaml');
    expect(model.ladder.map((s) => s.name)).toEqual(['unqualified', 'mql', 'sql', 'pql', 'cql']);
    expect(model.dimensions.map((d) => d.name)).toEqual(['engagement', 'product', 'fit']);
  });

  it.each([
    ['a bad duration', edit(4, '    halfLife: 14 days'), 4, 'dimensions.engagement.halfLife', /duration/],
    ['an unknown key', edit(16, '    pionts: 10'), 16, 'rules[0].pionts', /Unrecognized key/],
    ['a missing field', edit(9, null), 8, 'rules[0].description', /expected string/],
    ['a wrong type', edit(16, '    points: ten'), 16, 'rules[0].points', /expected number/],
    ['an unknown event type', edit(11, '      type: webinar'), 11, 'rules[0].when.type', /web.*email/],
    [
      'an unsafe pattern',
      edit(14, '          pattern: "(a+)+$"'),
      14,
      'rules[0].when.where.path.pattern',
      /unsafe/,
    ],
    ['an empty matcher', edit(14, '          {}'), 13, 'rules[0].when.where.path', /at least one of/],
    ['a zero cap', edit(18, '      hits: 0'), 18, 'rules[0].cap.hits', /too small/i],
    [
      'an unknown dimension',
      edit(15, '    dimension: engagment'),
      15,
      'rules[0].dimension',
      /unknown dimension/,
    ],
    ['a duplicate rule id', edit(20, '  - id: pricing'), 20, 'rules[1].id', /duplicate rule id/],
    ['a decaying fit rule', edit(27, '    dimension: engagement'), 27, 'rules[1].dimension', /profile rules/],
    [
      'a fit dimension on a web rule',
      edit(15, '    dimension: fit'),
      15,
      'rules[0].dimension',
      /only profile/,
    ],
    ['points without a dimension', edit(15, null), 15, 'rules[0].points', /need a dimension/],
    ['a dimension without points', edit(16, null), 15, 'rules[0].dimension', /needs points/],
    ['a stricter stay', edit(37, '        gte: 50'), 36, 'stages[1].stay[0]', /not be stricter/],
    ['a stay on another score', edit(36, '      - score: fit'), 36, 'stages[1].stay[0]', /not be stricter/],
    [
      'an unknown score',
      edit(33, '      - score: product'),
      33,
      'stages[1].enter[0].score',
      /unknown dimension/,
    ],
    ['a half condition', edit(34, null), 33, 'stages[1].enter[0].gte', /expected number/],
    ['a reserved stage name', edit(31, '  - name: disqualified'), 31, 'stages[1].name', /outside the ladder/],
    [
      'a lowest stage with conditions',
      edit(30, '  - { name: unqualified, enter: [{ salesQualified: true }] }'),
      30,
      'stages[0]',
      /no conditions/,
    ],
    ['broken YAML', edit(16, '    points: [10'), 17, '(yaml)', /./],
  ])('refuses %s, naming the line and field', (_, text, line, field, why) => {
    const err = refusal(text);
    expect(err.code).toBe('MODEL_INVALID');
    expect(err.details).toMatchObject({ file: 'models/bad.yaml', line, field });
    expect(String(err.details['reason'])).toMatch(why);
    if (field !== '(yaml)') expect(err.message).toContain(`models/bad.yaml:${line}: ${field}: `);
  });

  it('names a signal no rule raises', () => {
    const text = BASE.replace(
      '      - score: engagement\n        gte: 40',
      '      - signal: hot\n        within: 7d',
    );
    const err = refusal(text.replace(/ {4}stay:\n.*\n.*\n$/, ''));
    expect(err.details).toMatchObject({ line: 33, field: 'stages[1].enter[0].signal' });
    expect(err.message).toMatch(/no rule raises signal 'hot'/);
  });

  it('lists every problem, not only the first', () => {
    const err = refusal(edit(16, '    points: ten').replace('type: web', 'type: webinar'));
    expect(err.message).toContain('bad.yaml:11: rules[0].when.type');
    expect(err.message).toContain('bad.yaml:16: rules[0].points');
  });

  it('refuses duplicate keys', () => {
    const err = refusal(edit(17, '    points: 11'));
    expect(err.details).toMatchObject({ line: 17, field: '(yaml)' });
  });
});
