import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';

/** Addresses of the real infrastructure, handed over by test/global-setup.ts. */
export interface TestInfra {
  kafkaBrokers: string[];
  /** Confluent-compatible base URL, e.g. http://127.0.0.1:18081/apis/ccompat/v7 */
  registryUrl: string;
  redisUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    registryUrl: string;
    redisUrl: string;
  }
}

export function testInfra(): TestInfra {
  return {
    kafkaBrokers: inject('kafkaBrokers').split(','),
    registryUrl: inject('registryUrl'),
    redisUrl: inject('redisUrl'),
  };
}

/**
 * A name no other test (or earlier run) uses: tests isolate themselves by topic, group id
 * and Redis key prefix instead of wiping shared state.
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}
