import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { infraConfigFromEnv } from '../scripts/infra/config.ts';
import { serviceAclRules } from '../scripts/infra/redis-acl.ts';
import { CANONICAL_HASH_PROPERTY } from '../scripts/infra/registry.ts';

// docker-compose.yml cannot run on a machine without Docker; this keeps it honest against
// the local stack (same ports, same versions, same variable names) and against services/.
const root = join(import.meta.dirname, '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<
    string,
    {
      image?: string;
      command?: string[];
      ports?: string[];
      environment?: Record<string, string>;
      depends_on?: Record<string, { condition: string }>;
      volumes?: string[];
    }
  >;
  volumes?: Record<string, unknown>;
};
const local = infraConfigFromEnv({}, root);

function serviceDirs(): string[] {
  const dir = join(root, 'services');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((s) => existsSync(join(dir, s, 'src/main.ts')));
}

function hostPorts(name: string): number[] {
  // "19092:19092" or "127.0.0.1:19092:19092": the host port is the one before the container's.
  return (compose.services[name]?.ports ?? []).map((p) => Number(p.split(':').slice(-2)[0]));
}

describe('docker-compose.yml', () => {
  it('publishes the same host ports as the local stack', () => {
    expect(hostPorts('kafka')).toContain(local.kafka.port);
    expect(hostPorts('registry')).toContain(local.registry.port);
    expect(hostPorts('redis')).toContain(Number(new URL(local.redisUrl).port));
  });

  it('runs the same Kafka and registry versions as the local stack', () => {
    expect(compose.services.kafka?.image).toBe(`apache/kafka:${local.kafka.version}`);
    expect(compose.services.registry?.image).toBe(`apicurio/apicurio-registry:${local.registry.version}`);
  });

  it('has the registry match schemas canonically, as the local stack does', () => {
    // Quarkus reads a property from the environment variable named like it in upper snake case.
    const variable = CANONICAL_HASH_PROPERTY.toUpperCase().replace(/[.-]/g, '_');
    expect(compose.services.registry?.environment?.[variable]).toBe('true');
  });

  it('advertises the host listener on the local broker port', () => {
    expect(compose.services.kafka?.environment?.KAFKA_ADVERTISED_LISTENERS).toContain(
      `127.0.0.1:${local.kafka.port}`,
    );
  });

  it('has an entry, with the shared environment, for every service in services/', () => {
    for (const s of serviceDirs()) {
      const entry = compose.services[s];
      expect(entry, `docker-compose.yml has no service "${s}"`).toBeDefined();
      expect(entry?.environment?.KAFKA_BROKERS).toBe('kafka:9092');
      expect(entry?.environment?.REDIS_URL).toBe('rediss://redis:6380');
      // The CA the certs step makes, mounted where the services look for it.
      expect(entry?.volumes, s).toContain(`certs:${dirname(entry?.environment?.KAFKA_SSL_CA_FILE ?? '')}:ro`);
    }
  });

  it('runs Jaeger and points every service at its OTLP/HTTP port', () => {
    expect(compose.services.jaeger?.image).toMatch(/^jaegertracing\/jaeger:2\.\d+\.\d+$/);
    expect(compose.services.jaeger?.ports).toContain('4318:4318');
    for (const s of serviceDirs()) {
      expect(compose.services[s]?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT, s).toBe('http://jaeger:4318');
    }
  });

  it('shows the secure setup: SASL_SSL with SCRAM, TLS Redis as the ACL user, passwords from the environment', () => {
    const env = compose.services['web-visits']?.environment ?? {};
    expect(env).toMatchObject({
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'lead-scorer',
      REDIS_USERNAME: 'lead-scorer',
    });
    expect(env.REDIS_TLS_CA_FILE).toBe(env.KAFKA_SSL_CA_FILE);
    // Secrets are interpolated from the environment / .env, required, never written here.
    for (const name of ['KAFKA_SASL_PASSWORD', 'REDIS_PASSWORD'])
      expect(env[name], name).toMatch(new RegExp(`^\\$\\{${name}:\\?`));
    expect(compose.services['lead-api']?.environment?.API_KEY_HASHES).toMatch(/^\$\{API_KEY_HASHES:\?/);
    // The broker formats its storage with the services' SCRAM user.
    const kafkaScript = readFileSync(join(root, 'deploy/compose/kafka-sasl-ssl.sh'), 'utf8');
    expect(kafkaScript).toContain(`name=${env.KAFKA_SASL_USERNAME},password=\${KAFKA_SASL_PASSWORD}`);
    expect(kafkaScript).toContain('INTERNAL:SASL_SSL');
    // Redis's user is exactly the rule `npm run redis-acl` prints, for the deployment's prefix.
    const command = compose.services.redis?.command?.join(' ') ?? '';
    const rule = /--user lead-scorer (.*)$/
      .exec(command)?.[1]
      ?.split(' ')
      .map((w) => w.replace(/^'|'$/g, ''));
    const expected = serviceAclRules(env.REDIS_KEY_PREFIX ?? 'ls', 'x');
    expect(rule?.filter((w) => !w.includes('REDIS_PASSWORD'))).toEqual(
      expected.filter((w) => !w.startsWith('#')),
    );
    expect(command).toContain('--user default off');
    // Infrastructure published to this machine only, never to the network.
    for (const name of ['kafka', 'redis', 'registry'])
      for (const p of compose.services[name]?.ports ?? []) expect(p, name).toMatch(/^127\.0\.0\.1:/);
  });

  it('registers the schemas in a one-shot step that every service waits for', () => {
    const step = compose.services['register-schemas'];
    expect(step?.command).toEqual(['node', 'libs/contracts/src/cli/schemas.ts', 'register']);
    expect(existsSync(join(root, step?.command?.[1] ?? ''))).toBe(true);
    expect(step?.environment?.SCHEMA_REGISTRY_URL).toBe(
      compose.services['web-visits']?.environment?.SCHEMA_REGISTRY_URL,
    );
    expect(step?.depends_on?.registry?.condition).toBe('service_healthy');
    for (const s of serviceDirs()) {
      expect(compose.services[s]?.depends_on?.['register-schemas'], s).toEqual({
        condition: 'service_completed_successfully',
      });
    }
  });

  it('keeps the archive on a named volume mounted where ARCHIVE_DIR points', () => {
    const archiver = compose.services.archiver;
    const dir = archiver?.environment?.ARCHIVE_DIR;
    expect(dir).toBeTruthy();
    const mount = archiver?.volumes?.find((v) => v.split(':')[1] === dir);
    expect(mount, 'a volume at ARCHIVE_DIR').toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(mount!.split(':')[0]);
  });

  it('has Prometheus scrape every service', () => {
    const prom = parse(readFileSync(join(root, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    const targets = prom.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    for (const s of serviceDirs()) {
      expect(
        targets.some((t) => t.startsWith(`${s}:`)),
        `prometheus.yml does not scrape ${s}`,
      ).toBe(true);
    }
  });
});
