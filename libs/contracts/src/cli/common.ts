import { isLeadScorerError } from '@leadscorer/errors';
import { checkCommon, commonEnvSchema, kafkaSecurity, loadEnv } from '@leadscorer/runtime';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { type Catalogue, createCatalogue } from '../topics.ts';

/**
 * Shared plumbing of the contracts CLIs. The entry files pass process.env in; nothing here
 * reads it. Exit codes: 0 done, 1 the operation failed (incompatible schema, broker down, ...),
 * 2 the command line was wrong.
 */

export interface CliConfig {
  kafkaBrokers: string[];
  /** TLS and SASL, from the services' variables (KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SASL_*). */
  kafkaSecurity: () => Pick<KafkaConfig, 'ssl' | 'sasl'>;
  registryUrl: string;
  /** SCHEMA_REGISTRY_USERNAME / SCHEMA_REGISTRY_PASSWORD, when set. */
  registryAuth: { username: string; password: string } | undefined;
  /** TOPIC_PREFIX: an environment sharing a cluster, e.g. `staging.` */
  topicPrefix: string;
  /** TOPIC_PARTITIONS: overrides the catalogue's partition count (tests, small environments). */
  partitions: number | undefined;
  /** TOPIC_REPLICATION_FACTOR: -1 (default) lets the broker decide. */
  replicationFactor: number;
}

export class UsageError extends Error {}

export function cliConfig(env: NodeJS.ProcessEnv): CliConfig {
  return {
    kafkaBrokers: (env.KAFKA_BROKERS ?? '127.0.0.1:19092')
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b !== ''),
    // Checked when a tool connects to Kafka, as the services check it: a CA file that is missing
    // or TLS/SASL settings that do not go together stop it with the variable named. Tools that
    // only talk to the registry (npm run schemas) do not need the Kafka credentials.
    kafkaSecurity: () => kafkaSecurity(checkCommon(loadEnv(commonEnvSchema, env), { redis: false })),
    registryUrl: env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7',
    registryAuth: env.SCHEMA_REGISTRY_USERNAME
      ? { username: env.SCHEMA_REGISTRY_USERNAME, password: env.SCHEMA_REGISTRY_PASSWORD ?? '' }
      : undefined,
    topicPrefix: env.TOPIC_PREFIX ?? '',
    partitions: optionalInt(env, 'TOPIC_PARTITIONS', 1),
    replicationFactor: optionalInt(env, 'TOPIC_REPLICATION_FACTOR', -1) ?? -1,
  };
}

function optionalInt(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

export function catalogueOf(config: CliConfig): Catalogue {
  return createCatalogue({
    prefix: config.topicPrefix,
    partitions: config.partitions,
    replicationFactor: config.replicationFactor,
  });
}

export function kafkaOf(config: CliConfig, clientId: string): Kafka {
  // Silent: kafkajs logs every retry and every "topic exists" as an error, burying the CLI's own
  // output; failures still reach the user as thrown errors.
  return new Kafka({
    clientId,
    brokers: config.kafkaBrokers,
    logLevel: logLevel.NOTHING,
    ...config.kafkaSecurity(),
  });
}

/** Turns node:util parseArgs' errors into usage errors (exit 2). */
export function parseOrUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(err.message);
    }
    throw err;
  }
}

/**
 * kafkajs 2.2.4 arms timers with negative delays, which Node 24 reports with a
 * TimeoutNegativeWarning on every run (harmless: Node clamps them to 1 ms). Drop only that one,
 * so operators do not learn to ignore warnings.
 */
function silenceKafkajsTimerWarning(): void {
  const emit = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'TimeoutNegativeWarning') return;
    (emit as (...args: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}

/** Runs a CLI body and exits with its code; prints errors without stack traces for known ones. */
export function runCli(usage: string, main: () => Promise<number>): void {
  silenceKafkajsTimerWarning();
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof UsageError) {
        console.error(`error: ${err.message}\n\n${usage}`);
        process.exit(2);
      }
      if (isLeadScorerError(err)) {
        console.error(`${err.code}: ${err.message}`);
      } else if (err instanceof Error && err.name.startsWith('KafkaJS')) {
        // Broker trouble: the message and its cause say it; the stack would not.
        const cause =
          err.cause instanceof Error && err.cause.message !== err.message ? ` (${err.cause.message})` : '';
        console.error(`${err.name}: ${err.message}${cause}`);
      } else {
        console.error(err);
      }
      process.exit(1);
    },
  );
}
