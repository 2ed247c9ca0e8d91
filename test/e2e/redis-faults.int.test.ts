import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRegistryClient, createSerde } from '@leadscorer/contracts';
import { loadModel } from '@leadscorer/engine';
import {
  type ScoringService,
  startConsumerService,
  startFadingService,
  startRelayService,
} from '@leadscorer/scoring-service';
import { outboxKey, RedisScoreStore, SHARDS } from '@leadscorer/store';
import { afterAll, describe, expect, it } from 'vitest';
import { testInfra } from '../support/infra.ts';
import {
  expectedOutcome,
  expectSameOutcome,
  mixedWorkload,
  testModelText,
} from '../support/mixed-workload.ts';
import { type AofRedis, startAofRedis } from '../support/redis-aof.ts';
import { eventually, MODEL_FILE, type ScorerEnv, scorerEnv, waitForDrained } from '../support/scorer.ts';

const MODEL = join(mkdtempSync(join(tmpdir(), 'leadscorer-faults-')), 'model.yaml');
writeFileSync(MODEL, testModelText(readFileSync(MODEL_FILE, 'utf8')));
const model = loadModel(readFileSync(MODEL, 'utf8'), MODEL);
const NOW = Date.UTC(2026, 10, 20, 12);
const DAY = 86_400_000;
const CONSUMERS = [
  { service: 'web-visits', topics: ['engagement.web-visit.v1'] },
  { service: 'email-engagement', topics: ['engagement.email.v1'] },
  { service: 'trial-activity', topics: ['product.trial-activity.v1'] },
  { service: 'lead-context', topics: ['lead.profile.v1', 'sales.qualification.v1'] },
] as const;

/** The services against a Redis of the test's own, everything in this process. */
async function deployment(label: string, redis: AofRedis, running: ScoringService[]) {
  const env = await scorerEnv(label, 3);
  const group = (s: string) => env.contracts.group(`${env.contracts.prefix}${s}`);
  const base = {
    MODEL_FILE: MODEL,
    REDIS_URL: redis.url,
    CLOCK_FIXED_MS: String(NOW),
    APPLY_CHUNK_SIZE: '50',
    RELAY_MIN_AGE_MS: '500',
    RELAY_INTERVAL_MS: '200',
    FADE_POLL_MS: '100',
  };
  const consumers: ScoringService[] = [];
  const start = async () => {
    for (const c of CONSUMERS) {
      consumers.push(
        await startConsumerService(
          { service: c.service, defaultPort: 0, topics: [...c.topics], onFatal: () => undefined },
          env.env({ ...base, CONSUMER_GROUP: group(c.service) }),
        ),
      );
    }
    running.push(...consumers);
    running.push(await startRelayService({ service: 'outbox-relay', defaultPort: 0 }, env.env(base)));
    running.push(await startFadingService({ service: 'fading-leads', defaultPort: 0 }, env.env(base)));
  };
  const seed = async (events: Parameters<ScorerEnv['produce']>[0]) => {
    await env.produce(events);
    const seeder = await startConsumerService(
      {
        service: 'trial-activity',
        defaultPort: 0,
        topics: ['product.trial-activity.v1'],
        onFatal: () => undefined,
      },
      env.env({ ...base, CLOCK_FIXED_MS: String(NOW - 10 * DAY), CONSUMER_GROUP: group('trial-activity') }),
    );
    await waitForDrained(env.contracts.kafka, [
      {
        groupId: group('trial-activity'),
        topics: [env.contracts.catalogue.get('product.trial-activity.v1').topic],
      },
    ]);
    await seeder.stop();
  };
  const drained = () =>
    waitForDrained(
      env.contracts.kafka,
      CONSUMERS.map((c) => ({
        groupId: group(c.service),
        topics: c.topics.map((t) => env.contracts.catalogue.get(t).topic),
      })),
      180_000,
    );
  /** Every record on lead.stage-changed, by event id (content without emittedAt). */
  const published = async (atLeast: number) => {
    const output = env.contracts.catalogue.get('lead.stage-changed.v1').topic;
    const serde = createSerde({
      registry: createRegistryClient(testInfra().registryUrl),
      catalogue: env.contracts.catalogue,
    });
    const contents = new Map<string, Set<string>>();
    const consumer = env.contracts.kafka.consumer({ groupId: group(`check-${Date.now()}`) });
    await consumer.connect();
    await consumer.subscribe({ topic: output, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const { emittedAt: _, ...content } = (await serde.decode(output, message, NOW)).record as {
          eventId: string;
          emittedAt: number;
        };
        const set = contents.get(content.eventId) ?? new Set<string>();
        set.add(JSON.stringify(content));
        contents.set(content.eventId, set);
      },
    });
    await eventually('the stage changes on the output topic', async () => contents.size >= atLeast, 60_000);
    await sleep(1000);
    await consumer.disconnect();
    return contents;
  };
  return { env, consumers, start, seed, drained, published };
}

async function metricSum(
  services: ScoringService[],
  name: 'partitionRewinds' | 'stateLost',
): Promise<number> {
  let n = 0;
  for (const s of services) for (const v of (await s.wiring.metrics[name].get()).values) n += v.value;
  return n;
}

