import { describe, expect, it } from 'vitest';
import { infraConfigFromEnv, kafkaBrokers, registryUrl } from './config.ts';

describe('infra config from the environment', () => {
  it('defaults to the documented ports', () => {
    const cfg = infraConfigFromEnv({}, '/repo');
    expect(kafkaBrokers(cfg)).toBe('127.0.0.1:19092');
    expect(registryUrl(cfg)).toBe('http://127.0.0.1:18081/apis/ccompat/v7');
    expect(cfg.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(cfg.infraDir).toBe('/repo/.infra');
  });

  it('takes ports from the environment', () => {
    const cfg = infraConfigFromEnv({ KAFKA_PORT: '29092', SCHEMA_REGISTRY_PORT: '28081' }, '/repo');
    expect(kafkaBrokers(cfg)).toBe('127.0.0.1:29092');
    expect(registryUrl(cfg)).toBe('http://127.0.0.1:28081/apis/ccompat/v7');
  });

  it('refuses a bad port and names the variable', () => {
    expect(() => infraConfigFromEnv({ KAFKA_PORT: 'ninety' }, '/repo')).toThrow(/KAFKA_PORT/);
    expect(() => infraConfigFromEnv({ SCHEMA_REGISTRY_PORT: '70000' }, '/repo')).toThrow(
      /SCHEMA_REGISTRY_PORT/,
    );
  });
});
