import { checkCommon, commonEnvSchema, loadEnv } from '@leadscorer/runtime';
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Environment of every scoring service, on top of the common one (see libs/runtime/src/config.ts). */
export const scoringEnvSchema = commonEnvSchema.extend({
  /** Consumer group id; defaults to lead-scorer.<service>. */
  CONSUMER_GROUP: z.string().min(1).optional(),
  /** Prefix of every topic name (environments sharing a cluster; tests). */
  TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/, 'only characters Kafka allows in topic names')
    .default(''),
  /** Messages per pipelined Redis round trip. */
  APPLY_CHUNK_SIZE: int(1, 10_000).default(500),
  /** Partitions one instance processes at once (each stays in order). */
  PARTITIONS_CONCURRENTLY: int(1, 64).default(3),
  /** How long the group waits for a silent member before moving its partitions (crash detection). */
  KAFKA_SESSION_TIMEOUT_MS: int(6_000, 300_000).default(30_000),
  /** Back-off of transient-fault retries. */
  RETRY_INITIAL_MS: int(10, 60_000).default(200),
  RETRY_MAX_MS: int(100, 600_000).default(30_000),
  /** Outbox relay: pass interval, and the age an entry must reach before the relay takes it. */
  RELAY_INTERVAL_MS: int(50, 600_000).default(1_000),
  RELAY_MIN_AGE_MS: int(0, 3_600_000).default(5_000),
  /**
   * How long a stage change is held after its commit before it is published (publish-hold.ts):
   * `auto` (2 s when Redis has AOF without `appendfsync always`, or replicas; else 0) or ms. The
   * relay never takes an entry younger than this either.
   */
  PUBLISH_HOLD_MS: z.union([z.literal('auto'), int(0, 60_000)]).default('auto'),
  /** Fading-leads scheduler: how often the shards' due sets are polled. */
  FADE_POLL_MS: int(20, 60_000).default(250),
  /**
   * Erasure (docs/erasure.md): how long an erased lead's events are dropped, replays included.
   * Longer than the longest input retention (sales.qualification.v1: 365 days), so a rebuild
   * never brings an erased lead back from the topics.
   */
  ERASURE_SUPPRESS_DAYS: int(1, 3650).default(400),
  /** How often the services read the list of erased leads. */
  ERASURE_POLL_MS: int(50, 60_000).default(1_000),
  /**
   * Deterministic tests and what-if replays only: evaluate every event at this fixed epoch-ms
   * time instead of the wall clock.
   */
  CLOCK_FIXED_MS: z.coerce.number().int().positive().optional(),
});

export type ScoringEnv = z.infer<typeof scoringEnvSchema>;

export function loadScoringEnv(env: NodeJS.ProcessEnv): ScoringEnv {
  const parsed = loadEnv(scoringEnvSchema, env);
  checkCommon(parsed);
  return parsed;
}

export function clockOf(env: ScoringEnv): () => number {
  const fixed = env.CLOCK_FIXED_MS;
  return fixed === undefined ? Date.now : () => fixed;
}