describe('Redis faults under the production persistence setting (AOF, appendfsync everysec)', () => {
  const running: ScoringService[] = [];
  const redises: AofRedis[] = [];
  const envs: ScorerEnv[] = [];
  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop().catch(() => undefined)));
    for (const r of redises) await r.stop();
    for (const e of envs) await e.contracts.cleanup();
  });

  it('killed, and rolled back by about a second, mid-stream: nothing lost, nothing doubled, every change published with one content', async () => {
    const redis = await startAofRedis();
    redises.push(redis);
    const d = await deployment('rollback', redis, running);
    envs.push(d.env);
    const w = mixedWorkload({ seed: 5, leads: 60, events: 3000, now: NOW, prefix: 'rb' });
    await d.seed(w.seed);
    await d.start();
    const third = Math.ceil(w.events.length / 3);
    await d.env.produce(w.events.slice(0, third));
    await sleep(1500);
    // A copy of Redis's files, then more work, then Redis comes back from the copy: what it
    // applied in between is gone although Kafka's offsets were committed (a host crash under
    // appendfsync everysec, or a failover to a replica that was behind).
    const snapshot = redis.snapshot();
    await d.env.produce(w.events.slice(third, 2 * third));
    await sleep(1200);
    await redis.kill();
    redis.restore(snapshot);
    await redis.start();
    await d.env.produce(w.events.slice(2 * third));
    await sleep(800);
    // And a plain crash of the process: it comes back from its own files.
    await redis.kill();
    await redis.start();

    await d.drained();
    const expected = expectedOutcome(w, NOW, model);
    const store = new RedisScoreStore({
      client: redis.client(),
      keys: { prefix: d.env.keyPrefix, shards: SHARDS },
      model,
    });
    await eventually(
      'every lead in its final stage',
      async () => {
        const records = await store.read(w.leads);
        return w.leads.every((l) => records.get(l)?.record.state.stage === expected.states.get(l)?.stage);
      },
      60_000,
    ).catch(() => undefined); // the comparison below names the leads that differ
    const records = await store.read(w.leads);
    const wrong = w.leads.filter((l) => records.get(l)?.record.state.stage !== expected.states.get(l)?.stage);
    expect(
      wrong.map(
        (l) =>
          `${l} (${w.groupOf(l)}): ${records.get(l)?.record.state.stage} want ${expected.states.get(l)?.stage}`,
      ),
    ).toEqual([]);
    for (const lead of w.leads)
      expectSameOutcome(records.get(lead)!.record.state, expected.states.get(lead)!, lead);
    await eventually('the outbox to empty', async () => {
      const c = redis.client();
      let depth = 0;
      for (let s = 0; s < SHARDS; s++)
        depth += await c.xlen(outboxKey({ prefix: d.env.keyPrefix, shards: SHARDS }, s));
      return depth === 0;
    });
    const contents = await d.published(expected.ids.size);
    expect(new Set(contents.keys())).toEqual(expected.ids);
    // Every content of an id published with more than one, to see what differs.
    expect([...contents].filter(([, c]) => c.size > 1).map(([, c]) => [...c])).toEqual([]);
    // The rollback was seen and undone by seeking back, not by luck.
    expect(await metricSum(d.consumers, 'partitionRewinds')).toBeGreaterThan(0);
  });

  it('wiped mid-stream: the services stop applying and say why; accepted empty, they go on and no id is reused', async () => {
    const redis = await startAofRedis();
    redises.push(redis);
    const d = await deployment('wipe', redis, running);
    envs.push(d.env);
    const w = mixedWorkload({ seed: 6, leads: 40, events: 1600, now: NOW, prefix: 'wp' });
    await d.seed(w.seed);
    await d.start();
    const half = Math.ceil(w.events.length / 2);
    await d.env.produce(w.events.slice(0, half));
    await d.drained();
    const before = await d.published(1);

    await redis.client().flushall();
    await d.env.produce(w.events.slice(half));
    await eventually('every consumer to refuse and say so', async () => {
      const lost = await metricSum(d.consumers, 'stateLost');
      return lost === d.consumers.length && d.consumers.every((s) => !s.isReady());
    });
    await sleep(1500);
    // Nothing was applied on top of the empty Redis: no lead record exists.
    const keys = await redis.client().keys(`${d.env.keyPrefix}:{*}:*`);
    expect(keys).toEqual([]);

    // An operator accepts starting empty: a new epoch (npm run state -- accept-empty).
    const store = new RedisScoreStore({
      client: redis.client(),
      keys: { prefix: d.env.keyPrefix, shards: SHARDS },
      model,
    });
    await store.initialize('accepted-1', true);
    await d.drained();
    await eventually('the consumers ready again', async () => d.consumers.every((s) => s.isReady()));
    expect(await metricSum(d.consumers, 'stateLost')).toBe(0);
    const after = await d.published(before.size + 1);
    // Sequences started over after the wipe, yet no id was published with two contents.
    expect([...after].filter(([, c]) => c.size > 1).map(([id]) => id)).toEqual([]);
    const sequenceOne = [...after.values()]
      .flatMap((c) => [...c])
      .filter((c) => JSON.parse(c).sequence === 1);
    expect(sequenceOne.length).toBeGreaterThan(
      new Set(sequenceOne.map((c) => JSON.parse(c).leadId)).size - 1,
    );
  });
});
