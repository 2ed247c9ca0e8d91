import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRegistryClient, createSerde } from '@leadscorer/contracts';
import type { LeadRecord } from '@leadscorer/core';
import { loadModel, type Model } from '@leadscorer/engine';
import { replay } from '@leadscorer/replay';
import { rescore } from '@leadscorer/rescore';
import { createLogger } from '@leadscorer/runtime';
import {
  type ConsumerName,
  generationKey,
  loadScoringEnv,
  readModelFile,
  type ScoringService,
  startConsumerService,
  startRelayService,
} from '@leadscorer/scoring-service';
import { RedisScoreStore, SHARDS } from '@leadscorer/store';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startArchiver } from '../../services/archiver/src/service.ts';
import {
  archiveReaches,
  eventMessage,
  type InputMessage,
  produceMessages,
  topicEnds,
} from '../support/archive.ts';
import { expectSameRecords } from '../support/compare.ts';
import { generateEvents } from '../support/event-gen.ts';
import { testInfra } from '../support/infra.ts';
import {
  deleteKeys,
  eventually,
  MODEL_FILE,
  type ScorerEnv,
  scorerEnv,
  waitForDrained,
} from '../support/scorer.ts';

const NOW = Date.UTC(2026, 10, 20, 12);
const DAY = 86_400_000;
const A_TEXT = readFileSync(MODEL_FILE, 'utf8');
const modelA = loadModel(A_TEXT, MODEL_FILE);
// The candidate: MQL needs more engagement, PQL less product (both move many leads).
const B_TEXT = A_TEXT.replace(/^version: .*$/m, 'version: rescore-b')
  .replace('- { score: engagement, gte: 40 }', '- { score: engagement, gte: 55 }')
  .replace('- { score: product, gte: 25 }', '- { score: product, gte: 18 }');
const SERVICES = [
  { service: 'web-visits', topics: ['engagement.web-visit.v1'] },
  { service: 'email-engagement', topics: ['engagement.email.v1'] },
  { service: 'trial-activity', topics: ['product.trial-activity.v1'] },
  { service: 'lead-context', topics: ['lead.profile.v1', 'sales.qualification.v1'] },
] as const;

/**
 * Rescoring and rebuilding by replay, with the four consumers, the relay and the archiver running
 * on a fixed clock and events arriving meanwhile (positive rules and adjacent duplicates only, so
 * the comparison with the engine can be order-independent: test/support/compare.ts). The oracle
 * is the whole archive replayed under the model at the end; what subscribers saw is checked lead
 * by lead.
 */
