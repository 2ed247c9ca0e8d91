import { LeadScorerError } from '@leadscorer/errors';
import { z } from 'zod';
import type { RecordByTopic } from './generated/index.ts';
import type { TopicName } from './topics.ts';

/**
 * What Avro cannot say. Avro guarantees types and presence; these rules catch records that are
 * well-formed but wrong, which would otherwise be scored: an empty lead id merging unrelated
 * leads, an event dated next year worth more than its points for a year, a negative quantity
 * subtracting points. Checked once after decoding and once before encoding.
 *
 * Error messages name the field and the rule, never the value: they end up in dead-letter
 * headers and logs, and values may be personal data.
 */

/** Events older than this are producer bugs (an unset timestamp reads as 1970). */
export const MIN_EVENT_TIME = Date.UTC(2000, 0, 1);
/**
 * Default allowance for producer clocks running ahead of ours. Generous for NTP-synced hosts,
 * yet below the smallest time-zone offset (30 min), so the classic bug of local time sent as
 * UTC east of Greenwich is caught instead of making events look fresher than they are.
 */
export const DEFAULT_MAX_FUTURE_SKEW_MS = 15 * 60 * 1000;
export const MAX_ID_LENGTH = 128;

// No control characters and no surrounding whitespace: "lead-1" and "lead-1 " would be two leads.
const id = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
  .refine((s) => !hasControlCharacter(s), 'must not contain control characters')
  .refine((s) => s.trim() === s, 'must not start or end with whitespace');

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

const timestamp = z.number().int().min(MIN_EVENT_TIME, 'must be after 2000-01-01 (epoch milliseconds)');
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' });
const nonNegative = z.number().nonnegative('must not be negative');
const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);

const envelope = { eventId: id, leadId: id, eventTime: timestamp };

/** The rules as zod schemas, run by zod's runtime parser: the reference for every decision. */
export const RULES: { readonly [T in TopicName]: z.ZodType } = {
  'engagement.web-visit.v1': z.object({
    ...envelope,
    url: httpUrl,
    path: z.string().startsWith('/', "must start with '/'").max(2048),
    referrer: httpUrl.nullable(),
    userAgent: text(1024),
    sessionId: text(MAX_ID_LENGTH).nullable(),
    durationSeconds: z.number().int().nonnegative('must not be negative').nullable(),
  }),
  'engagement.email.v1': z.object({
    ...envelope,
    campaignId: id,
    messageId: id,
    deliveredAt: timestamp.nullable(),
    userAgent: text(1024).nullable(),
    linkUrl: httpUrl.nullable(),
  }),
  'product.trial-activity.v1': z.object({
    ...envelope,
    accountId: id,
    action: z
      .string()
      .min(1, 'must not be empty')
      .max(64)
      .regex(/^[a-z][a-z0-9_]*$/, 'must be lower snake case'),
    feature: text(MAX_ID_LENGTH).nullable(),
    quantity: nonNegative.nullable(),
  }),
  'lead.profile.v1': z.object({
    ...envelope,
    jobTitle: text(256).nullable(),
    companySize: z.number().int().nonnegative('must not be negative').nullable(),
    industry: text(128).nullable(),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code in upper case')
      .nullable(),
  }),
  'sales.qualification.v1': z.object({ ...envelope, reason: text(1024).nullable() }),
  'lead.outcome.v1': z.object({
    ...envelope,
    opportunityId: text(MAX_ID_LENGTH).nullable(),
    amount: nonNegative.nullable(),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code in upper case')
      .nullable(),
    reason: text(1024).nullable(),
  }),
  'lead.erasure-requests.v1': z.object({ ...envelope, requestedBy: text(256).nullable() }),
  'lead.stage-changed.v1': z.object({
    eventId: id,
    leadId: id,
    fromStage: id,
    toStage: id,
    scores: z.record(z.string().min(1), z.number().refine(Number.isFinite, 'must be finite')),
    cause: z.object({ ruleId: id.nullable(), detail: text(1024) }),
    triggeringEventId: id.nullable(),
    eventTime: timestamp,
    emittedAt: timestamp,
    modelVersion: id,
    sequence: z.number().int().min(1, 'must be at least 1'),
  }),
  'lead.stage.v1': z.object({
    leadId: id,
    stage: id,
    previousStage: id,
    sequence: z.number().int().min(1, 'must be at least 1'),
    scores: z.record(z.string().min(1), z.number().refine(Number.isFinite, 'must be finite')),
    stageChangeEventId: id,
    changedAt: timestamp,
    recordedAt: timestamp,
    modelVersion: id,
  }),
};

/**
 * The same schemas through zod's ahead-of-time compiler (`z.compile`): a generated function
 * that answers "valid" without building issue objects or a parsed copy, ~4x cheaper than the
 * runtime parse, which every consumed message pays. It can only say yes for what the runtime
 * accepts; anything it does not accept goes to the runtime parser, which alone writes the
 * problems. A schema the compiler cannot model comes back uncompiled and keeps the runtime path.
 * validation.test.ts checks both agree on generated good and bad records.
 */
const COMPILED: { readonly [T in TopicName]: z.ZodType } = Object.fromEntries(
  Object.entries(RULES).map(([topic, schema]) => [topic, z.compile(schema)]),
) as { [T in TopicName]: z.ZodType };

export interface ValidationOptions {
  /** The caller's clock, read once at the edge. */
  now: number;
  maxFutureSkewMs?: number;
}

/**
 * Checks a decoded (or about to be encoded) record of `topic` against the rules above and
 * throws MESSAGE_VALIDATION_FAILED naming every failing field.
 */
export function validateRecord<T extends TopicName>(
  topic: T,
  record: RecordByTopic[T],
  options: ValidationOptions,
): void {
  // The time rule depends on `now`, which zod schemas cannot take as an argument.
  const latest = options.now + (options.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS);
  const eventTime = (record as { eventTime?: unknown }).eventTime;
  const tooLate = typeof eventTime === 'number' && eventTime > latest;
  if (!tooLate && COMPILED[topic].validate(record)) return;

  // Refused (or the compiled check could not tell): the runtime parse decides and names the fields.
  const problems: string[] = [];
  const result = RULES[topic].safeParse(record);
  if (!result.success) {
    for (const issue of result.error.issues)
      problems.push(`${issue.path.join('.') || '(record)'} ${issue.message}`);
  }
  if (tooLate) {
    problems.push(`eventTime is ${Math.round(((eventTime as number) - options.now) / 1000)} s in the future`);
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
