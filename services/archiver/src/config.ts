import { CODECS } from '@leadscorer/archive';
import { checkCommon, commonEnvSchema, loadEnv } from '@leadscorer/runtime';
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const MIB = 1024 * 1024;

/** Environment of the archiver, on top of the common one (libs/runtime/src/config.ts). */
export const archiverEnvSchema = commonEnvSchema.extend({
  /** Root directory of the archive (a persistent volume). Files: docs/archive.md. */
  ARCHIVE_DIR: z.string().min(1),
  /** Avro container codec: deflate (smaller, every Avro reader has it) or null (uncompressed). */
  ARCHIVE_CODEC: z.enum(CODECS).default('deflate'),
  /** A partition's open file is written once it holds this many records... */
  ARCHIVE_FLUSH_RECORDS: int(1, 10_000_000).default(100_000),
  /** ...or this many bytes of records... */
  ARCHIVE_FLUSH_BYTES: int(1_024, 1_024 * MIB).default(16 * MIB),
  /** ...or its first message is this old: how far the archive trails the topics at most. */
  ARCHIVE_FLUSH_INTERVAL_MS: int(100, 86_400_000).default(300_000),
  /** Records held in memory over all partitions; above it the largest open file is written. */
  ARCHIVE_MAX_PENDING_BYTES: int(1_024, 4_096 * MIB).default(64 * MIB),
  /** Consumer group id; defaults to lead-scorer.archiver. */
  CONSUMER_GROUP: z.string().min(1).default('lead-scorer.archiver'),
  /** Prefix of every topic name (environments sharing a cluster; tests). */
  TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/, 'only characters Kafka allows in topic names')
    .default(''),
  /** Partitions processed at once (each stays in order). */
  PARTITIONS_CONCURRENTLY: int(1, 64).default(4),
  KAFKA_SESSION_TIMEOUT_MS: int(6_000, 300_000).default(30_000),
  /** Back-off of transient-fault retries (schema registry unavailable). */
  RETRY_INITIAL_MS: int(10, 60_000).default(200),
  RETRY_MAX_MS: int(100, 600_000).default(30_000),
});

export type ArchiverEnv = z.infer<typeof archiverEnvSchema>;

export function loadArchiverEnv(env: NodeJS.ProcessEnv): ArchiverEnv {
  const parsed = loadEnv(archiverEnvSchema, env);
  checkCommon(parsed, { redis: false });
  return parsed;
}