describe('rescore', () => {
  const stops: { stop(): Promise<void> }[] = [];
  const dirs: string[] = [];
  const envs: ScorerEnv[] = [];
  afterAll(async () => {
    await Promise.all(stops.map((s) => s.stop().catch(() => undefined)));
    for (const e of envs) await e.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('switches the running services to a new model while events arrive: nothing lost, nothing doubled, subscribers told once', async () => {
    const d = await deployment('rescore', 71);
    const bFile = join(d.dir, 'model-b.yaml');
    writeFileSync(bFile, B_TEXT);
    const modelB = loadModel(B_TEXT, bFile);
    await d.produce(d.messages.slice(0, d.half));
    await d.drained();

    // The rescore, while the second half arrives in bursts.
    const producing = d.trickle(d.messages.slice(d.half));
    const report = await rescore({
      env: loadScoringEnv(d.e.env(d.base)),
      model: readModelFile(bFile),
      archiveDir: d.archive,
      log: createLogger('rescore', 'warn'),
      graceMs: 500,
      freezeAtLag: 200,
      // Replay and load split over two worker threads (the rebuild below runs them in-process).
      threads: 2,
    });
    await producing;
    expect(report).toMatchObject({ from: 0, to: 1, rebuild: false, model: 'rescore-b', missingHistory: 0 });
    expect(report.caughtUp).toBeGreaterThan(0);
    expect(report.modelChanges).toBeGreaterThan(0);
    await d.onGeneration(1);
    // Nobody read a partition again from the start: the services went on where they were.
    for (const s of d.services) expect((await s.wiring.metrics.partitionRewinds.get()).values).toEqual([]);

    const { got, leads } = await d.expectEngineStates(modelB, 1);
    const redis = new Redis(testInfra().redisUrl);
    try {
      expect(JSON.parse((await redis.get(generationKey(d.e.keyPrefix)))!)).toMatchObject({
        generation: 1,
        modelVersion: 'rescore-b',
      });
      // The old generation is deleted.
      expect(await redis.keys(`${d.e.keyPrefix}:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }

    // What subscribers saw adds up, lead by lead: sequences 1..n, one content each, the last one
    // names the stage the lead is in, one MODEL_CHANGE for each lead whose stage differed.
    await sleep(3000);
    const byLead = d.published.byLead();
    let modelChanges = 0;
    for (const lead of leads) {
      const changes = byLead.get(lead) ?? [];
      const seqs = changes.map((c) => c.sequence);
      expect(seqs, `sequences published for ${lead}`).toEqual(seqs.map((_, i) => i + 1));
      const last = changes[changes.length - 1];
      expect(last?.toStage ?? 'unqualified', `last published stage of ${lead}`).toBe(
        got.get(lead)!.state.stage,
      );
      expect(got.get(lead)!.state.seq, `sequence of ${lead}`).toBe(changes.length);
      modelChanges += changes.filter((c) => c.cause.kind === 'MODEL_CHANGE').length;
    }
    expect(d.published.twoContents()).toEqual([]);
    expect(modelChanges).toBe(report.modelChanges);
  });

  it('rebuilds a Redis that lost its data from the history: the services resume, states equal the engine, no id reused', async () => {
    const d = await deployment('rebuild', 83);
    await d.produce(d.messages.slice(0, d.half));
    await d.drained();
    const before = new Set(d.published.ids());
    expect(before.size).toBeGreaterThan(10);

    // Redis loses everything of this deployment; events keep coming, nothing is applied.
    await deleteKeys(testInfra().redisUrl, d.e.keyPrefix);
    await d.produce(d.messages.slice(d.half));
    await eventually('the services to refuse', async () => {
      for (const s of d.services)
        if ((await s.wiring.metrics.stateLost.get()).values[0]?.value !== 1) return false;
      return true;
    });

    const report = await rescore({
      env: loadScoringEnv(d.e.env(d.base)),
      model: readModelFile(MODEL_FILE),
      archiveDir: d.archive,
      log: createLogger('rescore', 'warn'),
      graceMs: 200,
      threads: 1,
      groups: d.groupOf,
    });
    expect(report).toMatchObject({ from: 0, to: 1, rebuild: true, modelChanges: 0 });
    await d.onGeneration(1);
    await eventually('the services to resume', async () => {
      for (const s of d.services)
        if ((await s.wiring.metrics.stateLost.get()).values[0]?.value !== 0) return false;
      return true;
    });
    await d.expectEngineStates(modelA, 1);
    // Ids of changes published after the rebuild carry the new epoch: none of the ids published
    // before comes back with another content, and none is published twice with two contents.
    await sleep(3000);
    expect(d.published.twoContents()).toEqual([]);
    expect(d.published.ids().length).toBeGreaterThan(before.size);
  });

  /** The services, the relay and the archiver of one test, on model A and a fixed clock. */
  async function deployment(label: string, seed: number) {
    const e = await scorerEnv(label, 3);
    envs.push(e);
    const dir = mkdtempSync(join(tmpdir(), `leadscorer-${label}-`));
    dirs.push(dir);
    const archive = join(dir, 'archive');
    const messages = generateEvents({
      seed,
      leads: 120,
      events: 5000,
      start: NOW - DAY,
      stepMs: 1,
      maxLagMs: 6 * DAY,
      duplicateRate: 0.04,
      adjacentDuplicates: true,
      positiveOnly: true,
      leadPrefix: label,
    }).map((g) => eventMessage(g.event, g.arrival));
    const base = { CLOCK_FIXED_MS: String(NOW), RELAY_MIN_AGE_MS: '500', RELAY_INTERVAL_MS: '200' };
    const archiver = await startArchiver(
      e.env({
        ARCHIVE_DIR: archive,
        CONSUMER_GROUP: e.contracts.group(`${e.contracts.prefix}archiver`),
        ARCHIVE_FLUSH_RECORDS: '300',
        ARCHIVE_FLUSH_INTERVAL_MS: '500',
      }),
      (err) => expect(err).toBeUndefined(),
      0,
    );
    stops.push(archiver);
    const groups: { groupId: string; topics: string[] }[] = [];
    const groupOf: Partial<Record<ConsumerName, string>> = {};
    const services: ScoringService[] = [];
    for (const s of SERVICES) {
      const groupId = e.contracts.group(`${e.contracts.prefix}${s.service}`);
      groupOf[s.service] = groupId;
      groups.push({ groupId, topics: s.topics.map((t) => e.contracts.catalogue.get(t).topic) });
      services.push(
        await startConsumerService(
          {
            service: s.service,
            defaultPort: 0,
            topics: [...s.topics],
            onFatal: (err) => expect(err).toBeUndefined(),
          },
          e.env({ ...base, CONSUMER_GROUP: groupId }),
        ),
      );
    }
    stops.push(...services);
    stops.push(await startRelayService({ service: 'outbox-relay', defaultPort: 0 }, e.env(base)));
    const published = await collectPublished(e);
    stops.push(published);
    const toArchive = async () =>
      eventually(
        'the archive to hold everything produced',
        async () => archiveReaches(archive, await topicEnds(e.contracts.kafka, e.contracts.catalogue)),
        60_000,
      );
    return {
      e,
      dir,
      archive,
      base,
      messages,
      half: Math.floor(messages.length / 2),
      services,
      groupOf,
      published,
      produce: (m: InputMessage[]) => produceMessages(e.contracts.kafka, e.contracts.catalogue, m),
      trickle: async (m: InputMessage[]) => {
        for (let i = 0; i < m.length; i += 250) {
          await produceMessages(e.contracts.kafka, e.contracts.catalogue, m.slice(i, i + 250));
          await sleep(150);
        }
      },
      drained: async () => {
        await waitForDrained(e.contracts.kafka, groups);
        await toArchive();
      },
      onGeneration: (n: number) =>
        eventually(`every service on generation ${n}`, async () => {
          for (const s of services)
            if ((await s.wiring.metrics.generation.get()).values[0]?.value !== n) return false;
          return true;
        }),
      /** The generation's records equal the whole archive replayed under `model`. */
      expectEngineStates: async (model: Model, generation: number) => {
        await waitForDrained(e.contracts.kafka, groups);
        await toArchive();
        const want = await replay({ model, catalogue: e.contracts.catalogue, archiveDir: archive, now: NOW });
        const redis = new Redis(testInfra().redisUrl);
        try {
          const store = new RedisScoreStore({
            client: redis,
            keys: { prefix: `${e.keyPrefix}.g${generation}`, shards: SHARDS },
            model,
          });
          const leads = [...want.records.keys()];
          const got = new Map<string, LeadRecord>(
            [...(await store.read(leads))].map(([l, s]) => [l, s.record]),
          );
          expectSameRecords(got, want.records, model, NOW);
          return { got, leads };
        } finally {
          redis.disconnect();
        }
      },
    };
  }
});

interface Published {
  eventId: string;
  leadId: string;
  toStage: string;
  sequence: number;
  cause: { kind: string };
}

/** Everything published on lead.stage-changed.v1, from the start, by event id and content. */
async function collectPublished(e: ScorerEnv) {
  const topic = e.contracts.catalogue.get('lead.stage-changed.v1').topic;
  const serde = createSerde({
    registry: createRegistryClient(testInfra().registryUrl),
    catalogue: e.contracts.catalogue,
  });
  const contents = new Map<string, Set<string>>();
  const records = new Map<string, Published>();
  const consumer = e.contracts.kafka.consumer({ groupId: e.contracts.group(`${e.contracts.prefix}check`) });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const { emittedAt: _, ...content } = (await serde.decode(topic, message, NOW))
        .record as unknown as Published & {
        emittedAt: number;
      };
      const set = contents.get(content.eventId) ?? new Set<string>();
      set.add(JSON.stringify(content));
      contents.set(content.eventId, set);
      records.set(content.eventId, content);
    },
  });
  return {
    stop: () => consumer.disconnect(),
    ids: () => [...records.keys()],
    twoContents: () => [...contents].filter(([, c]) => c.size > 1).map(([, c]) => [...c]),
    byLead: () => {
      const out = new Map<string, Published[]>();
      for (const r of records.values()) out.set(r.leadId, [...(out.get(r.leadId) ?? []), r]);
      for (const list of out.values()) list.sort((a, b) => a.sequence - b.sequence);
      return out;
    },
  };
}
