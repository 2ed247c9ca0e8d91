import { readFileSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from 'kafkajs';
import { type CommonEnv, redisTls } from './config.ts';
import type { Logger } from './logger.ts';

/**
 * Client factories. Nothing connects here: callers connect when they start, so importing a
 * module never opens a socket and tests build clients against whatever stack they have.
 */
export function createKafka(env: CommonEnv, clientId: string, log: Logger): Kafka {
  const cfg: KafkaConfig = {
    clientId: env.KAFKA_CLIENT_ID ?? clientId,
    brokers: env.KAFKA_BROKERS,
    // kafkajs logs through its own logger; route warnings and errors into ours.
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        const child = log.child({ component: 'kafkajs' });
        if (level === logLevel.ERROR) child.error(rest, message);
        else if (level === logLevel.WARN) child.warn(rest, message);
      },
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 10_000 },
  };
  return new Kafka({ ...cfg, ...kafkaSecurity(env) });
}

/**
 * TLS and SASL of a Kafka client, from KAFKA_SSL, KAFKA_SSL_CA_FILE and KAFKA_SASL_* (checked by
 * checkCommon): the services and the command-line tools (topics, dlq) connect alike.
 */
export function kafkaSecurity(
  env: Pick<
    CommonEnv,
    'KAFKA_SSL' | 'KAFKA_SSL_CA_FILE' | 'KAFKA_SASL_MECHANISM' | 'KAFKA_SASL_USERNAME' | 'KAFKA_SASL_PASSWORD'
  >,
): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (env.KAFKA_SSL) {
    out.ssl = env.KAFKA_SSL_CA_FILE ? { ca: [readFileSync(env.KAFKA_SSL_CA_FILE, 'utf8')] } : true;
  }
  if (env.KAFKA_SASL_MECHANISM) {
    out.sasl = {
      mechanism: env.KAFKA_SASL_MECHANISM,
      username: env.KAFKA_SASL_USERNAME ?? '',
      password: env.KAFKA_SASL_PASSWORD ?? '',
    } as SASLOptions;
  }
  return out;
}

export type RedisClient = Redis | Cluster;

export function createRedis(env: CommonEnv, name: string): RedisClient {
  const common = {
    connectionName: name,
    lazyConnect: true,
    // Commands issued while disconnected fail fast and are retried by our loop, which
    // backs off and never skips a message; ioredis's own infinite queue would hide outages.
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    ...(env.REDIS_USERNAME ? { username: env.REDIS_USERNAME } : {}),
    ...(env.REDIS_PASSWORD ? { password: env.REDIS_PASSWORD } : {}),
    // A rediss:// URL alone would turn TLS on too; set here it also carries the CA and covers Cluster nodes.
    ...(redisTls(env)
      ? { tls: env.REDIS_TLS_CA_FILE ? { ca: [readFileSync(env.REDIS_TLS_CA_FILE, 'utf8')] } : {} }
      : {}),
  };
  if (env.REDIS_CLUSTER_NODES) {
    const nodes = env.REDIS_CLUSTER_NODES.map((hp) => {
      const [host, port] = hp.split(':');
      return { host: host ?? '127.0.0.1', port: Number(port ?? 6379) };
    });
    return new Cluster(nodes, { lazyConnect: true, redisOptions: common, scaleReads: 'master' });
  }
  return new Redis(env.REDIS_URL, common);
}
