import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyChunk, indexedStages, listedStages } from '@leadscorer/core';
import { dimensionScores, loadModel } from '@leadscorer/engine';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testInfra, uniqueName } from '../../../test/support/infra.ts';
import { itemsFor } from '../../../test/support/oracle.ts';
import { startRedisCluster } from '../../../test/support/redis-cluster.ts';
import {
  ENTERED,
  type IndexPosition,
  leadKey,
  queryKey,
  RedisLeadQueries,
  RedisScoreStore,
  SHARDS,
  shardOf,
  updatedKey,
} from './index.ts';

/**
 * The query indexes against a real Redis with thousands of leads, written by the core's commits
 * (applyChunk) exactly as the services write them, read back through RedisLeadQueries, and
 * checked against the records themselves and the engine's scores.
 */
const model = loadModel(
  readFileSync(join(import.meta.dirname, '../../../models/default.yaml'), 'utf8'),
  'default.yaml',
);
const opts = { model, historyLength: 5 };
const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);
const LEADS = 3000;

const redis = new Redis(testInfra().redisUrl);
const prefix = uniqueName('q');
const keys = { prefix, shards: SHARDS };
const store = new RedisScoreStore({ client: redis, keys, model });
const queries = new RedisLeadQueries({ client: redis, keys, model });
const items = itemsFor(model, { seed: 16, leads: LEADS, events: 30_000, start: START, maxLagMs: DAY });
let clock = START;

/** Applies items [from, to) in chunks of 500, as a consumer would. */
async function apply(from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 500) {
    const chunk = items.slice(i, Math.min(i + 500, to));
    clock = Math.max(clock, chunk[chunk.length - 1]!.arrival);
    await applyChunk(
      store,
      chunk.map((c) => c.item),
      clock,
      opts,
    );
  }
}

async function allLeads(): Promise<Map<string, { stage: string; scores: number[] }>> {
  const ids = [...new Set(items.map((i) => i.item.leadId))];
  const read = await store.read(ids);
  return new Map(
    [...read].map(([id, l]) => [
      id,
      { stage: l.record.state.stage, scores: dimensionScores(l.record.state, clock, model) },
    ]),
  );
}

/** Every page of a query, following its cursors. */
async function pages(
  next: (after: IndexPosition | undefined) => Promise<{ entries: IndexPosition[]; next?: IndexPosition }>,
  between?: (page: number) => Promise<void>,
): Promise<IndexPosition[]> {
  const out: IndexPosition[] = [];
  let after: IndexPosition | undefined;
  for (let page = 0; ; page++) {
    const p = await next(after);
    out.push(...p.entries);
    if (!p.next) return out;
    after = p.next;
    await between?.(page);
  }
}

beforeAll(async () => {
  await apply(0, 20_000);
}, 120_000);

afterAll(async () => {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    cursor = next;
    if (found.length > 0) await redis.unlink(...found);
  } while (cursor !== '0');
  redis.disconnect();
});

