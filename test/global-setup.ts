import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { infraConfigFromEnv } from '../scripts/infra/config.ts';
import { down, up } from '../scripts/infra/stack.ts';
import { startContainers } from './support/containers.ts';

/**
 * Hands integration tests the addresses of a real Kafka broker, schema registry and Redis:
 *  1. from the environment when KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL are all set;
 *  2. else from testcontainers when a container runtime answers (TEST_INFRA=containers forces,
 *     TEST_INFRA=local skips this);
 *  3. else from the local stack of scripts/infra, started here when it is not running and
 *     stopped again at the end (KEEP_INFRA=1 keeps it up for the next run).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = process.env;
  const mode = env.TEST_INFRA ?? 'auto';
  if (env.KAFKA_BROKERS && env.SCHEMA_REGISTRY_URL && env.REDIS_URL && mode !== 'containers') {
    provide(project, {
      kafkaBrokers: env.KAFKA_BROKERS,
      registryUrl: env.SCHEMA_REGISTRY_URL,
      redisUrl: env.REDIS_URL,
    });
    return async () => {};
  }
  if (mode !== 'local') {
    const containers = await startContainers(mode === 'containers');
    if (containers) {
      provide(project, containers.endpoints);
      return containers.stop;
    }
  }
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const cfg = infraConfigFromEnv(env, root);
  const started: string[] = [];
  const endpoints = await up(cfg, (line) => {
    if (line.includes('starting')) started.push(line);
    console.log(line);
  });
  provide(project, endpoints);
  return async () => {
    if (started.length > 0 && env.KEEP_INFRA !== '1') await down(cfg, () => {});
  };
}

function provide(
  project: TestProject,
  e: { kafkaBrokers: string; registryUrl: string; redisUrl: string },
): void {
  project.provide('kafkaBrokers', e.kafkaBrokers);
  project.provide('registryUrl', e.registryUrl);
  project.provide('redisUrl', e.redisUrl);
}
