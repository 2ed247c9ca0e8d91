import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { advanceTo, loadModel, stateView } from '@leadscorer/engine';
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { generateEvents } from '../../../test/support/event-gen.ts';
import { testInfra, uniqueName } from '../../../test/support/infra.ts';
import { type LocalRedisCluster, startRedisCluster } from '../../../test/support/redis-cluster.ts';
import { changeRecords, expectSameChange, expectSameState, Oracle, sortChanges } from '../test/oracle.ts';
import { type ApplyItem, dueKey, RedisScoreStore, SHARDS, shardOf, sourceId } from './index.ts';

const model = loadModel(
  readFileSync(join(import.meta.dirname, '../../../models/default.yaml'), 'utf8'),
  'default.yaml',
);
const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);

function itemsFor(oracle: Oracle, seed: number, leads: number, events: number) {
  const gen = generateEvents({
    seed,
    leads,
    events,
    start: START,
    stepMs: 60_000,
    maxLagMs: 10 * DAY,
    leadPrefix: `L${seed}`,
  });
  const counters = new Map<string, number>();
  return gen.map(({ event, arrival }) => {
    // Three partitions per topic; a lead's events of one type always land on one partition.
    const source = sourceId(event.type[0]!, event.leadId.length % 3);
    const offset = (counters.get(source) ?? -1) + 1;
    counters.set(source, offset);
    const item: ApplyItem = { leadId: event.leadId, source, offset, effect: oracle.effect(event) };
    return { item, arrival };
  });
}

/** Applies through the store in chunks (one `now` per chunk), redelivering some chunks. */
async function runDifferential(client: Redis | Cluster, prefix: string, seed: number) {
  const store = new RedisScoreStore({
    client: client,
    keys: { prefix, shards: SHARDS },
    model,
    historyLength: 5,
  });
  const oracle = new Oracle(model);
  const items = itemsFor(oracle, seed, 60, 3000);
  const recorded = [];
  let redelivered = 0;
  for (let i = 0; i < items.length; i += 50) {
    const chunk = items.slice(i, i + 50);
    const now = chunk[chunk.length - 1]!.arrival;
    const res = await store.applyBatch(
      chunk.map((c) => c.item),
      now,
    );
    for (const c of chunk) oracle.apply(c.item, now);
    recorded.push(...res.changes);
    if ((i / 50) % 7 === 3) {
      // A crash before the offset commit: Kafka delivers the same chunk again.
      const again = await store.applyBatch(
        chunk.map((c) => c.item),
        now + 1000,
      );
      expect(again.outcomes.every((o) => o === 'redelivered')).toBe(true);
      expect(again.changes).toEqual([]);
      redelivered += chunk.length;
    }
  }
  return { store, oracle, recorded, redelivered };
}

async function compare(store: RedisScoreStore, oracle: Oracle, recorded: ReturnType<typeof changeRecords>) {
  let withHistory = 0;
  for (const [lead, expected] of oracle.states) {
    const got = await store.readLead(lead);
    expect(got, `lead ${lead} missing`).toBeDefined();
    expectSameState(got!.stored.state, expected, lead);
    // The history kept in the state: the lead's last 5 changes, newest first.
    const last = oracle.changes
      .filter((c) => c.lead === lead)
      .slice(-5)
      .reverse();
    expect(
      got!.history.map(({ seq, from, to, cause, eventTime }) => ({ seq, from, to, cause, eventTime })),
    ).toEqual(last.map(({ seq, from, to, cause, eventTime }) => ({ seq, from, to, cause, eventTime })));
    if (last.length > 0) withHistory++;
  }
  expect(withHistory).toBeGreaterThan(0);
  const expectedChanges = sortChanges(oracle.changes);
  const actual = sortChanges(recorded);
  expect(actual.length).toBe(expectedChanges.length);
  for (const [i, a] of actual.entries()) expectSameChange(a, expectedChanges[i]!);
}

async function cleanup(client: Redis | Cluster, prefix: string) {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  for (const node of nodes) {
    const keys = await node.keys(`${prefix}:*`);
    for (const k of keys) await node.del(k);
  }
}

