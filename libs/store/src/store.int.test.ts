import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { advanceDue, applyChunk, type RecordedChange, type ScoreStore } from '@leadscorer/core';
import { advanceTo, evaluateEvent, loadModel, scoresAt } from '@leadscorer/engine';
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testInfra, uniqueName } from '../../../test/support/infra.ts';
import {
  expectSameState,
  itemsFor,
  normalizeState,
  Oracle,
  sortChanges,
  transitions,
} from '../../../test/support/oracle.ts';
import { type LocalRedisCluster, startRedisCluster } from '../../../test/support/redis-cluster.ts';
import { dueKey, leadKey, namesKey, RedisScoreStore, SHARDS, shardOf } from './index.ts';

const model = loadModel(
  readFileSync(join(import.meta.dirname, '../../../models/default.yaml'), 'utf8'),
  'default.yaml',
);
const opts = { model, historyLength: 5 };
const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);

function store(client: Redis | Cluster, prefix: string): RedisScoreStore {
  return new RedisScoreStore({ client, keys: { prefix, shards: SHARDS }, model });
}

/** Chunks of 50 through the core and the Redis store (one `now` per chunk), some redelivered. */
async function runDifferential(s: ScoreStore, seed: number) {
  const oracle = new Oracle(model);
  const items = itemsFor(model, { seed, leads: 60, events: 3000, start: START, maxLagMs: 10 * DAY });
  const recorded: RecordedChange[] = [];
  let redelivered = 0;
  for (let i = 0; i < items.length; i += 50) {
    const chunk = items.slice(i, i + 50);
    const now = chunk[chunk.length - 1]!.arrival;
    const res = await applyChunk(
      s,
      chunk.map((c) => c.item),
      now,
      opts,
    );
    for (const c of chunk) oracle.apply(c.item, now);
    recorded.push(...res.recorded);
    if ((i / 50) % 7 === 3) {
      // A crash before the offset commit: Kafka delivers the same chunk again.
      const again = await applyChunk(
        s,
        chunk.map((c) => c.item),
        now + 1000,
        opts,
      );
      expect(again.outcomes.every((o) => o === 'redelivered' || o === 'filtered')).toBe(true);
      expect(again.recorded).toEqual([]);
      redelivered += chunk.length;
    }
  }
  expect(redelivered).toBeGreaterThan(0);
  return { oracle, recorded };
}

async function compare(s: RedisScoreStore, oracle: Oracle, recorded: RecordedChange[]) {
  const stored = await s.read(oracle.storedLeads().map(([lead]) => lead));
  let withHistory = 0;
  for (const [lead, expected] of oracle.storedLeads()) {
    const got = stored.get(lead);
    expect(got, `lead ${lead} missing`).toBeDefined();
    expectSameState(got!.record.state, expected, lead);
    // The history kept in the record: the lead's last 5 changes, newest first.
    const last = oracle.changes
      .filter((c) => c.lead === lead)
      .slice(-5)
      .reverse();
    expect(
      got!.record.history.map(({ seq, from, to, cause, eventTime }) => ({ seq, from, to, cause, eventTime })),
    ).toEqual(last.map(({ seq, from, to, cause, eventTime }) => ({ seq, from, to, cause, eventTime })));
    if (last.length > 0) withHistory++;
  }
  expect(withHistory).toBeGreaterThan(0);
  expect(sortChanges(transitions(recorded))).toEqual(sortChanges(oracle.changes));
}

