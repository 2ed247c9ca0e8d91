import { LeadScorerError } from '@leadscorer/errors';
import { describe, expect, it } from 'vitest';
import { EXAMPLES } from './examples.ts';
import type { RecordByTopic } from './generated/index.ts';
import { INPUT_TOPICS, OUTPUT_TOPICS, type TopicName } from './topics.ts';
import { DEFAULT_MAX_FUTURE_SKEW_MS, validateRecord } from './validation.ts';

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
