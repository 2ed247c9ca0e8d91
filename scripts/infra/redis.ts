import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { InfraConfig } from './config.ts';
import { type ManagedProcess, managed, run, runningPid, startDetached, waitFor } from './process.ts';

/**
 * Redis: the server at REDIS_URL when one answers (this machine kind runs one on 6379),
 * otherwise a redis-server we start on that URL's loopback port, installing Debian's
 * package first if it is missing.
 */
export function redisProcess(cfg: InfraConfig): ManagedProcess {
  return managed(cfg.infraDir, 'redis', 'redis-server');
}

export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    // A program that accepts the connection but never answers (not a Redis) would otherwise hold
    // the ready check and the PING forever.
    enableReadyCheck: false,
    commandTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function ensureRedisServerInstalled(cfg: InfraConfig): void {
  if (spawnSync('redis-server', ['--version']).status === 0) return;
  console.log('[infra] redis-server is missing: installing the Debian package...');
  run('apt-get', ['update', '-qq'], cfg.rootDir);
  run('apt-get', ['install', '-y', '-qq', 'redis-server'], cfg.rootDir);
}

export function startRedis(cfg: InfraConfig): number {
  const url = new URL(cfg.redisUrl);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new Error(
      `REDIS_URL ${url.host} does not answer and is not on this machine: start it or fix REDIS_URL`,
    );
  }
  ensureRedisServerInstalled(cfg);
  const dir = join(cfg.infraDir, 'data', 'redis');
  mkdirSync(dir, { recursive: true });
  return startDetached(
    redisProcess(cfg),
    'redis-server',
    ['--bind', '127.0.0.1', '--port', url.port || '6379', '--save', '', '--appendonly', 'no', '--dir', dir],
    cfg.rootDir,
  );
}

export async function waitForRedis(cfg: InfraConfig): Promise<void> {
  const p = redisProcess(cfg);
  await waitFor(
    `Redis at ${cfg.redisUrl}`,
    () => redisAnswers(cfg.redisUrl),
    30_000,
    () => runningPid(p) !== undefined,
    p.logFile,
  );
}
