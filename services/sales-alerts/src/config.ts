import { checkCommon, commonEnvSchema, loadEnv } from '@leadscorer/runtime';
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const alertsEnvSchema = commonEnvSchema.extend({
  /** Where chosen stage changes are POSTed. */
  WEBHOOK_URL: z.url({ protocol: /^https?$/ }),
  /** HMAC-SHA256 key the receiver verifies signatures with. */
  WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters'),
  /** Stage changes whose target stage is one of these are sent. */
  ALERT_STAGES: z
    .string()
    .min(1)
    .default('mql,sql,pql,cql')
    .transform(
      (s) =>
        new Set(
          s
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean),
        ),
    ),
  WEBHOOK_MAX_ATTEMPTS: int(1, 50).default(5),
  WEBHOOK_TIMEOUT_MS: int(100, 60_000).default(5_000),
  WEBHOOK_RETRY_INITIAL_MS: int(10, 60_000).default(500),
  /** How long delivered event ids are remembered for deduplication. */
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
  return parsed;
}