/** Three services, each its own topic, applying chunks concurrently to the same few leads. */
async function runContention(s: ScoreStore) {
  const now = START + 20 * DAY;
  // Upstream duplicates right after their original: whether one further back is still in the
  // lead's dedupe ring depends on the interleaving (docs/model.md, "Caveats").
  const all = itemsFor(model, {
    seed: 31,
    leads: 12,
    events: 900,
    start: START,
    maxLagMs: 5 * DAY,
    adjacentDuplicates: true,
  });
  // Three services, each its own topic: the same leads, applied concurrently in chunks of 20.
  const byType = ['w', 'e', 't'].map((t) => all.map((x) => x.item).filter((i) => i.source[0] === t));
  let conflicts = 0;
  await Promise.all(
    byType.map(async (items) => {
      for (let i = 0; i < items.length; i += 20) {
        const r = await applyChunk(s, items.slice(i, i + 20), now, {
          ...opts,
          maxAttempts: 50,
        });
        conflicts += r.conflicts;
      }
    }),
  );
  expect(conflicts).toBeGreaterThan(0);
  // Order-independent comparison: the same `now`, so only the interleaving differs.
  const oracle = new Oracle(model);
  for (const items of byType) for (const item of items) oracle.apply(item, now);
  const stored = await s.read(oracle.storedLeads().map(([lead]) => lead));
  for (const [lead, want] of oracle.storedLeads()) {
    const got = stored.get(lead)!.record.state;
    const { c: gc, caps: gk, sig: gs, ring: _r, stage: _s, seq: _q, ...grest } = normalizeState(got);
    const { c: wc, caps: wk, sig: ws, ring: _r2, stage: _s2, seq: _q2, ...wrest } = normalizeState(want);
    expect(Object.keys(gc).sort()).toEqual(Object.keys(wc).sort());
    for (const [id, [v]] of Object.entries(wc)) expect(gc[id]![0]).toBeCloseTo(v, 5);
    expect(gk).toEqual(wk);
    expect(gs).toEqual(ws);
    expect(grest).toEqual(wrest);
  }
}

async function cleanup(client: Redis | Cluster, prefix: string) {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  for (const node of nodes) {
    const keys = await node.keys(`${prefix}:*`);
    if (keys.length > 0) await Promise.all(keys.map((k) => node.del(k)));
  }
}

