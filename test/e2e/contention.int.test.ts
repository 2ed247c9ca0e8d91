import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistryClient, createSerde } from '@leadscorer/contracts';
import { loadModel } from '@leadscorer/engine';
import { type ScoringService, startConsumerService, startFadingService } from '@leadscorer/scoring-service';
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testInfra } from '../support/infra.ts';
import {
  expectedOutcome,
  expectSameOutcome,
  mixedWorkload,
  testModelText,
} from '../support/mixed-workload.ts';
import { type LocalRedisCluster, startRedisCluster } from '../support/redis-cluster.ts';
import { eventually, MODEL_FILE, type ScorerEnv, scorerEnv, waitForDrained } from '../support/scorer.ts';

const MODEL = join(mkdtempSync(join(tmpdir(), 'leadscorer-contention-')), 'model.yaml');
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

/**
 * Every writer at once on the same 50 leads: the three engagement services, lead-context and
 * fading-leads commit with compare-and-set while the others commit the same leads. Nothing may be
 * lost or counted twice, and the stage changes published are exactly the engine's.
 */
async function runContention(
  label: string,
  extraEnv: Record<string, string>,
  envs: ScorerEnv[],
  running: ScoringService[],
  client?: Cluster,
) {
  const env = await scorerEnv(label, 3);
  envs.push(env);
  const w = mixedWorkload({ seed: 8, leads: 50, events: 2500, now: NOW, prefix: label });
  const group = (s: string) => env.contracts.group(`${env.contracts.prefix}${s}`);
  const base = { MODEL_FILE: MODEL, APPLY_CHUNK_SIZE: '10', ...extraEnv };
  const fatal: unknown[] = [];

  // The fading leads' history, ten days before the rest.
  await env.produce(w.seed);
  const seeder = await startConsumerService(
    {
      service: 'trial-activity',
      defaultPort: 0,
      topics: ['product.trial-activity.v1'],
      onFatal: (e) => fatal.push(e),
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

  await env.produce(w.events);
  const mine: ScoringService[] = [];
  for (const c of CONSUMERS) {
    mine.push(
      await startConsumerService(
        { service: c.service, defaultPort: 0, topics: [...c.topics], onFatal: (e) => fatal.push(e) },
        env.env({ ...base, CLOCK_FIXED_MS: String(NOW), CONSUMER_GROUP: group(c.service) }),
      ),
    );
  }
  mine.push(
    await startFadingService(
      { service: 'fading-leads', defaultPort: 0, onFatal: (e) => fatal.push(e) },
      env.env({ ...base, CLOCK_FIXED_MS: String(NOW), FADE_POLL_MS: '20' }),
    ),
  );
  running.push(...mine);
  await waitForDrained(
    env.contracts.kafka,
    CONSUMERS.map((c) => ({
      groupId: group(c.service),
      topics: c.topics.map((t) => env.contracts.catalogue.get(t).topic),
    })),
  );

  const expected = expectedOutcome(w, NOW, model);
  await eventually(
    'fading-leads to move every lead that is due',
    async () => {
      const records = await env.records(w.leads, model, client);
      return w.leads.every((l) => records.get(l)?.state.stage === expected.states.get(l)?.stage);
    },
    30_000,
  );
  const records = await env.records(w.leads, model, client);
  const stages = new Set<string>();
  for (const lead of w.leads) {
    expectSameOutcome(records.get(lead)!.state, expected.states.get(lead)!, lead);
    stages.add(expected.states.get(lead)!.stage);
  }
  // The mix really moves leads to several stages, down included.
  expect([...stages].sort()).toEqual(expect.arrayContaining(['cql', 'mql', 'pql', 'sql', 'unqualified']));

  let conflicts = 0;
  for (const s of mine)
    for (const v of (await s.wiring.metrics.commitConflicts.get()).values) conflicts += v.value;
  expect(conflicts, 'commits redone after a conflict').toBeGreaterThan(0);

  // The published stage changes: exactly the engine's, by id.
  const output = env.contracts.catalogue.get('lead.stage-changed.v1').topic;
  const serde = createSerde({
    registry: createRegistryClient(testInfra().registryUrl),
    catalogue: env.contracts.catalogue,
  });
  const seen = new Set<string>();
  const consumer = env.contracts.kafka.consumer({ groupId: group('check') });
  await consumer.connect();
  await consumer.subscribe({ topic: output, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.add(((await serde.decode(output, message, NOW)).record as { eventId: string }).eventId);
    },
  });
  await eventually('every stage change published', async () => seen.size >= expected.ids.size, 60_000);
  await new Promise((r) => setTimeout(r, 1000));
  await consumer.disconnect();
  expect(seen).toEqual(expected.ids);
  expect(fatal).toEqual([]);
  console.log(`${label}: ${expected.ids.size} stage changes, ${conflicts} commits redone after conflicts`);
}

describe('contention: every writer on the same leads at once', () => {
  const running: ScoringService[] = [];
  const envs: ScorerEnv[] = [];
  let cluster: LocalRedisCluster | undefined;
  let clusterClient: Cluster | undefined;
  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop()));
    clusterClient?.disconnect();
    await cluster?.stop();
    for (const env of envs) await env.cleanup();
  });

  it('four consumer services and fading-leads end in the engine state and publish its changes', async () => {
    await runContention('contend', {}, envs, running);
  });

  it('the same on a local 3-master Redis Cluster', async () => {
    cluster = await startRedisCluster(17_201);
    clusterClient = new Cluster(
      cluster.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })),
    );
    await runContention(
      'contend-cluster',
      { REDIS_CLUSTER_NODES: cluster.nodes.join(',') },
      envs,
      running,
      clusterClient,
    );
  });
});
