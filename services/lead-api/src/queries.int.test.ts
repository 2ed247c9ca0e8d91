import { readFileSync } from 'node:fs';
import { applyChunk, indexedStages } from '@leadscorer/core';
import { loadModel } from '@leadscorer/engine';
import type { RunningService } from '@leadscorer/runtime';
import { RedisScoreStore, SHARDS } from '@leadscorer/store';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, TEST_API_KEY_HASH } from '../../../test/support/api-key.ts';
import { testInfra, uniqueName } from '../../../test/support/infra.ts';
import { itemsFor } from '../../../test/support/oracle.ts';
import { MODEL_FILE } from '../../../test/support/scorer.ts';
import { OPENAPI } from './openapi.ts';
import { startLeadApi } from './server.ts';

/**
 * The query endpoints over HTTP (Node's fetch, not our code, as the client), against lead-api
 * running on a real Redis that holds thousands of leads written by the core's commits. Every 200
 * body is checked against the OpenAPI document's schema for it (Ajv), so the document and the
 * answers cannot drift apart; every 4xx has the error shape of the other endpoints.
 */
const model = loadModel(readFileSync(MODEL_FILE, 'utf8'), MODEL_FILE);
const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);
const redis = new Redis(testInfra().redisUrl);
const prefix = uniqueName('qapi');
const store = new RedisScoreStore({ client: redis, keys: { prefix, shards: SHARDS }, model });
const items = itemsFor(model, { seed: 7, leads: 2500, events: 15_000, start: START, maxLagMs: DAY });
const leadIds = [...new Set(items.map((i) => i.item.leadId))];
let api: RunningService;
let base: string;
let startedAt: number;

const ajv = new Ajv2020({ strict: false });
ajv.addSchema({ $id: 'openapi', components: OPENAPI.components });
const conforms = (schema: string, body: unknown) => {
  const check = ajv.getSchema(`openapi#/components/schemas/${schema}`)!;
  expect(check(body), JSON.stringify(check.errors)).toBe(true);
};

async function get(path: string, headers: Record<string, string> = AUTH) {
  const r = await fetch(base + path, { headers });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function post(path: string, body: string, type = 'application/json') {
  const r = await fetch(base + path, { method: 'POST', headers: { ...AUTH, 'content-type': type }, body });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  startedAt = Date.now();
  let now = START;
  for (let i = 0; i < items.length; i += 500) {
    const chunk = items.slice(i, i + 500);
    now = Math.max(now, chunk[chunk.length - 1]!.arrival);
    await applyChunk(
      store,
      chunk.map((c) => c.item),
      now,
      { model, historyLength: 5 },
    );
  }
  api = await startLeadApi(
    {
      REDIS_URL: testInfra().redisUrl,
      REDIS_KEY_PREFIX: prefix,
      MODEL_FILE,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
      API_KEY_HASHES: TEST_API_KEY_HASH,
      CLOCK_FIXED_MS: String(now + 2 * DAY),
    },
    0,
  );
  base = `http://127.0.0.1:${api.ops.port}`;
}, 120_000);

afterAll(async () => {
  await api?.stop();
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    cursor = next;
    if (found.length > 0) await redis.unlink(...found);
  } while (cursor !== '0');
  redis.disconnect();
});

