import { LeadScorerError } from '@leadscorer/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EXAMPLES } from './examples.ts';
import type { RecordByTopic } from './generated/index.ts';
import { INPUT_TOPICS, OUTPUT_TOPICS, type TopicName } from './topics.ts';
import {
  DEFAULT_MAX_FUTURE_SKEW_MS,
  MIN_EVENT_TIME,
  RULES,
  type ValidationOptions,
  validateRecord,
} from './validation.ts';

// A clock well after every example's eventTime.
const now = Date.UTC(2026, 5, 1);

function failure<T extends TopicName>(topic: T, patch: Partial<RecordByTopic[T]>, at = now): string {
  try {
    validateRecord(topic, { ...EXAMPLES[topic], ...patch }, { now: at });
  } catch (err) {
    expect(err).toBeInstanceOf(LeadScorerError);
    expect((err as LeadScorerError).code).toBe('MESSAGE_VALIDATION_FAILED');
    return (err as LeadScorerError).message;
  }
  throw new Error('expected the record to be refused');
}

describe('validateRecord', () => {
  it.each([...INPUT_TOPICS, ...OUTPUT_TOPICS])('accepts the documented example of %s', (topic) => {
    expect(() => validateRecord(topic, EXAMPLES[topic], { now })).not.toThrow();
  });

  it.each([
    ['an empty lead id', { leadId: '' }, 'leadId must not be empty'],
    ['a lead id over 128 characters', { leadId: 'x'.repeat(129) }, 'leadId must be at most 128'],
    [
      'a lead id with surrounding whitespace',
      { leadId: 'lead-1 ' },
      'leadId must not start or end with whitespace',
    ],
    [
      'a lead id with a control character',
      { leadId: 'lead\n1' },
      'leadId must not contain control characters',
    ],
    ['an empty event id', { eventId: '' }, 'eventId must not be empty'],
    ['a relative url', { url: '/pricing' }, 'url must be an absolute http(s) URL'],
    ['a javascript: url', { url: 'javascript:alert(1)' }, 'url must be an absolute http(s) URL'],
    ['a referrer that does not parse', { referrer: 'not a url' }, 'referrer must be an absolute http(s) URL'],
    ['a path without a slash', { path: 'pricing' }, "path must start with '/'"],
    ['a negative duration', { durationSeconds: -1 }, 'durationSeconds must not be negative'],
    ['an event time of 0', { eventTime: 0 }, 'eventTime must be after 2000-01-01'],
  ] as const)('refuses a web visit with %s, naming the field', (_name, patch, expected) => {
    expect(failure('engagement.web-visit.v1', patch)).toContain(expected);
  });

  it('refuses an event time beyond the allowed clock skew and accepts one within it', () => {
    const eventTime = now + DEFAULT_MAX_FUTURE_SKEW_MS + 60_000;
    expect(failure('engagement.web-visit.v1', { eventTime })).toContain('eventTime is 960 s in the future');
    const within = { ...EXAMPLES['engagement.web-visit.v1'], eventTime: now + DEFAULT_MAX_FUTURE_SKEW_MS };
    expect(() => validateRecord('engagement.web-visit.v1', within, { now })).not.toThrow();
    expect(() =>
      validateRecord(
        'engagement.web-visit.v1',
        { ...within, eventTime },
        { now, maxFutureSkewMs: 3_600_000 },
      ),
    ).not.toThrow();
  });

  it('refuses negative quantities, amounts and sizes', () => {
    expect(failure('product.trial-activity.v1', { quantity: -3 })).toContain('quantity must not be negative');
    expect(failure('lead.outcome.v1', { amount: -1 })).toContain('amount must not be negative');
    expect(failure('lead.profile.v1', { companySize: -10 })).toContain('companySize must not be negative');
  });

  it('refuses malformed codes and actions', () => {
    expect(failure('lead.profile.v1', { country: 'de' })).toContain('country must be an ISO 3166-1 alpha-2');
    expect(failure('lead.outcome.v1', { currency: 'euro' })).toContain('currency must be an ISO 4217');
    expect(failure('product.trial-activity.v1', { action: 'Feature Used' })).toContain(
      'action must be lower snake case',
    );
    expect(failure('engagement.email.v1', { linkUrl: 'mailto:x@example.com' })).toContain('linkUrl must be');
  });

  it('names every failing field at once and never echoes a value', () => {
    const message = failure('engagement.web-visit.v1', { leadId: '', url: 'secret-value' });
    expect(message).toContain('leadId');
    expect(message).toContain('url');
    expect(message).not.toContain('secret-value');
  });

  it('checks the output record too', () => {
    expect(failure('lead.stage-changed.v1', { sequence: 0 })).toContain('sequence must be at least 1');
    expect(failure('lead.stage-changed.v1', { scores: { engagement: Number.NaN } })).toContain(
      'scores.engagement',
    );
  });
});

/**
 * validateRecord answers from zod's compiled fast path and asks the runtime parser only about
 * records that path does not accept. These properties pin that down against the plain runtime
 * parse (what validateRecord did before): the same records accepted, the same message and
 * details for every refused one.
 */
