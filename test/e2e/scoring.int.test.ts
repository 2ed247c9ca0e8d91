import { readFileSync } from 'node:fs';
import { applyEvent, type LeadState, loadModel, scoresAt } from '@leadscorer/engine';
import { type ScoringService, startConsumerService, startRelayService } from '@leadscorer/scoring-service';
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { generateEvents } from '../support/event-gen.ts';
import { testInfra } from '../support/infra.ts';
import { normalizeState } from '../support/oracle.ts';
import { type LocalRedisCluster, startRedisCluster } from '../support/redis-cluster.ts';
import { eventually, MODEL_FILE, type ScorerEnv, scorerEnv, waitForDrained } from '../support/scorer.ts';

const model = loadModel(readFileSync(MODEL_FILE, 'utf8'), MODEL_FILE);
const NOW = Date.UTC(2026, 10, 20, 12);
const DAY = 86_400_000;

async function consumedTotal(svcs: ScoringService[]): Promise<number> {
  let n = 0;
  for (const s of svcs) for (const v of (await s.wiring.metrics.consumed.get()).values) n += v.value;
  return n;
}

/**
 * Random events through the four consumer services and the relay, all running at once on
 * shared leads, against the engine. `client` reads the resulting state; `extraEnv` points the
 * services at a Redis Cluster for the cluster run.
 */