describe('query indexes (real Redis, thousands of leads)', () => {
  it('hold every lead under its stored stage, once, in every sort; the funnel counts them', async () => {
    const leads = await allLeads();
    expect(leads.size).toBeGreaterThan(2500);
    const byStage = new Map<string, number>();
    for (const l of leads.values()) byStage.set(l.stage, (byStage.get(l.stage) ?? 0) + 1);
    // The generated traffic reaches several stages, or the test proves little.
    expect([...byStage.keys()].length).toBeGreaterThanOrEqual(3);
    const funnel = await queries.funnel();
    for (const stage of indexedStages(model)) expect(funnel[stage], stage).toBe(byStage.get(stage) ?? 0);
    // Each sort of each listed stage holds exactly the stage's leads; the first stage is not listed.
    expect(listedStages(model)).toEqual(indexedStages(model).slice(1));
    for (const stage of indexedStages(model)) {
      for (const sort of [...model.dimensions.map((d) => d.name), ENTERED]) {
        const members: string[] = [];
        for (let s = 0; s < SHARDS; s++)
          members.push(...(await redis.zrange(queryKey(keys, s, stage, sort), 0, -1)));
        const expected = listedStages(model).includes(stage)
          ? [...leads].filter(([, l]) => l.stage === stage).map(([id]) => id)
          : [];
        expect(members.sort(), `${stage} ${sort}`).toEqual(expected.sort());
      }
    }
    for (const [id] of leads) expect(await redis.zscore(updatedKey(keys, shardOf(id)), id)).not.toBeNull();
  });

  it('pages a stage by a score in the engine order, and still right after the clock moves by days', async () => {
    const leads = await allLeads();
    const stage = [...listedStages(model)].sort(
      (a, b) =>
        [...leads.values()].filter((l) => l.stage === b).length -
        [...leads.values()].filter((l) => l.stage === a).length,
    )[0]!;
    for (const d of model.dimensions) {
      const seen = await pages((after) => queries.stagePage(stage, d.name, 'desc', 50, after));
      const ids = seen.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual(
        [...leads]
          .filter(([, l]) => l.stage === stage)
          .map(([id]) => id)
          .sort(),
      );
      // Days later (no write meanwhile): the engine's scores then, in the order of the pages.
      for (const later of [clock, clock + 3 * DAY, clock + 40 * DAY]) {
        const read = await store.read(seen.map((e) => e.id));
        const scores = seen.map((e) => dimensionScores(read.get(e.id)!.record.state, later, model)[d.index]!);
        for (let i = 1; i < scores.length; i++) {
          // Non-increasing, up to the rounding of scores computed at different times.
          expect(scores[i]!, `${d.name} at +${(later - clock) / DAY} d, #${i}`).toBeLessThanOrEqual(
            scores[i - 1]! + 1e-9 * Math.max(1, Math.abs(scores[i - 1]!)),
          );
        }
      }
    }
  });

  it('pages by entry time: every lead of the stage once, in entry order', async () => {
    for (const stage of listedStages(model)) {
      const seen = await pages((after) => queries.stagePage(stage, ENTERED, 'asc', 37, after));
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.key).toBeGreaterThanOrEqual(seen[i - 1]!.key);
      expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    }
  });

  it('pagination while leads change stage: the leads that stay are each seen exactly once', async () => {
    const before = await allLeads();
    const count = (st: string) => [...before.values()].filter((l) => l.stage === st).length;
    const stage = listedStages(model).reduce((a, b) => (count(b) > count(a) ? b : a));
    const touched = new Set<string>();
    let applied = 20_000;
    const seen = await pages(
      (after) => queries.stagePage(stage, model.dimensions[0]!.name, 'desc', 50, after),
      async () => {
        // Between pages, other leads change: events for 250 more items.
        if (applied >= 25_000) return;
        for (const i of items.slice(applied, applied + 250)) touched.add(i.item.leadId);
        await apply(applied, applied + 250);
        applied += 250;
      },
    );
    expect(applied).toBeGreaterThan(20_000);
    const after = await allLeads();
    const ids = seen.map((e) => e.id);
    const stayed = [...before]
      .filter(([id, l]) => l.stage === stage && after.get(id)?.stage === stage && !touched.has(id))
      .map(([id]) => id);
    expect(stayed.length).toBeGreaterThan(50);
    for (const id of stayed) expect(ids.filter((x) => x === id).length, id).toBe(1);
    // Nothing returned was never in the stage.
    for (const id of ids)
      expect(before.get(id)?.stage === stage || after.get(id)?.stage === stage || touched.has(id)).toBe(true);
  });

  it('updatedSince misses nothing written while a client pages through it', async () => {
    const since = await queries.serverTimeUs();
    const written = new Set<string>();
    let applied = 25_000;
    const step = async () => {
      if (applied >= 30_000) return;
      const slice = items.slice(applied, applied + 500);
      await apply(applied, applied + 500);
      for (const i of slice) written.add(i.item.leadId);
      applied += 500;
    };
    await step();
    // A client syncing: pages of 100 from `since`, and again from its last cursor after each
    // round of writes, until nothing is written any more.
    const got = new Set<string>();
    let after: IndexPosition | undefined;
    for (let round = 0; round < 40; round++) {
      const p = await queries.updatedPage(since, 100, after);
      for (const e of p.entries) got.add(e.id);
      const last = p.entries[p.entries.length - 1];
      if (last) after = { key: last.key, id: last.id };
      await step();
      if (!p.next && applied >= 30_000 && round > 10) {
        const tail = await pages((a) => queries.updatedPage(since, 100, a ?? after));
        for (const e of tail) got.add(e.id);
        break;
      }
    }
    expect(written.size).toBeGreaterThan(500);
    // Everything written is found (a lead whose events changed nothing is not written: skip those
    // by checking the index itself).
    for (const id of written) {
      const at = Number(await redis.zscore(updatedKey(keys, shardOf(id)), id));
      if (at >= since) expect(got.has(id), id).toBe(true);
    }
  });

  it("the rescore's load writes the same listing indexes and funnel as the commits", async () => {
    const ids = [...new Set(items.map((i) => i.item.leadId))];
    const read = await store.read(ids);
    const keys2 = { prefix: `${prefix}-load`, shards: SHARDS };
    const loaded = new RedisScoreStore({ client: redis, keys: keys2, model });
    await loaded.load(
      [...read].map(([id, l]) => [id, l.record] as const),
      clock,
    );
    const q2 = new RedisLeadQueries({ client: redis, keys: keys2, model });
    expect(await q2.funnel()).toEqual(await queries.funnel());
    for (const stage of listedStages(model)) {
      for (const sort of [...model.dimensions.map((d) => d.name), ENTERED]) {
        const a = await pages((after) => queries.stagePage(stage, sort, 'desc', 200, after));
        const b = await pages((after) => q2.stagePage(stage, sort, 'desc', 200, after));
        const bk = new Map(b.map((e) => [e.id, e.key]));
        // Order keys computed at another time differ in the last bits; entry times are exact.
        const odd = a.find(
          (e) => Math.abs((bk.get(e.id) ?? Number.NaN) - e.key) > (sort === ENTERED ? 0 : 1e-9),
        );
        if (odd) {
          const r = (await store.read([odd.id])).get(odd.id)!.record;
          throw new Error(
            JSON.stringify({ stage, sort, odd, b: bk.get(odd.id), h: r.history, st: r.state.stage }),
          );
        }
        expect(
          b.map((e) => e.id),
          `${stage} ${sort}`,
        ).toEqual(a.map((e) => e.id));
      }
    }
  });

  it('removeFromIndexes takes a lead out of every index', async () => {
    const leads = await allLeads();
    const [id, l] = [...leads][7]!;
    await store.removeFromIndexes([id]);
    const shard = shardOf(id);
    for (const stage of indexedStages(model))
      for (const sort of [...model.dimensions.map((d) => d.name), ENTERED])
        expect(await redis.zscore(queryKey(keys, shard, stage, sort), id)).toBeNull();
    expect(await redis.zscore(updatedKey(keys, shard), id)).toBeNull();
    expect((await queries.funnel())[l.stage]).toBe(
      [...leads.values()].filter((x) => x.stage === l.stage).length - 1,
    );
    // The record itself is erasure's to delete; it is still there.
    expect(await redis.exists(leadKey(keys, id))).toBe(1);
  });

  it('work on a 3-master Redis Cluster: commits with their index ops, merged pages, funnel, erasure', async () => {
    const cluster = await startRedisCluster(17_301);
    const client = new Cluster(
      cluster.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })),
    );
    try {
      const ks = { prefix: uniqueName('qc'), shards: SHARDS };
      const s = new RedisScoreStore({ client, keys: ks, model });
      const q = new RedisLeadQueries({ client, keys: ks, model });
      const some = items.slice(0, 6000);
      for (let i = 0; i < some.length; i += 500) {
        const chunk = some.slice(i, i + 500);
        await applyChunk(
          s,
          chunk.map((c) => c.item),
          chunk[chunk.length - 1]!.arrival,
          opts,
        );
      }
      const ids = [...new Set(some.map((i) => i.item.leadId))];
      const read = await s.read(ids);
      const funnel = await q.funnel();
      for (const stage of indexedStages(model))
        expect(funnel[stage], stage).toBe(
          [...read.values()].filter((l) => l.record.state.stage === stage).length,
        );
      const stage = listedStages(model).reduce((a, b) => ((funnel[b] ?? 0) > (funnel[a] ?? 0) ? b : a));
      const listed = await pages((after) => q.stagePage(stage, ENTERED, 'desc', 20, after));
      expect(listed.map((e) => e.id).sort()).toEqual(
        [...read]
          .filter(([, l]) => l.record.state.stage === stage)
          .map(([id]) => id)
          .sort(),
      );
      const synced = await pages((after) => q.updatedPage(0, 100, after));
      expect(synced.length).toBe(read.size);
      await s.removeFromIndexes([listed[0]!.id]);
      expect((await q.funnel())[stage]).toBe(funnel[stage]! - 1);
      // The keyspace really spread over the masters.
      const perNode = await Promise.all(client.nodes('master').map((n) => n.dbsize()));
      expect(perNode.filter((n) => n > 0).length).toBe(3);
    } finally {
      client.disconnect();
      await cluster.stop();
    }
  });
});
