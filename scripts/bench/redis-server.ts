import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/**
 * A redis-server of the benchmark's own, on a free loopback port: memory is measured on a server
 * nobody else writes to, it may be FLUSHALLed, and the services under test point at it too. No
 * persistence, so a fork for RDB/AOF never doubles memory or steals a core mid-measurement.
 */
export interface DedicatedRedis {
  url: string;
  port: number;
  pid: number;
  /** A client for the benchmark itself (measurements, FLUSHALL). */
  client: Redis;
  info(section: string): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/** A TCP port nothing listens on right now (the kernel picks it; we release it at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export async function startDedicatedRedis(): Promise<DedicatedRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  // Reconnects every 50 ms until the server listens.
  const client = new Redis(url, { retryStrategy: () => 50, maxRetriesPerRequest: null });
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      client.disconnect();
      child.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port} ${why}: ${stderr.trim()}`));
    };
    const timer = setTimeout(() => fail('did not answer within 10 s'), 10_000);
    child.once('exit', () => fail('exited on start'));
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const info = async (section: string) => parseInfo(await client.info(section));
  return {
    url,
    port,
    pid: child.pid!,
    client,
    info,
    async stop() {
      client.disconnect();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
