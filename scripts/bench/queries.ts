import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadModel } from '@leadscorer/engine';
import { ENTERED, RedisLeadQueries, SHARDS } from '@leadscorer/store';
import { newApiKey } from '../api-key.ts';
import { measureMemory } from './memory.ts';
import { freePort, startDedicatedRedis } from './redis-server.ts';

/**
 * `npm run bench:queries`: the read API's queries at scale. A redis-server of its own is filled
 * through the scorers' own commits (RedisScoreStore, the core's applyChunk: records and query
 * indexes exactly as the services write them) with N leads at E events per lead; then:
 *
 * - Redis bytes per lead, indexes included (used_memory delta / leads; MEMORY USAGE per structure);
 * - latency of lead-api requests over HTTP on loopback (keep-alive), lead-api in a process of its own:
 *   pages of 50 of a stage by each sort, following cursors; the funnel (GET /stages); pages of
 *   updatedSince; batch reads of 100 ids.
 *
 * Prints the numbers; asserts nothing (targets: <= 300 B/lead at 10 events/lead, p99 < 20 ms for
 * a page of 50 and < 5 ms for the funnel at 1,000,000 leads).
 */
const ROOT = resolve(import.meta.dirname, '../..');
const MODEL_FILE = join(ROOT, 'models/default.yaml');
const USAGE = `npm run bench:queries -- [--leads N] [--events-per-lead E] [--requests R]
  --leads N            leads stored (default 1000000)
  --events-per-lead E  average events per lead (default 10)
  --requests R         requests timed per kind (default 2000)`;

process.removeAllListeners('warning');