async function runEndToEnd(
  label: string,
  client: Redis | Cluster,
  extraEnv: Record<string, string>,
  running: ScoringService[],
  envs: ScorerEnv[],
): Promise<void> {
  const env = await scorerEnv(label, 3);
  envs.push(env);
  const generated = generateEvents({
    seed: 42,
    leads: 150,
    events: 4000,
    start: NOW - DAY,
    stepMs: 1,
    maxLagMs: 6 * DAY,
    duplicateRate: 0.05,
    adjacentDuplicates: true,
    positiveOnly: true,
    leadPrefix: 'e2e',
  });
  const events = generated.map((g) => g.event);
  const counts = await env.produce(events);
  const fixed = { CLOCK_FIXED_MS: String(NOW) };
  const specs = [
    { service: 'web-visits', topics: ['engagement.web-visit.v1'] },
    { service: 'email-engagement', topics: ['engagement.email.v1'] },
    { service: 'trial-activity', topics: ['product.trial-activity.v1'] },
    { service: 'lead-context', topics: ['lead.profile.v1', 'sales.qualification.v1'] },
  ] as const;
  const fatal: unknown[] = [];
  const mine: ScoringService[] = [];
  const groups: { groupId: string; topics: string[] }[] = [];
  for (const s of specs) {
    const group = env.contracts.group(`${env.contracts.prefix}${s.service}`);
    groups.push({ groupId: group, topics: s.topics.map((t) => env.contracts.catalogue.get(t).topic) });
    mine.push(
      await startConsumerService(
        { service: s.service, defaultPort: 0, topics: [...s.topics], onFatal: (e) => fatal.push(e) },
        env.env({ ...fixed, ...extraEnv, CONSUMER_GROUP: group }),
      ),
    );
  }
  mine.push(
    await startRelayService(
      { service: 'outbox-relay', defaultPort: 0 },
      env.env({ ...fixed, ...extraEnv, RELAY_MIN_AGE_MS: '0' }),
    ),
  );
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  running.push(...mine);
  await eventually('every event consumed', async () => (await consumedTotal(mine)) >= total, 90_000);
  // Offsets are committed only after their chunk is applied: drained means all applied.
  await waitForDrained(env.contracts.kafka, groups);

  // The oracle: the pure engine, every event at the same fixed now.
  const expected = new Map<string, LeadState>();
  for (const e of events) {
    expected.set(e.leadId, applyEvent(expected.get(e.leadId), e, NOW, model).state);
  }
  let compared = 0;
  const stages = new Map<string, number>();
  const records = await env.records([...expected.keys()], model, client);
  for (const [lead, want] of expected) {
    expect(records.get(lead), `state of ${lead}`).toBeDefined();
    const got = records.get(lead)!.state;
    expect(got.stage, `stage of ${lead}`).toBe(want.stage);
    const gotScores = scoresAt(got, NOW, model);
    const wantScores = scoresAt(want, NOW, model);
    for (const [dim, v] of Object.entries(wantScores)) {
      expect(gotScores[dim], `${dim} of ${lead}`).toBeCloseTo(v, 5);
    }
    const [g, w] = [normalizeState(got), normalizeState(want)];
    expect(g.sig).toEqual(w.sig);
    expect(g.caps).toEqual(w.caps);
    expect(g.sales).toEqual(w.sales);
    expect(g.fit).toEqual(w.fit);
    stages.set(want.stage, (stages.get(want.stage) ?? 0) + 1);
    compared++;
  }
  expect(compared).toBe(expected.size);
  // The mix reaches several stages, or the comparison says little.
  expect([...stages.keys()].sort(), JSON.stringify([...stages])).toEqual(
    expect.arrayContaining(['mql', 'pql', 'cql']),
  );

  // Every lead's last published stage change names its final stage.
  const output = env.contracts.catalogue.get('lead.stage-changed.v1').topic;
  const last = new Map<string, { seq: number; to: string }>();
  const consumer = env.contracts.kafka.consumer({
    groupId: env.contracts.group(`${env.contracts.prefix}check`),
  });
  const { createSerde, createRegistryClient } = await import('@leadscorer/contracts');
  const serde = createSerde({
    registry: createRegistryClient(testInfra().registryUrl),
    catalogue: env.contracts.catalogue,
  });
  // The system's own sequence per lead (the number of changes it recorded): wait until the last
  // one of every lead is on the topic, however the inline path and the relay shared the work.
  const storedSeq = new Map<string, number>();
  for (const [lead, record] of await env.records([...expected.keys()], model, client)) {
    storedSeq.set(lead, record.state.seq);
  }
  await consumer.connect();
  await consumer.subscribe({ topic: output, fromBeginning: true });
  let withReasons = 0;
  await consumer.run({
    eachMessage: async ({ message }) => {
      const d = await serde.decode(output, message, NOW);
      const r = d.record as {
        leadId: string;
        sequence: number;
        toStage: string;
        topRules: { ruleId: string; points: number }[];
      };
      // Every change says why: at most five rules, largest first, each a rule of the model.
      if (r.topRules.length > 0) withReasons++;
      expect(r.topRules.length).toBeLessThanOrEqual(5);
      const sizes = r.topRules.map((t) => Math.abs(t.points));
      expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
      for (const t of r.topRules) expect(model.ruleById.has(t.ruleId), t.ruleId).toBe(true);
      const prev = last.get(r.leadId);
      if (!prev || r.sequence > prev.seq) last.set(r.leadId, { seq: r.sequence, to: r.toStage });
    },
  });
  await eventually(
    'every recorded stage change published',
    async () => [...storedSeq].every(([lead, seq]) => seq === 0 || last.get(lead)?.seq === seq),
    60_000,
  );
  await consumer.disconnect();
  expect(withReasons).toBeGreaterThan(0);
  for (const [lead, want] of expected) {
    if (want.seq === 0) continue;
    expect(last.get(lead)?.to, `last published stage of ${lead}`).toBe(want.stage);
  }
  expect(fatal).toEqual([]);
}

describe('scoring services end to end against the pure engine', () => {
  const redis = new Redis(testInfra().redisUrl);
  const running: ScoringService[] = [];
  const envs: ScorerEnv[] = [];
  let cluster: LocalRedisCluster | undefined;
  let clusterClient: Cluster | undefined;
  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop()));
    redis.disconnect();
    clusterClient?.disconnect();
    await cluster?.stop();
    for (const env of envs) await env.cleanup();
  });

  it('web, email, trial and context services consuming at once, on shared leads, end in the engine state', async () => {
    await runEndToEnd('e2e', redis, {}, running, envs);
  });

  it('the same on a local 3-master Redis Cluster', async () => {
    cluster = await startRedisCluster(17_101);
    clusterClient = new Cluster(
      cluster.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })),
    );
    await runEndToEnd(
      'e2e-cluster',
      clusterClient,
      { REDIS_CLUSTER_NODES: cluster.nodes.join(',') },
      running,
      envs,
    );
    const perNode = await Promise.all(clusterClient.nodes('master').map((n) => n.dbsize()));
    expect(perNode.filter((n) => n > 0).length).toBe(3);
  });
});
