import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/**
 * A redis-server of a test's own with the production persistence setting (AOF, `appendfsync
 * everysec`), on a fixed loopback port across restarts, so services keep their URL: it can be
 * SIGKILLed, restarted from its own files, rolled back to an earlier copy of them, or wiped.
 */
export interface AofRedis {
  url: string;
  port: number;
  /** Starts redis-server on the data directory and waits until it answers. */
  start(): Promise<void>;
  /** SIGKILL: whatever the OS has of the files survives, as on a process crash. */
  kill(): Promise<void>;
  /** A copy of the data directory as it is now (a torn last command is truncated on load). */
  snapshot(): string;
  /** Replaces the data directory with a snapshot: Redis comes back as it was then. */
  restore(snapshot: string): void;
  /** A client for the test itself. */
  client(): Redis;
  stop(): Promise<void>;
}

export async function startAofRedis(): Promise<AofRedis> {
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), 'leadscorer-aof-'));
  const dir = join(root, 'data');
  let child: ChildProcess | undefined;
  let snapshots = 0;
  const clients: Redis[] = [];
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        root,
        '--appendonly',
        'yes',
        '--appenddirname',
        'data',
        '--appendfsync',
        'everysec',
        '--save',
        '',
      ],
      { stdio: 'ignore' },
    );
    const probe = new Redis(port, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    for (let i = 0; i < 200; i++) {
      try {
        await probe.connect();
        // LOADING while the AOF is read back: wait until it answers for real.
        await probe.ping();
        break;
      } catch {
        probe.disconnect();
        await sleep(50);
      }
    }
    probe.disconnect();
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    kill,
    snapshot: () => {
      const to = join(root, `snapshot-${snapshots++}`);
      cpSync(dir, to, { recursive: true });
      return to;
    },
    restore: (snapshot) => {
      rmSync(dir, { recursive: true, force: true });
      cpSync(snapshot, dir, { recursive: true });
    },
    client: () => {
      const c = new Redis(port, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    stop: async () => {
      for (const c of clients) c.disconnect();
      await kill();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}
