import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCommon, commonEnvSchema, loadEnv, redisTls, registryAuth } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'leadscorer-config-'));
const CA = join(dir, 'ca.pem');
writeFileSync(CA, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const NOT_PEM = join(dir, 'key.txt');
writeFileSync(NOT_PEM, 'not a certificate');
const MISSING = join(dir, 'missing.pem');

function check(env: Record<string, string>) {
  return () => checkCommon(loadEnv(commonEnvSchema, env));
}

describe('TLS / SASL / ACL settings', () => {
  it('accepts the secure setup of the deploy manifests', () => {
    const env = check({
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: CA,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'lead-scorer',
      KAFKA_SASL_PASSWORD: 'secret-password',
      REDIS_URL: 'rediss://redis:6380',
      REDIS_TLS_CA_FILE: CA,
      REDIS_USERNAME: 'lead-scorer',
      REDIS_PASSWORD: 'secret-password',
    })();
    expect(redisTls(env)).toBe(true);
  });

  it('turns Redis TLS on with REDIS_TLS or a rediss:// URL, and on a Cluster only with REDIS_TLS', () => {
    const env = (e: Record<string, string>) => loadEnv(commonEnvSchema, e);
    expect(redisTls(env({}))).toBe(false);
    expect(redisTls(env({ REDIS_TLS: 'true' }))).toBe(true);
    expect(redisTls(env({ REDIS_URL: 'rediss://r:6380' }))).toBe(true);
    expect(redisTls(env({ REDIS_URL: 'rediss://r:6380', REDIS_CLUSTER_NODES: 'a:1' }))).toBe(false);
    expect(redisTls(env({ REDIS_TLS: 'yes', REDIS_CLUSTER_NODES: 'a:1' }))).toBe(true);
  });

  it('names the variable and the file of a CA that is missing or not PEM, without a stack in the message', () => {
    expect(check({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: MISSING })).toThrow(
      `KAFKA_SSL_CA_FILE: cannot read ${MISSING} (ENOENT)`,
    );
    expect(check({ REDIS_TLS: 'true', REDIS_TLS_CA_FILE: NOT_PEM })).toThrow(
      `REDIS_TLS_CA_FILE: ${NOT_PEM} holds no PEM certificate`,
    );
    expect(check({ REDIS_TLS: 'true', REDIS_TLS_CA_FILE: dir })).toThrow(
      `REDIS_TLS_CA_FILE: cannot read ${dir} (EISDIR)`,
    );
    try {
      check({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: MISSING })();
    } catch (err) {
      expect((err as Error).message).not.toMatch(/\n\s+at /);
      expect((err as { code?: string }).code).toBe('CONFIG_INVALID');
    }
  });

  it('refuses a CA file while TLS is off rather than ignoring it', () => {
    expect(check({ KAFKA_SSL_CA_FILE: CA })).toThrow('KAFKA_SSL_CA_FILE: set, but KAFKA_SSL is not true');
    expect(check({ REDIS_TLS_CA_FILE: CA })).toThrow('REDIS_TLS_CA_FILE: set, but TLS to Redis is off');
  });

  it('refuses SASL credentials without a mechanism, a mechanism without credentials, and PLAIN in clear', () => {
    expect(check({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toThrow(
      'KAFKA_SASL_MECHANISM: required when',
    );
    expect(check({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u' })).toThrow(
      'KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD: required',
    );
    expect(
      check({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }),
    ).toThrow('KAFKA_SSL: must be true with KAFKA_SASL_MECHANISM=plain');
    // SCRAM never sends the password, so it may run without TLS (a private network).
    expect(
      check({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }),
    ).not.toThrow();
  });

  it('refuses a Redis ACL user without its password', () => {
    expect(check({ REDIS_USERNAME: 'lead-scorer' })).toThrow('REDIS_PASSWORD: required when REDIS_USERNAME');
    // ...but a process without Redis (the archiver) is not refused for the deployment's Redis settings.
    const env = loadEnv(commonEnvSchema, { REDIS_USERNAME: 'lead-scorer', REDIS_TLS_CA_FILE: MISSING });
    expect(() => checkCommon(env, { redis: false })).not.toThrow();
  });

  it('sends registry basic auth only with a username and its password', () => {
    expect(check({ SCHEMA_REGISTRY_USERNAME: 'svc' })).toThrow(
      'SCHEMA_REGISTRY_PASSWORD: required when SCHEMA_REGISTRY_USERNAME is set',
    );
    expect(registryAuth(check({ SCHEMA_REGISTRY_PASSWORD: 'pw' })())).toBeUndefined();
    const env = check({ SCHEMA_REGISTRY_USERNAME: 'svc', SCHEMA_REGISTRY_PASSWORD: 'pw' })();
    expect(registryAuth(env)).toEqual({ username: 'svc', password: 'pw' });
  });

  it('reports every problem at once and never echoes a secret', () => {
    const secret = 'hunter2-very-secret';
    let message = '';
    try {
      check({ KAFKA_SASL_PASSWORD: secret, REDIS_USERNAME: 'u', KAFKA_SSL_CA_FILE: CA })();
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.split('\n').length).toBe(4);
    expect(message).not.toContain(secret);
  });
});