describe('RedisScoreStore: the core and the engine through real Redis', () => {
  const redis = new Redis(testInfra().redisUrl);
  let cluster: LocalRedisCluster | undefined;
  const prefixes: string[] = [];
  const prefix = (label: string) => {
    const p = uniqueName(label);
    prefixes.push(p);
    return p;
  };
  afterAll(async () => {
    for (const p of prefixes) await cleanup(redis, p);
    redis.disconnect();
    await cluster?.stop();
  });

  it('random out-of-order, duplicated, redelivered events give the engine states, changes and schedule', async () => {
    const s = store(redis, prefix('t-store'));
    const { oracle, recorded } = await runDifferential(s, 7);
    expect(oracle.changes.length).toBeGreaterThan(20);
    await compare(s, oracle, recorded);
    // The outbox holds every recorded change, in order per lead, until acknowledged.
    expect(await s.outboxDepth()).toBe(recorded.length);
    const pending: RecordedChange[] = [];
    for (let shard = 0; shard < SHARDS; shard++)
      pending.push(...(await s.pendingOutbox(shard, 10_000, 0, Date.now())));
    expect(sortChanges(transitions(pending))).toEqual(sortChanges(oracle.changes));
    await s.ackOutbox(pending);
    expect(await s.outboxDepth()).toBe(0);
    // The schedule of time-driven changes equals the engine's nextChangeAt.
    let scheduled = 0;
    for (const [lead] of oracle.storedLeads()) {
      const expected = oracle.nextChangeAt(lead);
      const got = await redis.zscore(dueKey(s.keys, shardOf(lead)), lead);
      if (expected === null) expect(got, `due time of ${lead}`).toBeNull();
      else {
        scheduled++;
        expect(Number(got), `due time of ${lead}`).toBe(expected);
      }
    }
    expect(scheduled).toBeGreaterThan(0);
  });

  it('erases a lead: its record, schedule entry and waiting outbox entries, and nothing of the others', async () => {
    const s = store(redis, prefix('t-erase'));
    const { oracle, recorded } = await runDifferential(s, 13);
    // A lead with waiting stage changes and a place in the schedule, and the rest.
    const victim = oracle
      .storedLeads()
      .map(([lead]) => lead)
      .find((lead) => recorded.some((r) => r.change.lead === lead) && oracle.nextChangeAt(lead) !== null)!;
    expect(victim).toBeDefined();
    const depth = await s.outboxDepth();
    const waiting = recorded.filter((r) => r.change.lead === victim).length;
    expect(await s.erase(victim)).toEqual({ record: true, scheduled: true, outboxEntries: waiting });
    expect((await s.read([victim])).size).toBe(0);
    expect(await redis.zscore(dueKey(s.keys, shardOf(victim)), victim)).toBeNull();
    expect(await s.outboxDepth()).toBe(depth - waiting);
    const others = oracle.storedLeads().filter(([lead]) => lead !== victim);
    expect((await s.read(others.map(([lead]) => lead))).size).toBe(others.length);
    // Idempotent: nothing left to find.
    expect(await s.erase(victim)).toEqual({ record: false, scheduled: false, outboxEntries: 0 });
  });

  it('advances fading leads at their due time exactly as the engine does', async () => {
    const s = store(redis, prefix('t-fade'));
    const { oracle } = await runDifferential(s, 11);
    const later = START + 60 * DAY;
    const moved: RecordedChange[] = [];
    for (let shard = 0; shard < SHARDS; shard++)
      moved.push(...(await advanceDue(s, shard, later, 1000, opts)).recorded);
    const expected = [];
    for (const [lead, state] of oracle.storedLeads()) {
      const due = oracle.nextChangeAt(lead);
      if (due === null || due > later) continue;
      const r = advanceTo(state, later, model);
      if (r.transition) expected.push({ ...r.transition, lead });
    }
    expect(expected.length).toBeGreaterThan(0);
    expect(sortChanges(transitions(moved))).toEqual(sortChanges(expected));
    for (let shard = 0; shard < SHARDS; shard++) expect(await s.dueLeads(shard, later, 10)).toEqual([]);
  });

  it('writes a lead only while it is the record read: a stale version is skipped, nothing of it written', async () => {
    const p = prefix('t-cas');
    const s = store(redis, p);
    const now = START + DAY;
    const visit = (id: string, lead: string) => ({
      leadId: lead,
      source: 'w0',
      offset: Number(id.slice(1)),
      effect: evaluateEvent(model, {
        eventId: id,
        leadId: lead,
        eventTime: now,
        type: 'trial',
        props: { accountId: 'a', action: 'signup' },
      }),
    });
    await applyChunk(s, [visit('v1', 'cas-1')], now, opts);
    const first = (await s.read(['cas-1'])).get('cas-1')!;
    // Another writer commits meanwhile.
    await applyChunk(s, [visit('v2', 'cas-1')], now, opts);
    const stale = await s.commit(
      [{ leadId: 'cas-1', expected: first.version, record: first.record, due: 42, changes: [] }],
      now,
    );
    expect(stale).toEqual({ conflicts: ['cas-1'], recorded: [] });
    expect(await redis.zscore(dueKey(s.keys, shardOf('cas-1')), 'cas-1')).not.toBe('42');
    // "Must not exist yet" is a version too.
    const taken = await s.commit(
      [{ leadId: 'cas-1', expected: undefined, record: first.record, changes: [] }],
      now,
    );
    expect(taken.conflicts).toEqual(['cas-1']);
    const current = (await s.read(['cas-1'])).get('cas-1')!;
    expect(current.record.offsets.get('w0')).toBe(2);
    const ok = await s.commit([{ leadId: 'cas-1', expected: current.version, due: null, changes: [] }], now);
    expect(ok.conflicts).toEqual([]);
    expect(await redis.zscore(dueKey(s.keys, shardOf('cas-1')), 'cas-1')).toBeNull();
    // A record that is only rescheduled keeps its bytes.
    expect(
      (await redis.getBuffer(leadKey(s.keys, 'cas-1')))!.equals(current.version as unknown as Buffer),
    ).toBe(true);
  });

  it('commits a chunk of more leads than one call takes under a partition guard: the calls chain their marks', async () => {
    const p = prefix('t-chain');
    const s = new RedisScoreStore({
      client: redis,
      keys: { prefix: p, shards: SHARDS },
      model,
      maxLeadsPerCall: 7,
    });
    await s.initialize('0', false);
    const now = START + DAY;
    const items = Array.from({ length: 60 }, (_, i) => ({
      leadId: `chain-${i}`,
      source: 'w0',
      offset: i,
      effect: evaluateEvent(model, {
        eventId: `c${i}`,
        leadId: `chain-${i}`,
        eventTime: now,
        type: 'trial',
        props: { accountId: 'a', action: 'signup' },
      }),
    }));
    const field = 'g|t|0';
    const guard = {
      epoch: '0',
      partition: { field, known: new Map<number, string | null>(), next: -1, allShards: true },
    };
    await s.commit([], now, guard);
    // Nine calls at once, most shards covered by several of them: none refused.
    for (const at of [0, 30]) {
      guard.partition.next = at + 29;
      guard.partition.allShards = false;
      const res = await applyChunk(s, items.slice(at, at + 30), now, opts, guard);
      expect(res.outcomes.every((o) => o === 'applied')).toBe(true);
    }
    expect((await s.read(items.map((i) => i.leadId))).size).toBe(60);
    // What the guard knows is what every shard holds.
    const held = await s.positions(field);
    held.forEach((pos, shard) => {
      expect(pos?.mark, `shard ${shard}`).toBe(guard.partition.known.get(shard));
    });
    await expect(
      s.commit([], now, { ...guard, partition: { ...guard.partition, allShards: true } }),
    ).resolves.toBeDefined();
  });

  it('counts an upstream duplicate once whatever other services applied in between (the trial reproduction)', async () => {
    const s = store(redis, prefix('t-dup'));
    const now = START + DAY;
    const ev = (eventId: string, type: 'trial' | 'web', props: Record<string, string>) =>
      evaluateEvent(model, { eventId, leadId: 'dup-1', eventTime: now, type, props });
    const x = ev('X', 'trial', { accountId: 'a', action: 'feature_used' });
    // trial-activity applies X (offset 5) and is killed before committing its Kafka offset.
    await applyChunk(s, [{ leadId: 'dup-1', source: 't0', offset: 5, effect: x }], now, opts);
    // A producer retry put a second copy of X at offset 6; meanwhile web-visits applies 8 visits.
    const visits = Array.from({ length: 8 }, (_, i) => ({
      leadId: 'dup-1',
      source: 'w0',
      offset: i,
      effect: ev(`v${i}`, 'web', { url: 'https://x/blog/a', path: '/blog/a', userAgent: 'Mozilla/5.0' }),
    }));
    await applyChunk(s, visits, now, opts);
    // trial-activity restarts from offset 5: X is redelivered, then its copy.
    const r = await applyChunk(
      s,
      [
        { leadId: 'dup-1', source: 't0', offset: 5, effect: x },
        { leadId: 'dup-1', source: 't0', offset: 6, effect: x },
      ],
      now,
      opts,
    );
    expect(r.outcomes).toEqual(['redelivered', 'duplicate']);
    const stored = (await s.read(['dup-1'])).get('dup-1')!.record;
    expect(scoresAt(stored.state, now, model).product).toBe(5);
  });

  it('three writers on the same leads at once end where the engine ends, conflicts resolved', async () => {
    await runContention(store(redis, prefix('t-race')));
  });

  it('keeps every registered name across a model that drops, adds and reorders rules', async () => {
    const p = prefix('t-names');
    const s = store(redis, p);
    await applyChunk(
      s,
      itemsFor(model, { seed: 19, leads: 20, events: 200, start: START, maxLagMs: DAY }).map((x) => x.item),
      START + DAY,
      opts,
    );
    const before = await redis.hgetall(namesKey(s.keys));
    const text = readFileSync(join(import.meta.dirname, '../../../models/default.yaml'), 'utf8');
    const next = loadModel(
      text
        .replace(/version: .*/, 'version: renamed')
        .replace('id: pricing_page', 'id: pricing_visit')
        .replace(/\n {2}- id: case_study[\s\S]*?\n\n/, '\n'),
      'next.yaml',
    );
    const after = new RedisScoreStore({ client: redis, keys: s.keys, model: next });
    await after.names();
    const now = await redis.hgetall(namesKey(s.keys));
    for (const [name, n] of Object.entries(before)) expect(now[name], name).toBe(n);
    expect(Number(now['r:pricing_visit'])).toBe(Object.keys(before).length + 1);
  });

  it('runs the same differential test on a 3-master Redis Cluster', async () => {
    cluster = await startRedisCluster();
    const client = new Cluster(
      cluster.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })),
    );
    try {
      const s = store(client, uniqueName('t-cluster'));
      const { oracle, recorded } = await runDifferential(s, 13);
      await compare(s, oracle, recorded);
      await runContention(store(client, uniqueName('t-cluster-race')));
      // The keyspace really spread over the masters.
      const perNode = await Promise.all(client.nodes('master').map((n) => n.dbsize()));
      expect(perNode.filter((n) => n > 0).length).toBe(3);
    } finally {
      client.disconnect();
    }
  });
});
