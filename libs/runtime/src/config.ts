import { readFileSync } from 'node:fs';
import { LeadScorerError } from '@leadscorer/errors';
import { z } from 'zod';
import { otelEnvShape } from './tracing-config.ts';

/**
 * Service configuration comes from the environment, is read once in main.ts and validated
 * here. A bad value stops the service with the variable named; secrets are never echoed.
 */
const SECRET = /PASSWORD|SECRET|TOKEN|KEY$|HEADERS$/;

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const csv = z
  .string()
  .min(1)
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const commonEnvSchema = z.object({
  KAFKA_BROKERS: csv.default(['127.0.0.1:19092']),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  KAFKA_SSL: bool.default(false),
  /** PEM file of the CA(s) the brokers' certificates chain to; unset: the system's trusted CAs. */
  KAFKA_SSL_CA_FILE: z.string().min(1).optional(),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  SCHEMA_REGISTRY_URL: z.url().default('http://127.0.0.1:18081/apis/ccompat/v7'),
  SCHEMA_REGISTRY_USERNAME: z.string().min(1).optional(),
  SCHEMA_REGISTRY_PASSWORD: z.string().min(1).optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .default('redis://127.0.0.1:6379'),
  /** host:port list; when set, Redis is a Cluster and REDIS_URL is ignored. */
  REDIS_CLUSTER_NODES: csv.optional(),
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  /** TLS to Redis (also implied by a rediss:// REDIS_URL); needed on a Cluster, whose nodes have no URL. */
  REDIS_TLS: bool.default(false),
  /** PEM file of the CA(s) Redis's certificate chains to; unset: the system's trusted CAs. */
  REDIS_TLS_CA_FILE: z.string().min(1).optional(),
  /** Namespace of every Redis key; lets several deployments (or tests) share one Redis. */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,31}$/, 'lower-case letters, digits, dot, dash or underscore (max 32)')
    .default('ls'),
  MODEL_FILE: z.string().min(1).default('models/default.yaml'),
  /** Port of /metrics, /healthz, /readyz (and the API where there is one); each service has its own default. */
  HTTP_PORT: int(0, 65_535).optional(),
  HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: int(1_000, 600_000).default(25_000),
  /** Create or update the topics a service reads and writes at start (needs topic admin rights). */
  ENSURE_TOPICS: bool.default(true),
  ...otelEnvShape,
});

export type CommonEnv = z.infer<typeof commonEnvSchema>;

export function loadEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  // Empty strings mean "unset": Kubernetes manifests often template optional values as "".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const raw = cleaned[name];
    const shown = raw === undefined ? 'unset' : SECRET.test(name) ? '<redacted>' : JSON.stringify(raw);
    return `${name}: ${issue.message} (got ${shown})`;
  });
  throw new LeadScorerError('CONFIG_INVALID', `invalid configuration:\n  ${lines.join('\n  ')}`);
}

/** The registry's basic auth, when SCHEMA_REGISTRY_USERNAME is set (checkCommon asks for the password). */
export function registryAuth(env: CommonEnv): { username: string; password: string } | undefined {
  return env.SCHEMA_REGISTRY_USERNAME
    ? { username: env.SCHEMA_REGISTRY_USERNAME, password: env.SCHEMA_REGISTRY_PASSWORD ?? '' }
    : undefined;
}

/** Whether the Redis connection uses TLS: REDIS_TLS, or a rediss:// URL for a single Redis. */
export function redisTls(env: CommonEnv): boolean {
  return env.REDIS_TLS || (!env.REDIS_CLUSTER_NODES && env.REDIS_URL.startsWith('rediss://'));
}

/**
 * Cross-field rules zod object shapes cannot say alone, and the files the variables name: each
 * problem names its variable (and file), never a secret's value. Combinations that would quietly
 * weaken security are refused rather than guessed at: a CA file without TLS, credentials without
 * a mechanism, a SASL/PLAIN password sent in clear.
 */
export function checkCommon(env: CommonEnv, uses: { redis: boolean } = { redis: true }): CommonEnv {
  const problems: string[] = [];
  if (env.KAFKA_SASL_MECHANISM && !(env.KAFKA_SASL_USERNAME && env.KAFKA_SASL_PASSWORD)) {
    problems.push('KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set');
  }
  if (!env.KAFKA_SASL_MECHANISM && (env.KAFKA_SASL_USERNAME || env.KAFKA_SASL_PASSWORD)) {
    problems.push(
      'KAFKA_SASL_MECHANISM: required when KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD are set (scram-sha-512, scram-sha-256 or plain)',
    );
  }
  if (env.KAFKA_SASL_MECHANISM === 'plain' && !env.KAFKA_SSL) {
    problems.push(
      'KAFKA_SSL: must be true with KAFKA_SASL_MECHANISM=plain, which sends the password in clear',
    );
  }
  if (env.KAFKA_SSL_CA_FILE) {
    if (!env.KAFKA_SSL)
      problems.push('KAFKA_SSL_CA_FILE: set, but KAFKA_SSL is not true (TLS to the brokers is off)');
    else caProblem('KAFKA_SSL_CA_FILE', env.KAFKA_SSL_CA_FILE, problems);
  }
  // (A password alone is an optional Secret key nobody asked for: basic auth stays off.)
  if (env.SCHEMA_REGISTRY_USERNAME && !env.SCHEMA_REGISTRY_PASSWORD) {
    problems.push('SCHEMA_REGISTRY_PASSWORD: required when SCHEMA_REGISTRY_USERNAME is set (basic auth)');
  }
  // A process without Redis (the archiver, the topic tools) shares the deployment's environment
  // but not the Redis password: its Redis settings are not its business.
  if (uses.redis) redisProblems(env, problems);
  if (problems.length > 0) {
    throw new LeadScorerError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return env;
}

function redisProblems(env: CommonEnv, problems: string[]): void {
  if (env.REDIS_USERNAME && !env.REDIS_PASSWORD) {
    problems.push("REDIS_PASSWORD: required when REDIS_USERNAME is set (the ACL user's password)");
  }
  if (env.REDIS_TLS_CA_FILE) {
    if (!redisTls(env))
      problems.push(
        'REDIS_TLS_CA_FILE: set, but TLS to Redis is off (REDIS_TLS=true, or a rediss:// REDIS_URL)',
      );
    else caProblem('REDIS_TLS_CA_FILE', env.REDIS_TLS_CA_FILE, problems);
  }
}

/** A CA file must be readable and hold at least one PEM certificate. */
function caProblem(name: string, file: string, problems: string[]): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return;
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push(`${name}: ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
}
