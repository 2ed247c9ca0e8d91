import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A throwaway 3-master Redis Cluster on loopback for tests that must prove the key layout
 * works under Cluster (every key a script touches in one slot). Started and stopped by the
 * test that needs it; its data lives in a temporary folder.
 */
export interface LocalRedisCluster {
  nodes: string[];
  stop(): Promise<void>;
}

export async function startRedisCluster(basePort = 17_001): Promise<LocalRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'leadscorer-cluster-'));
  const ports = [basePort, basePort + 1, basePort + 2];
  const procs: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '2000',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    ),
  );
  const stop = async (): Promise<void> => {
    for (const p of procs) p.kill('SIGTERM');
    await sleep(200);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) await waitForPing(port);
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8' },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${create.stderr}${create.stdout}`);
    for (const port of ports) await waitForClusterOk(port);
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes: ports.map((p) => `127.0.0.1:${p}`), stop };
}

async function waitForPing(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG')
      return;
    await sleep(100);
  }
  throw new Error(`redis-server on ${port} did not start`);
}

async function waitForClusterOk(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const info = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' }).stdout;
    if (info.includes('cluster_state:ok')) return;
    await sleep(100);
  }
  throw new Error(`Redis Cluster node ${port} did not reach cluster_state:ok`);
}