describe('lead-api queries (HTTP, real Redis, thousands of leads)', () => {
  it('GET /stages: the funnel, one count per stage, adding up to every lead', async () => {
    const r = await get('/stages');
    expect(r.status).toBe(200);
    conforms('Funnel', r.body);
    const stages = r.body['stages'] as { stage: string; leads: number }[];
    expect(stages.map((s) => s.stage)).toEqual(indexedStages(model));
    // Leads whose every event was machine activity were never stored.
    const read = await store.read(leadIds);
    expect(read.size).toBeGreaterThan(2400);
    expect(r.body['total']).toBe(read.size);
    for (const { stage, leads } of stages)
      expect(leads, stage).toBe([...read.values()].filter((l) => l.record.state.stage === stage).length);
  });

  it('GET /leads?stage=: every lead of the stage once, by score highest first, following nextCursor', async () => {
    const funnel = (await get('/stages')).body['stages'] as { stage: string; leads: number }[];
    // The first stage is not listed (400 below): the biggest of the others.
    const biggest = funnel.slice(1).reduce((a, b) => (b.leads > a.leads ? b : a));
    for (const sort of ['score:engagement', 'score:fit', 'enteredAt']) {
      const seen: { leadId: string; scores: Record<string, number>; stage: string }[] = [];
      let path = `/leads?stage=${biggest.stage}&sort=${sort}&limit=100`;
      for (;;) {
        const r = await get(path);
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        conforms('LeadPage', r.body);
        seen.push(...(r.body['items'] as typeof seen));
        if (!r.body['nextCursor']) break;
        expect(r.body['hasMore']).toBe(true);
        path = `/leads?cursor=${r.body['nextCursor']}&limit=100`;
      }
      expect(seen.length, sort).toBe(biggest.leads);
      expect(new Set(seen.map((s) => s.leadId)).size).toBe(biggest.leads);
      if (sort.startsWith('score:')) {
        const dim = sort.slice(6);
        for (let i = 1; i < seen.length; i++)
          expect(seen[i]!.scores[dim]!).toBeLessThanOrEqual(seen[i - 1]!.scores[dim]! + 1e-6);
      }
    }
  });

  it('GET /leads?updatedSince=: every lead written since, then a cursor to poll with', async () => {
    const got = new Set<string>();
    let path = `/leads?updatedSince=${new Date(startedAt - 1000).toISOString()}&limit=200`;
    let last: Record<string, unknown> | undefined;
    for (let round = 0; round < 100; round++) {
      const r = await get(path);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      conforms('LeadPage', r.body);
      for (const item of r.body['items'] as { leadId: string; updatedAt: number }[]) {
        got.add(item.leadId);
        expect(item.updatedAt).toBeGreaterThanOrEqual(startedAt - 2000);
      }
      expect(r.body['nextCursor']).toEqual(expect.any(String));
      last = r.body;
      path = `/leads?cursor=${r.body['nextCursor']}&limit=200`;
      if (!r.body['hasMore']) break;
    }
    expect(got.size).toBe((await store.read(leadIds)).size);
    // Caught up: polling again with the last cursor gives nothing new, until a lead is written.
    const again = await get(path);
    expect(again.body['items']).toEqual([]);
    expect(last!['hasMore']).toBe(false);
    // A future time: nothing.
    expect((await get(`/leads?updatedSince=${Date.now() + DAY}`)).body['items']).toEqual([]);
  });

  it('POST /leads:batchGet: up to 100 leads in one request, the missing ones named', async () => {
    const ids = [...leadIds.slice(0, 98), 'no-such-lead', leadIds[0]!];
    const r = await post('/leads:batchGet', JSON.stringify({ leadIds: ids }));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    conforms('BatchGetResponse', r.body);
    expect((r.body['leads'] as { leadId: string }[]).map((l) => l.leadId)).toEqual(leadIds.slice(0, 98));
    expect(r.body['notFound']).toEqual(['no-such-lead']);
    // The same view as GET /leads/{id}.
    const one = await get(`/leads/${encodeURIComponent(leadIds[3]!)}`);
    expect((r.body['leads'] as unknown[])[3]).toEqual(one.body);
  });

  it('4xx with the error shape for bad parameters, bodies, methods and keys', async () => {
    const cases: [string, number, RegExp][] = [
      ['/leads', 400, /stage or updatedSince/],
      ['/leads?stage=mql&updatedSince=2026-01-01T00:00:00Z', 400, /give one of them/],
      ['/leads?stage=nope', 400, /not a stage of model/],
      ['/leads?stage=unqualified', 400, /the first stage, is not listed/],
      ['/leads?stage=mql&sort=score:nope', 400, /not a dimension/],
      ['/leads?stage=mql&sort=bogus', 400, /^sort: must match/],
      ['/leads?stage=mql&order=up', 400, /^order: must be equal to one of/],
      ['/leads?stage=mql&limit=0', 400, /^limit: must be >= 1/],
      ['/leads?stage=mql&limit=201', 400, /^limit: must be <= 200/],
      ['/leads?stage=mql&limit=ten', 400, /^limit: must be integer/],
      ['/leads?stage=mql&limit=5&limit=6', 400, /more than once/],
      ['/leads?stage=mql&updatedsince=1', 400, /updatedsince: not a parameter/],
      ['/leads?updatedSince=yesterday', 400, /^updatedSince: expected an ISO 8601/],
      ['/leads?updatedSince=2026-01-01', 400, /^updatedSince: expected an ISO 8601/],
      ['/leads?updatedSince=1&sort=enteredAt', 400, /not parameters of an updatedSince query/],
      ['/leads?cursor=abc', 400, /^cursor: not a cursor/],
      ['/stages?verbose=1', 400, /verbose: not a parameter/],
    ];
    for (const [path, status, message] of cases) {
      const r = await get(path);
      expect(r.status, path).toBe(status);
      expect(r.body, path).toEqual({ error: expect.any(String), message: expect.stringMatching(message) });
    }
    // A cursor of one query with the parameters of another.
    const page = await get('/leads?stage=pql&sort=score:fit&limit=1');
    const mismatch = await get(`/leads?cursor=${page.body['nextCursor']}&sort=enteredAt`);
    expect(mismatch.status).toBe(400);
    expect(mismatch.body['message']).toMatch(/differs from the cursor/);
    // Bodies.
    const tooMany = await post('/leads:batchGet', JSON.stringify({ leadIds: leadIds.slice(0, 101) }));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body['message']).toMatch(/^leadIds: must NOT have more than 100 items/);
    expect((await post('/leads:batchGet', JSON.stringify({ leadIds: [] }))).status).toBe(400);
    expect((await post('/leads:batchGet', JSON.stringify({ ids: ['a'] }))).body['message']).toMatch(
      /required property 'leadIds'/,
    );
    expect((await post('/leads:batchGet', '{"leadIds":')).body['message']).toMatch(/not JSON/);
    expect((await post('/leads:batchGet', JSON.stringify({ leadIds: [' a'] }))).status).toBe(400);
    expect((await post('/leads:batchGet', JSON.stringify({ leadIds: ['a'] }), 'text/plain')).status).toBe(
      415,
    );
    expect((await post('/leads:batchGet', JSON.stringify({ leadIds: ['x'.repeat(70_000)] }))).status).toBe(
      413,
    );
    // Methods and keys.
    expect((await fetch(`${base}/leads:batchGet`, { headers: AUTH })).status).toBe(405);
    expect((await fetch(`${base}/stages`, { method: 'POST', headers: AUTH })).status).toBe(405);
    expect((await get('/stages', {})).status).toBe(401);
    expect((await get('/leads?stage=mql', { authorization: 'Bearer lsk_unknown' })).status).toBe(403);
  });
});
