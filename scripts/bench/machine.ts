import { spawnSync } from 'node:child_process';
import os from 'node:os';
import type { Machine } from './report.ts';

/**
 * What the numbers ran on. The broker's version is the one scripts/infra runs (KAFKA_VERSION);
 * the Kafka protocol does not tell a client the broker's release. The registry reports its own.
 */
export async function describeMachine(o: {
  kafkaVersion: string;
  registryUrl: string;
  redisVersion: string;
}): Promise<Machine> {
  const cpus = os.cpus();
  return {
    code: codeVersion(),
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    cores: cpus.length,
    cpuModel: (cpus[0]?.model ?? 'unknown').replace(/\s+/g, ' ').trim(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    kafka: o.kafkaVersion,
    registry: await registryVersion(o.registryUrl),
    redis: o.redisVersion,
  };
}

async function registryVersion(ccompatUrl: string): Promise<string> {
  try {
    const base = ccompatUrl.replace(/\/apis\/ccompat\/v\d+\/?$/, '');
    const res = await fetch(`${base}/apis/registry/v3/system/info`, { signal: AbortSignal.timeout(3_000) });
    const body = (await res.json()) as { version?: string };
    return body.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The commit measured, and whether library or service code differed from it (the numbers are of
 * the working tree, which is what ran).
 */
function codeVersion(): string {
  const git = (...args: string[]) => spawnSync('git', args, { encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git('rev-parse', '--short', 'HEAD') || 'unknown';
  const dirty = git('status', '--porcelain', '--', 'libs', 'services', 'models').split('\n').filter(Boolean);
  return dirty.length > 0 ? `${commit} + ${dirty.length} uncommitted files in libs/services/models` : commit;
}
