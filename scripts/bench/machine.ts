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
