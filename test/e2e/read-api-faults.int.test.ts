import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { createLogger, createMetrics, type RunningService, startOpsServer } from '@leadscorer/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLeadApi } from '../../services/lead-api/src/server.ts';
import { AUTH, TEST_API_KEY, TEST_API_KEY_HASH } from '../support/api-key.ts';
import { eventually, MODEL_FILE } from '../support/scorer.ts';

// The read API and the ops endpoints when things go wrong: a redis-server of this test's own is
// frozen (SIGSTOP) and stopped; lead-api answers 503 with Retry-After and nothing of the failure
// inside its deadline, /readyz turns false, and both recover. Wrong methods on /metrics, /healthz
// and /readyz are 405. The API key checks run against the real server.

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

/** Any method, TRACE included (fetch refuses to send TRACE). */
function call(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body, ms: Date.now() - started }),
      );
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${path}: no answer in 15 s`)));
    req.on('error', reject);
    req.end();
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** A redis-server of this test's own: nothing persisted, stopped by the test. */
async function startRedis(port: number): Promise<ChildProcess> {
  const p = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  await eventually(
    `redis-server on ${port}`,
    async () =>
      spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG',
    10_000,
  );
  return p;
}

const INTERNALS = /ECONN|ioredis|Redis|127\.0\.0\.1|stack|MaxRetries|Connection/i;

describe('lead-api under failure', () => {
  let port: number;
  let redis: ChildProcess | undefined;
  let api: RunningService;

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    api = await startLeadApi(
      {
        REDIS_URL: `redis://127.0.0.1:${port}`,
        REDIS_KEY_PREFIX: 'faults',
        MODEL_FILE,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        LOG_LEVEL: 'silent',
        API_KEY_HASHES: `${'0'.repeat(64)},${TEST_API_KEY_HASH}`,
        REQUEST_TIMEOUT_MS: '800',
        READY_TIMEOUT_MS: '300',
        READY_CACHE_MS: '200',
        RETRY_AFTER_SECONDS: '3',
      },
      0,
    );
  });
  afterAll(async () => {
    if (redis?.pid) {
      redis.kill('SIGCONT');
      redis.kill('SIGTERM');
    }
    await api?.stop();
  });

  const lead = (headers: Record<string, string> = AUTH) =>
    call(api.ops.port, 'GET', '/leads/some-lead', headers);
  const ready = () => call(api.ops.port, 'GET', '/readyz');

  function expectUnavailable(r: Reply): void {
    expect(r.status, r.body).toBe(503);
    expect(r.headers['retry-after']).toBe('3');
    expect(JSON.parse(r.body)).toEqual({ error: 'unavailable', message: expect.any(String) });
    expect(r.body).not.toMatch(INTERNALS);
    // Within the deadline (800 ms) plus scheduling slack on a busy machine.
    expect(r.ms).toBeLessThan(3_000);
  }

  it('asks for a key: 401 without or malformed (WWW-Authenticate: Bearer), 403 for an unknown one', async () => {
    expect((await lead()).status).toBe(404); // Redis answered: no such lead
    const none = await lead({});
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer /);
    const malformed = await lead({ authorization: `Token ${TEST_API_KEY}` });
    expect(malformed.status).toBe(401);
    expect(malformed.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_request"/);
    expect((await lead({ authorization: 'Bearer lsk_not-a-key-of-ours' })).status).toBe(403);
    // The ops endpoints and the contract stay open.
    for (const path of ['/metrics', '/healthz', '/readyz', '/openapi.json'])
      expect((await call(api.ops.port, 'GET', path)).status, path).toBe(200);
  });

  it('Redis frozen: 503 with Retry-After inside the deadline, /readyz false; both recover', async () => {
    redis!.kill('SIGSTOP');
    try {
      expectUnavailable(await lead());
      await eventually('/readyz to turn false', async () => (await ready()).status === 503, 5_000);
      const r = await ready();
      expect(r.ms).toBeLessThan(2_000);
    } finally {
      redis!.kill('SIGCONT');
    }
    await eventually('/readyz to turn true again', async () => (await ready()).status === 200, 10_000);
    await eventually('reads to work again', async () => (await lead()).status === 404, 10_000);
  });

  it('Redis down: 503 with Retry-After and no internals, /readyz false; back when Redis is', async () => {
    redis!.kill('SIGTERM');
    await new Promise((r) => redis!.once('exit', r));
    redis = undefined;
    expectUnavailable(await lead());
    expectUnavailable(await lead()); // while ioredis is reconnecting, too
    await eventually('/readyz to turn false', async () => (await ready()).status === 503, 5_000);
    redis = await startRedis(port);
    await eventually('/readyz to turn true again', async () => (await ready()).status === 200, 15_000);
    await eventually('reads to work again', async () => (await lead()).status === 404, 15_000);
  });
});

describe('ops endpoints', () => {
  it('answer GET and HEAD, and 405 with Allow to every other method', async () => {
    const metrics = createMetrics('ops-methods-test', { defaultMetrics: false });
    const ops = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      live: () => true,
      ready: () => true,
      log: createLogger('ops-methods-test', 'silent'),
    });
    try {
      for (const path of ['/metrics', '/healthz', '/readyz']) {
        expect((await call(ops.port, 'GET', path)).status, path).toBe(200);
        const head = await call(ops.port, 'HEAD', path);
        expect(head.status, `HEAD ${path}`).toBe(200);
        expect(head.body).toBe('');
        for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'OPTIONS']) {
          const r = await call(ops.port, method, path);
          expect(r.status, `${method} ${path}`).toBe(405);
          expect(r.headers.allow, `${method} ${path}`).toBe('GET, HEAD');
        }
      }
    } finally {
      await ops.close();
    }
  });
});
