import { LeadScorerError } from '@leadscorer/errors';
import { checkCommon, commonEnvSchema, loadEnv } from '@leadscorer/runtime';
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const alertsEnvSchema = commonEnvSchema.extend({
  /**
   * Several subscribers, each with its URL, secret (named by environment variable), filter and
   * limits: services/sales-alerts/subscriptions.example.yaml. Or the shorthand below.
   */
  SUBSCRIPTIONS_FILE: z.string().min(1).optional(),
  /** Shorthand for one subscriber (`default`): where chosen stage changes are POSTed. */
  WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Shorthand: HMAC-SHA256 key the receiver verifies signatures with. */
  WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Shorthand: stage changes whose target stage is one of these are sent. */
  ALERT_STAGES: z
    .string()
    .min(1)
    .default('mql,sql,pql,cql')
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  /** Attempts per event and subscriber, the first included; then it is dead-lettered. */
  WEBHOOK_MAX_ATTEMPTS: int(1, 50).default(5),
  /** Deadline of one request, connection to last body byte. */
  WEBHOOK_TIMEOUT_MS: int(100, 60_000).default(5_000),
  /** Back-off between attempts: exponential from this, with jitter, capped by WEBHOOK_RETRY_MAX_MS. */
  WEBHOOK_RETRY_INITIAL_MS: int(10, 60_000).default(500),
  WEBHOOK_RETRY_MAX_MS: int(100, 86_400_000).default(300_000),
  /** The longest Retry-After honoured; a longer one is cut to this. */
  WEBHOOK_RETRY_AFTER_MAX_MS: int(0, 86_400_000).default(3_600_000),
  /** Requests in flight per subscriber and instance. */
  WEBHOOK_CONCURRENCY: int(1, 64).default(4),
  /** Consecutive failed attempts (down, timeout, 5xx) that open a subscriber's circuit breaker... */
  WEBHOOK_BREAKER_FAILURES: int(1, 1_000).default(5),
  /** ...and how long it stays open before one probe. */
  WEBHOOK_BREAKER_COOLDOWN_MS: int(100, 3_600_000).default(30_000),
  /** How often an idle delivery loop looks for due deliveries. */
  DELIVERY_POLL_MS: int(10, 10_000).default(250),
  /** How long an event id is remembered per subscriber for deduplication. */
  DEDUPE_TTL_SECONDS: int(60, 90 * 86_400).default(7 * 86_400),
  CONSUMER_GROUP: z.string().min(1).default('lead-scorer.sales-alerts'),
  TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/)
    .default(''),
  KAFKA_SESSION_TIMEOUT_MS: int(6_000, 300_000).default(30_000),
});

export type AlertsEnv = z.infer<typeof alertsEnvSchema>;

export function loadAlertsEnv(env: NodeJS.ProcessEnv): AlertsEnv {
  const parsed = loadEnv(alertsEnvSchema, env);
  checkCommon(parsed);
  const problem = parsed.SUBSCRIPTIONS_FILE
    ? parsed.WEBHOOK_URL || parsed.WEBHOOK_SECRET
      ? 'SUBSCRIPTIONS_FILE / WEBHOOK_URL: set one of them, not both (the file lists every subscriber)'
      : null
    : !parsed.WEBHOOK_URL || !parsed.WEBHOOK_SECRET
      ? 'SUBSCRIPTIONS_FILE or WEBHOOK_URL + WEBHOOK_SECRET: required (where to send alerts)'
      : null;
  if (problem) throw new LeadScorerError('CONFIG_INVALID', `invalid configuration:\n  ${problem}`);
  return parsed;
}