describe('RedisScoreStore: the Lua port against the pure engine', () => {
  const redis = new Redis(testInfra().redisUrl);
  let cluster: LocalRedisCluster | undefined;
  afterAll(async () => {
    redis.disconnect();
    await cluster?.stop();
  });

  it('random out-of-order, duplicated, redelivered events give the engine states and transitions', async () => {
    const prefix = uniqueName('t-store');
    const { store, oracle, recorded, redelivered } = await runDifferential(redis, prefix, 7);
    expect(redelivered).toBeGreaterThan(0);
    expect(oracle.changes.length).toBeGreaterThan(20);
    await compare(store, oracle, changeRecords(recorded));
    // The schedule of time-driven changes equals the engine's nextChangeAt.
    let scheduled = 0;
    for (const lead of oracle.states.keys()) {
      const expected = oracle.nextChangeAt(lead);
      const got = await redis.zscore(dueKey(store.keys, shardOf(lead)), lead);
      if (expected === null) expect(got).toBeNull();
      else {
        scheduled++;
        expect(Math.abs(Number(got) - expected), `due time of ${lead}`).toBeLessThanOrEqual(2);
      }
    }
    expect(scheduled).toBeGreaterThan(0);
    await cleanup(redis, prefix);
  });

  it('advances fading leads at their due time exactly as the engine does', async () => {
    const prefix = uniqueName('t-fade');
    const { store, oracle } = await runDifferential(redis, prefix, 11);
    const later = START + 60 * DAY;
    const moved = [];
    for (let s = 0; s < SHARDS; s++) moved.push(...(await store.advanceDue(s, later, 1000)));
    const expected = [];
    for (const [lead, state] of oracle.states) {
      const due = oracle.nextChangeAt(lead);
      if (due === null || due > later) continue;
      const r = advanceTo(state, later, model);
      if (r.transition) expected.push({ ...r.transition, lead });
    }
    expect(expected.length).toBeGreaterThan(0);
    const actual = sortChanges(changeRecords(moved));
    const exp = sortChanges(expected);
    expect(actual.length).toBe(exp.length);
    for (const [i, a] of actual.entries()) expectSameChange(a, exp[i]!);
    await cleanup(redis, prefix);
  });

  it('keeps every stored rule position across a model that drops, adds and reorders rules', async () => {
    const prefix = uniqueName('t-reorder');
    const { store, oracle } = await runDifferential(redis, prefix, 19);
    // The next model: case_study dropped, pricing_page moved to the end, a new rule first.
    const text = readFileSync(join(import.meta.dirname, '../../../models/default.yaml'), 'utf8');
    const start = text.indexOf('\n  - id: pricing_page');
    const end = text.indexOf('\nstages:');
    const blocks = text.slice(start, end).split(/(?=\n {2}- id: )/);
    const kept = blocks.filter((b) => !b.startsWith('\n  - id: case_study'));
    const fresh = kept[1]!.replace(/id: \w+/, 'id: webinar_page').replace(/- \/\w[^\n]*/g, '- /webinar');
    const next = loadModel(
      text.slice(0, start).replace(/version: .*/, 'version: reordered') +
        [fresh, ...kept.slice(1), kept[0]!].join('') +
        text.slice(end),
      'reordered.yaml',
    );
    expect(next.rules.findIndex((r) => r.id === 'pricing_page')).toBe(next.rules.length - 1);
    const after = new RedisScoreStore({ client: redis, keys: store.keys, model: next, historyLength: 5 });
    // Stored states read the same under the new model: ids, not positions, changed places.
    const dropped = [...oracle.states].filter(([, s]) => stateView(s).ci?.includes('case_study'));
    expect(dropped.length).toBeGreaterThan(0);
    for (const [lead, expected] of oracle.states) {
      expectSameState((await after.readLead(lead))!.stored.state, expected, lead);
    }
    // And scoring goes on from them exactly as the engine does with the new model.
    const moreOracle = new Oracle(next);
    for (const [lead, s] of oracle.states) moreOracle.states.set(lead, s);
    const more = itemsFor(moreOracle, 19, 60, 600).map(({ item, arrival }) => ({
      item: { ...item, offset: item.offset + 1_000_000 },
      arrival: arrival + 40 * DAY,
    }));
    for (let i = 0; i < more.length; i += 50) {
      const chunk = more.slice(i, i + 50);
      const now = chunk[chunk.length - 1]!.arrival;
      await after.applyBatch(
        chunk.map((c) => c.item),
        now,
      );
      for (const c of chunk) moreOracle.apply(c.item, now);
    }
    for (const [lead, expected] of moreOracle.states) {
      expectSameState((await after.readLead(lead))!.stored.state, expected, lead);
    }
    expect(await redis.hget(`${prefix}:rules`, 'webinar_page')).toBe(String(model.rules.length + 1));
    await cleanup(redis, prefix);
  });

  it('runs the same differential test on a 3-master Redis Cluster', async () => {
    cluster = await startRedisCluster();
    const client = new Cluster(
      cluster.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })),
    );
    try {
      const prefix = uniqueName('t-cluster');
      const { store, oracle, recorded } = await runDifferential(client, prefix, 13);
      await compare(store, oracle, changeRecords(recorded));
      // The keyspace really spread over the masters.
      const perNode = await Promise.all(client.nodes('master').map((n) => n.dbsize()));
      expect(perNode.filter((n) => n > 0).length).toBe(3);
    } finally {
      client.disconnect();
    }
  });
});
