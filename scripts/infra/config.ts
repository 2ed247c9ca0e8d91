import { resolve } from 'node:path';

/**
 * Everything the local stack needs to know, read once from the environment by cli.ts.
 * Defaults are the ports docker-compose.yml publishes too, so tools and docs agree.
 */
export interface InfraConfig {
  rootDir: string;
  /** Data, logs, pid files and unpacked downloads: one git-ignored folder. */
  infraDir: string;
  java: string;
  mvn: string;
  kafka: { version: string; port: number; controllerPort: number; heap: string };
  registry: { version: string; port: number; heap: string };
  /** The Redis the stack uses: an existing server when one answers, else one we start. */
  redisUrl: string;
  readyTimeoutMs: number;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) {
    throw new Error(`${name} must be a TCP port (1-65535), got "${raw}"`);
  }
  return n;
}

export function infraConfigFromEnv(env: NodeJS.ProcessEnv, rootDir: string): InfraConfig {
  const infraDir = resolve(rootDir, env.INFRA_DIR ?? '.infra');
  const javaHome = env.JAVA_HOME;
  return {
    rootDir,
    infraDir,
    java: javaHome ? `${javaHome}/bin/java` : 'java',
    mvn: env.MVN ?? 'mvn',
    kafka: {
      version: env.KAFKA_VERSION ?? '4.4.0',
      port: port(env, 'KAFKA_PORT', 19092),
      controllerPort: port(env, 'KAFKA_CONTROLLER_PORT', 19093),
      heap: env.KAFKA_HEAP ?? '512m',
    },
    registry: {
      version: env.APICURIO_VERSION ?? '3.0.9',
      port: port(env, 'SCHEMA_REGISTRY_PORT', 18081),
      heap: env.SCHEMA_REGISTRY_HEAP ?? '384m',
    },
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    readyTimeoutMs: Number(env.INFRA_READY_TIMEOUT_MS ?? 120_000),
  };
}

export function kafkaBrokers(cfg: InfraConfig): string {
  return `127.0.0.1:${cfg.kafka.port}`;
}

export function registryUrl(cfg: InfraConfig): string {
  return `http://127.0.0.1:${cfg.registry.port}/apis/ccompat/v7`;
}
