import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testInfra, uniqueName } from '../../test/support/infra.ts';
import { deleteKeys } from '../../test/support/scorer.ts';
import { resetIfModelChanged } from './state.ts';

describe('npm start with another model', () => {
  const prefix = uniqueName('demo').toLowerCase();
  afterAll(() => deleteKeys(testInfra().redisUrl, prefix));

  it("starts the demo's state over when the model differs from its generation's, and only then", async () => {
    const redis = new Redis(testInfra().redisUrl);
    try {
      await redis.set(
        `${prefix}#generation`,
        JSON.stringify({ generation: 1, modelVersion: 'a', model: 'version: a' }),
      );
      await redis.set(`${prefix}.g1:{01}:lead-1`, 'x');
      await redis.set(`${prefix}:names`, 'x');
      await redis.set(`${prefix}x:other`, 'kept');
      expect(await resetIfModelChanged(testInfra().redisUrl, prefix, 'version: a')).toBeUndefined();
      expect(await redis.exists(`${prefix}.g1:{01}:lead-1`)).toBe(1);
      const said = await resetIfModelChanged(testInfra().redisUrl, prefix, 'version: b');
      expect(said).toContain('model a');
      expect(await redis.exists(`${prefix}#generation`, `${prefix}.g1:{01}:lead-1`, `${prefix}:names`)).toBe(
        0,
      );
      // Another prefix that merely starts the same way is not touched.
      expect(await redis.get(`${prefix}x:other`)).toBe('kept');
      await redis.del(`${prefix}x:other`);
    } finally {
      redis.disconnect();
    }
  });
});