describe('validateRecord (compiled fast path) against the runtime parse', () => {
  function reference(topic: TopicName, record: unknown, options: ValidationOptions): void {
    const problems: string[] = [];
    const result = RULES[topic].safeParse(record);
    if (!result.success) {
      for (const issue of result.error.issues)
        problems.push(`${issue.path.join('.') || '(record)'} ${issue.message}`);
    }
    const latest = options.now + (options.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS);
    const eventTime = (record as { eventTime?: unknown }).eventTime;
    if (typeof eventTime === 'number' && eventTime > latest) {
      problems.push(`eventTime is ${Math.round((eventTime - options.now) / 1000)} s in the future`);
    }
    if (problems.length > 0) {
      throw new LeadScorerError(
        'MESSAGE_VALIDATION_FAILED',
        `invalid ${topic} record: ${problems.join('; ')}`,
        {
          details: { fields: problems.map((p) => p.split(' ')[0]).join(',') },
        },
      );
    }
  }

  function outcome(validate: () => void): unknown {
    try {
      validate();
      return 'accepted';
    } catch (err) {
      const e = err as LeadScorerError;
      return { code: e.code, message: e.message, details: e.details };
    }
  }

  // Values at and around every rule's edges, plus arbitrary ones.
  const astral = '\u{1F600}';
  const trickyString = fc.constantFrom(
    '',
    ' ',
    'lead-1',
    ' lead-1',
    'lead-1 ',
    'lead\u00001',
    'lead\u007f',
    'lead\t1',
    '\u00a0lead',
    'x'.repeat(128),
    'x'.repeat(129),
    astral.repeat(64),
    astral.repeat(65),
    astral.repeat(128),
    astral.repeat(129),
    '\ud800',
    'x'.repeat(1024),
    'x'.repeat(1025),
    `/${'p'.repeat(2047)}`,
    `/${'p'.repeat(2048)}`,
    '/',
    '/pricing',
    'pricing',
    'https://www.example.com/pricing?plan=team',
    'http://example.com',
    'HTTPS://EXAMPLE.COM/',
    ' https://example.com ',
    'https://exa\nmple.com/',
    'http:example.com',
    'https:/example.com',
    'https://',
    'https://1.2.3.999/',
    'https://[::1]:8080/x',
    'https://example.com:99999/',
    'ftp://example.com/',
    'javascript:alert(1)',
    'mailto:x@example.com',
    'not a url',
    'DE',
    'de',
    'DEU',
    'EUR',
    'euro',
    'feature_used',
    'Feature Used',
    '_x',
    'a'.repeat(64),
    'a'.repeat(65),
  );
  const anyString = fc.oneof(trickyString, fc.string(), fc.string({ unit: 'binary', maxLength: 200 }));
  const trickyNumber = fc.constantFrom(
    0,
    -0,
    -1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    MIN_EVENT_TIME - 1,
    MIN_EVENT_TIME,
    now,
    now + DEFAULT_MAX_FUTURE_SKEW_MS,
    now + DEFAULT_MAX_FUTURE_SKEW_MS + 1,
    now + 0.5,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    -Number.MAX_SAFE_INTEGER - 2,
  );
  const anyNumber = fc.oneof(trickyNumber, fc.integer(), fc.double(), fc.maxSafeInteger());
  const anyValue: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 4, arbitrary: anyString },
    { weight: 4, arbitrary: anyNumber },
    { weight: 2, arbitrary: fc.constant(null) },
    fc.constantFrom(undefined, true, false, {}, [], 10n),
    fc.dictionary(fc.oneof(trickyString, fc.string()), fc.oneof(anyNumber, anyString), { maxKeys: 3 }),
  );

  // A record of `topic`: its example with some fields replaced, removed or added, nested too.
  function mutated(topic: TopicName): fc.Arbitrary<Record<string, unknown>> {
    const example = EXAMPLES[topic] as unknown as Record<string, unknown>;
    const keys = Object.keys(example);
    const field = fc.oneof(fc.constantFrom(...keys), fc.constant('extra'));
    return fc
      .array(fc.tuple(field, anyValue, fc.option(fc.nat(), { nil: undefined })), { maxLength: 4 })
      .map((edits) => {
        const record: Record<string, unknown> = { ...example };
        for (const [key, value, nested] of edits) {
          const current = record[key];
          // Edit inside a nested record (cause, scores, bant) now and then instead of replacing it.
          if (nested !== undefined && typeof current === 'object' && current !== null) {
            const inner = Object.keys(current);
            record[key] = { ...current, [inner[nested % inner.length] ?? 'extra']: value };
          } else if (value === undefined) {
            delete record[key];
          } else {
            record[key] = value;
          }
        }
        return record;
      });
  }

  const topics = [...INPUT_TOPICS, ...OUTPUT_TOPICS] as TopicName[];

  it.each(topics)('every rule of %s compiles (else it silently runs on the slow path)', (topic) => {
    expect(() => z.compile(RULES[topic], { strict: true })).not.toThrow();
  });

  it.each(topics)('decides %s records exactly as the runtime parse does', (topic) => {
    fc.assert(
      fc.property(mutated(topic), fc.constantFrom(undefined, 0, 3_600_000), (record, maxFutureSkewMs) => {
        const options = { now, maxFutureSkewMs };
        const actual = outcome(() => validateRecord(topic, record as never, options));
        expect(actual).toEqual(outcome(() => reference(topic, record, options)));
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts generated good records and refuses generated bad ones for the same reasons', () => {
    // Sanity check on the generators: both verdicts actually occur.
    const seen = new Set<string>();
    fc.assert(
      fc.property(mutated('engagement.web-visit.v1'), (record) => {
        seen.add(
          outcome(() => validateRecord('engagement.web-visit.v1', record as never, { now })) === 'accepted'
            ? 'accepted'
            : 'refused',
        );
      }),
      { numRuns: 500 },
    );
    expect([...seen].sort()).toEqual(['accepted', 'refused']);
  });
});
