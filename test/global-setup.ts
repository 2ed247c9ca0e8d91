import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
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
  const teardown = await provideInfra(project);
  // Tests remove the Redis keys they create: what a run leaves behind fails it, named.
  const before = env.REDIS_LEFTOVER_CHECK === '0' ? undefined : await keyFamilies(providedRedisUrl!);
  return async () => {
    try {
      if (before) {
        const left = [...(await keyFamilies(providedRedisUrl!))].filter(([f]) => !before.has(f));
        if (left.length > 0)
          throw new Error(
            `the tests left Redis keys behind (prefix: keys): ${left.map(([f, n]) => `${f}: ${n}`).join(', ')}`,
          );
      }
    } finally {
      await teardown();
    }
  };
}

let providedRedisUrl: string | undefined;

/** Key families (the name up to its first ':', '#' or '{') and how many keys each has. */
async function keyFamilies(url: string): Promise<Map<string, number>> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const families = new Map<string, number>();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        const f = k.split(/[:#{]/, 1)[0]!;
        families.set(f, (families.get(f) ?? 0) + 1);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return families;
}

async function provideInfra(project: TestProject): Promise<() => Promise<void>> {
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
  providedRedisUrl = e.redisUrl;
}