async function main(): Promise<number> {
  let values: { leads: string; 'events-per-lead': string; requests: string; help: boolean };
  try {
    values = parseArgs({
      options: {
        leads: { type: 'string', default: '1000000' },
        'events-per-lead': { type: 'string', default: '10' },
        requests: { type: 'string', default: '2000' },
        help: { type: 'boolean', default: false },
      },
    }).values as typeof values;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const leads = Number(values.leads);
  const perLead = Number(values['events-per-lead']);
  const requests = Number(values.requests);
  if (![leads, perLead, requests].every((n) => Number.isFinite(n) && n > 0)) {
    console.error(`--leads, --events-per-lead and --requests take positive numbers\n\n${USAGE}`);
    return 2;
  }
  const model = loadModel(readFileSync(MODEL_FILE, 'utf8'), MODEL_FILE);
  const log = (s: string) => console.log(`[bench:queries] ${s}`);
  const redis = await startDedicatedRedis();
  let api: ChildProcess | undefined;
  try {
    const now = Date.now();
    log(`filling a dedicated Redis with ${leads} leads x ${perLead} events (the scorers' commits)`);
    const mem = await measureMemory(redis, model, { leads, eventsPerLead: perLead, now, tag: 'q', log });
    const key = newApiKey();
    // lead-api as it runs in production: a process of its own (the benchmark's client and its
    // garbage collection do not share its event loop).
    const port = await freePort();
    api = spawn(process.execPath, [join(ROOT, 'services/lead-api/src/main.ts')], {
      env: {
        ...process.env,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: 'ls',
        MODEL_FILE,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(port),
        LOG_LEVEL: 'warn',
        API_KEY_HASHES: key.hash,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ready = await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (i > 300) throw new Error('lead-api did not get ready within 30 s');
      await sleep(100);
    }
    const headers = { authorization: `Bearer ${key.key}` };
    const get = async (path: string) => {
      const started = performance.now();
      const r = await fetch(base + path, { headers });
      const body = (await r.json()) as Record<string, unknown>;
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(body)}`);
      return { ms: performance.now() - started, body };
    };
    const funnel = (await get('/stages')).body['stages'] as { stage: string; leads: number }[];
    // Every listed stage (all but the first) with a page of leads.
    const stages = funnel.slice(1).filter((s) => s.leads >= 50);
    const sorts = [...model.dimensions.map((d) => `score:${d.name}`), 'enteredAt'];
    let seed = 1;
    const rnd = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };

    const timings: Record<string, number[]> = { page: [], funnel: [], updated: [], batch: [] };
    // Warm-up: connections, script cache, JIT.
    for (let i = 0; i < 50; i++) await get('/stages');
    // Pages of 50: a random stage and sort, first page, then up to four pages along the cursor.
    while (timings['page']!.length < requests) {
      const s = stages[Math.floor(rnd() * stages.length)]!;
      const sort = sorts[Math.floor(rnd() * sorts.length)]!;
      let path = `/leads?stage=${s.stage}&sort=${sort}&limit=50`;
      for (let p = 0; p < 5 && timings['page']!.length < requests; p++) {
        const r = await get(path);
        timings['page']!.push(r.ms);
        if (!r.body['nextCursor']) break;
        path = `/leads?cursor=${r.body['nextCursor']}&limit=50`;
      }
    }
    for (let i = 0; i < requests; i++) timings['funnel']!.push((await get('/stages')).ms);
    // updatedSince: pages of 50 from a random point of the fill.
    const fill = mem.applySeconds * 1000;
    const startedFill = Date.now() - fill - 60_000;
    for (let i = 0; i < requests; i++) {
      const since = Math.floor(startedFill + rnd() * (fill + 60_000));
      timings['updated']!.push((await get(`/leads?updatedSince=${since}&limit=50`)).ms);
    }
    const some = (await get(`/leads?stage=${stages[0]!.stage}&limit=200`)).body['items'] as {
      leadId: string;
    }[];
    for (let i = 0; i < Math.min(requests, 500); i++) {
      const ids = Array.from({ length: 100 }, () => some[Math.floor(rnd() * some.length)]!.leadId);
      const started = performance.now();
      const r = await fetch(`${base}/leads:batchGet`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ leadIds: ids }),
      });
      await r.arrayBuffer();
      timings['batch']!.push(performance.now() - started);
    }

    // The Redis part alone, in this process: the index reads of a page and the funnel's ZCARDs.
    const queries = new RedisLeadQueries({
      client: redis.client,
      keys: { prefix: 'ls', shards: SHARDS },
      model,
    });
    const dims = model.dimensions.map((d) => d.name);
    timings['redisPage'] = [];
    timings['redisFunnel'] = [];
    for (let i = 0; i < requests; i++) {
      const s = stages[Math.floor(rnd() * stages.length)]!;
      const sort = rnd() < 0.25 ? ENTERED : dims[Math.floor(rnd() * dims.length)]!;
      const started = performance.now();
      await queries.stagePage(s.stage, sort, 'desc', 50);
      timings['redisPage'].push(performance.now() - started);
      const f0 = performance.now();
      await queries.funnel();
      timings['redisFunnel'].push(performance.now() - f0);
    }

    const q = (xs: number[], p: number) => {
      const s = [...xs].sort((a, b) => a - b);
      return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
    };
    const f = (x: number) => x.toFixed(2);
    console.log('');
    console.log(`## Read API queries: ${mem.leads} leads, ${mem.eventsPerLead.toFixed(1)} events/lead`);
    console.log('');
    console.log(
      `memory: ${mem.bytesPerLead.toFixed(0)} bytes/lead (target <= 300) = ${Object.entries(mem.breakdown)
        .map(([k, v]) => `${k} ${v.toFixed(0)}`)
        .join(
          ' + ',
        )} + keyspace/other ${(mem.bytesPerLead - Object.values(mem.breakdown).reduce((a, b) => a + b, 0)).toFixed(0)}`,
    );
    console.log(`funnel: ${funnel.map((s) => `${s.stage} ${s.leads}`).join(', ')}`);
    console.log('');
    console.log('| request | n | p50 ms | p90 ms | p99 ms | max ms | target |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
    const rows: [string, string, string][] = [
      ['page', 'GET /leads?stage=&sort=&limit=50 (and its cursors)', 'p99 < 20 ms'],
      ['funnel', 'GET /stages', 'p99 < 5 ms'],
      ['updated', 'GET /leads?updatedSince=&limit=50', ''],
      ['batch', 'POST /leads:batchGet (100 ids)', ''],
      ['redisPage', 'index reads of a first page of 50 (RedisLeadQueries, no HTTP, no record read)', ''],
      ['redisFunnel', 'the funnel ZCARDs (RedisLeadQueries, no HTTP)', ''],
    ];
    for (const [k, label, target] of rows) {
      const xs = timings[k]!;
      console.log(
        `| ${label} | ${xs.length} | ${f(q(xs, 50))} | ${f(q(xs, 90))} | ${f(q(xs, 99))} | ${f(Math.max(...xs))} | ${target} |`,
      );
    }
    console.log('');
    console.log(
      'Latency over HTTP on loopback, one client, sequential requests; lead-api and Redis on this machine.',
    );
    return 0;
  } finally {
    api?.kill('SIGTERM');
    await redis.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
