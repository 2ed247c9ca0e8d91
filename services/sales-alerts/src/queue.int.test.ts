import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testInfra, uniqueName } from '../../../test/support/infra.ts';
import { deleteKeys } from '../../../test/support/scorer.ts';
import { DeliveryQueue, type Job } from './queue.ts';

// The delivery queue on a real Redis: dedupe by event id, leases, attempts counted at claim (so
// a deliverer that dies mid-attempt still used it up), a dead-lettered event queued again only
// by a replay. Time is passed in: no sleeping.
const prefix = uniqueName('q').toLowerCase().slice(0, 30);
const redis = new Redis(testInfra().redisUrl);
afterAll(async () => {
  redis.disconnect();
  await deleteKeys(testInfra().redisUrl, prefix);
});

const job = (lead: string): Job => ({
  body: JSON.stringify({ leadId: lead }),
  leadId: lead,
  toStage: 'mql',
  source: { topic: 't', partition: 0, offset: '7', timestamp: '1', key: null, value: null },
});

describe('DeliveryQueue', () => {
  const T = 1_000_000;
  const queue = (sub: string) => new DeliveryQueue({ redis, prefix, subscriber: sub, dedupeTtlMs: 60_000 });

  it('queues an event id once, and a second subscriber independently', async () => {
    const a = queue('a');
    expect(await a.enqueue('e1', job('l1'), T, false)).toBe(true);
    expect(await a.enqueue('e1', job('l1'), T + 1, false)).toBe(false);
    expect(await queue('b').enqueue('e1', job('l1'), T, false)).toBe(true);
    const { depth, jobs } = await a.claim(T, 10_000, 5);
    expect(depth).toBe(1);
    expect(jobs).toEqual([{ id: 'e1', job: job('l1'), attempts: 1 }]);
    await a.finish('e1', 'delivered');
    expect((await a.claim(T + 1e9, 10_000, 5)).depth).toBe(0);
    // Delivered: still remembered, a redelivered message is not queued again.
    expect(await a.enqueue('e1', job('l1'), T + 2, true)).toBe(false);
  });

  it('leases a claimed job; a claimer that never comes back has used its attempt', async () => {
    const q = queue('lease');
    await q.enqueue('e2', job('l2'), T, false);
    expect((await q.claim(T, 5_000, 5)).jobs.map((j) => j.attempts)).toEqual([1]);
    expect((await q.claim(T + 4_999, 5_000, 5)).jobs).toEqual([]); // leased
    expect((await q.claim(T + 5_000, 5_000, 5)).jobs.map((j) => j.attempts)).toEqual([2]);
    await q.retryAt('e2', T + 20_000, 'HTTP 503');
    expect((await q.claim(T + 19_999, 5_000, 5)).jobs).toEqual([]);
    expect(await q.lastError('e2')).toBe('HTTP 503');
    expect((await q.claim(T + 20_000, 5_000, 5)).jobs.map((j) => j.attempts)).toEqual([3]);
    expect((await q.claim(T + 20_000, 5_000, 0)).depth).toBe(1); // limit 0 answers the depth only
  });

  it('a dead-lettered event is queued again by a replay only', async () => {
    const q = queue('dead');
    await q.enqueue('e3', job('l3'), T, false);
    await q.claim(T, 5_000, 1);
    await q.finish('e3', 'dead-lettered');
    // A retry scheduled by a late outcome must not resurrect it.
    await q.retryAt('e3', T + 1, 'late');
    expect((await q.claim(T + 1e9, 5_000, 5)).depth).toBe(0);
    expect(await q.enqueue('e3', job('l3'), T + 5, false)).toBe(false);
    expect(await q.enqueue('e3', job('l3'), T + 5, true)).toBe(true);
    expect((await q.claim(T + 5, 5_000, 5)).jobs.map((j) => j.attempts)).toEqual([1]);
    const ttl = await redis.pttl(`${prefix}:alerts:{dead}:seen:e3`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});
