import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { InfraConfig } from './config.ts';
import { type ManagedProcess, managed, run, runningPid, startDetached, waitFor } from './process.ts';

/**
 * Apicurio Registry from Maven Central, with its Confluent-compatible API at /apis/ccompat/v7.
 * 3.0.x is the newest line on Maven Central that still runs on Java 17 (3.1.x is not
 * published there; 3.2+ needs Java 21). Storage is an H2 file next to Kafka's data, so
 * schema ids stay valid for the messages already in the topics across restarts.
 */

/**
 * Apicurio's ccompat API finds a schema (lookup, and the lookup every registration does first)
 * by the hash of its exact text unless this is on. Confluent clients send the text of the .avsc
 * file, which differs from what was registered in whitespace or key order, and then get 40403
 * "schema does not match" or, auto-registering, silently create a second version. With it on,
 * the registry compares canonical forms (keys sorted, formatting ignored). A dynamic property:
 * the admin API changes it at run time and the value is kept in the registry's storage, which
 * then wins over the start-up flag; hence both below.
 */
export const CANONICAL_HASH_PROPERTY = 'apicurio.ccompat.use-canonical-hash';
export function registryProcess(cfg: InfraConfig): ManagedProcess {
  return managed(cfg.infraDir, 'registry', `-Dleadscorer.infra=${cfg.infraDir}`);
}

function runnerJar(cfg: InfraConfig): string {
  const v = cfg.registry.version;
  const dir = join(cfg.infraDir, 'apicurio', v);
  const jar = join(dir, `apicurio-registry-app-${v}-runner.jar`);
  if (existsSync(jar)) return jar;
  const artifact = `io.apicurio:apicurio-registry-app:${v}:tar.gz:all`;
  const tarball = join(
    homedir(),
    '.m2/repository/io/apicurio/apicurio-registry-app',
    v,
    `apicurio-registry-app-${v}-all.tar.gz`,
  );
  if (!existsSync(tarball)) {
    console.log(`[infra] fetching Apicurio Registry ${v} from Maven Central (cached in ~/.m2)...`);
    // transitive=false: the app's parent POM is not needed to run it.
    run(cfg.mvn, ['-q', '-B', 'dependency:get', `-Dartifact=${artifact}`, '-Dtransitive=false'], cfg.rootDir);
  }
  mkdirSync(dir, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', dir], cfg.rootDir);
  if (!existsSync(jar)) throw new Error(`Apicurio archive ${tarball} has no ${jar}`);
  return jar;
}

export function startRegistry(cfg: InfraConfig): number {
  const jar = runnerJar(cfg);
  const db = join(cfg.infraDir, 'data', 'registry', 'registry');
  mkdirSync(join(cfg.infraDir, 'data', 'registry'), { recursive: true });
  return startDetached(
    registryProcess(cfg),
    cfg.java,
    [
      `-Xmx${cfg.registry.heap}`,
      `-Dleadscorer.infra=${cfg.infraDir}`,
      '-Dquarkus.http.host=127.0.0.1',
      `-Dquarkus.http.port=${cfg.registry.port}`,
      `-Dapicurio.datasource.url=jdbc:h2:file:${db};DB_CLOSE_ON_EXIT=FALSE`,
      '-Dapicurio.rules.global.compatibility=BACKWARD',
      `-D${CANONICAL_HASH_PROPERTY}=true`,
      // Access logs of every request would drown the log we show on failure.
      '-Dquarkus.http.access-log.enabled=false',
      '-jar',
      jar,
    ],
    cfg.rootDir,
  );
}

function base(cfg: InfraConfig): string {
  return `http://127.0.0.1:${cfg.registry.port}`;
}

export async function registryAnswers(cfg: InfraConfig): Promise<boolean> {
  const res = await fetch(`${base(cfg)}/health/ready`, { signal: AbortSignal.timeout(2_000) });
  return res.ok;
}

/**
 * Apicurio's ccompat /config reports NONE until the level is set through it, even with the
 * global rule configured; set it explicitly so Confluent clients see BACKWARD.
 */
async function enforceBackward(cfg: InfraConfig): Promise<void> {
  const res = await fetch(`${base(cfg)}/apis/ccompat/v7/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: 'BACKWARD' }),
  });
  if (!res.ok) throw new Error(`setting global compatibility failed: ${res.status} ${await res.text()}`);
}

/**
 * Turns canonical matching on through the admin API when it is off, whoever started the registry
 * (a registry started before this setting existed keeps its stored value otherwise).
 */
async function enforceCanonicalMatching(cfg: InfraConfig): Promise<void> {
  const url = `${base(cfg)}/apis/registry/v3/admin/config/properties/${CANONICAL_HASH_PROPERTY}`;
  const current = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!current.ok) throw new Error(`reading ${CANONICAL_HASH_PROPERTY} failed: ${current.status}`);
  if (((await current.json()) as { value?: string }).value === 'true') return;
  const res = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ value: 'true' }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok)
    throw new Error(`setting ${CANONICAL_HASH_PROPERTY} failed: ${res.status} ${await res.text()}`);
}

export async function waitForRegistry(cfg: InfraConfig): Promise<void> {
  const p = registryProcess(cfg);
  await waitFor(
    `Schema registry on ${base(cfg)}`,
    () => registryAnswers(cfg),
    cfg.readyTimeoutMs,
    () => runningPid(p) !== undefined,
    p.logFile,
  );
  await enforceBackward(cfg);
  await enforceCanonicalMatching(cfg);
}
