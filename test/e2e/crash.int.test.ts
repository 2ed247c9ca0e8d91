import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistryClient, createSerde } from '@leadscorer/contracts';
import { loadModel } from '@leadscorer/engine';
import { startConsumerService } from '@leadscorer/scoring-service';
import { outboxKey, SHARDS } from '@leadscorer/store';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { prng } from '../support/event-gen.ts';
import { testInfra } from '../support/infra.ts';
import {
  expectedOutcome,
  expectSameOutcome,
  mixedWorkload,
  testModelText,
} from '../support/mixed-workload.ts';
import { type ServiceProcess, spawnService } from '../support/processes.ts';
import { eventually, MODEL_FILE, type ScorerEnv, scorerEnv, waitForDrained } from '../support/scorer.ts';

const MODEL = join(mkdtempSync(join(tmpdir(), 'leadscorer-crash-')), 'model.yaml');
writeFileSync(MODEL, testModelText(readFileSync(MODEL_FILE, 'utf8')));
const model = loadModel(readFileSync(MODEL, 'utf8'), MODEL);
const NOW = Date.UTC(2026, 10, 20, 12);
const DAY = 86_400_000;
const KILLS = 26;

const CONSUMERS = {
  'web-visits': ['engagement.web-visit.v1'],
  'email-engagement': ['engagement.email.v1'],
  'trial-activity': ['product.trial-activity.v1'],
  'lead-context': ['lead.profile.v1', 'sales.qualification.v1'],
} as const;
type Consumer = keyof typeof CONSUMERS;
const SERVICES = [...(Object.keys(CONSUMERS) as Consumer[]), 'outbox-relay', 'fading-leads'] as const;

// Invariant suite: SIGKILL at random moments, of every kind of writer, loses nothing and counts
// nothing twice. Each service runs as a real process; the one killed is restarted at once.
describe('crash safety', () => {
  const redis = new Redis(testInfra().redisUrl);
  const procs = new Map<string, ServiceProcess>();
  const dead: ServiceProcess[] = [];
  let env: ScorerEnv | undefined;
  afterAll(async () => {
    await Promise.all([...procs.values(), ...dead].map((p) => p.kill('SIGKILL')));
    redis.disconnect();
    await env?.cleanup();
  });

  it(`SIGKILLed ${KILLS} times across the four consumers, the relay and fading-leads: final states and published stage changes equal the engine's`, {
    // About a minute alone; twice that and more beside the rest of the suite on two shared cores.
    timeout: 300_000,
  }, async () => {
    env = await scorerEnv('crash', 3);
    const e = env;
    const w = mixedWorkload({ seed: 99, leads: 80, events: 4000, now: NOW, prefix: 'crash' });
    const group = (s: string) => e.contracts.group(`${e.contracts.prefix}${s}`);
    const topicsOf = (s: Consumer) => CONSUMERS[s].map((t) => e.contracts.catalogue.get(t).topic);

    // The fading leads' history, ten days before the rest, in process.
    await e.produce(w.seed);
    const seeder = await startConsumerService(
      { service: 'trial-activity', defaultPort: 0, topics: ['product.trial-activity.v1'], onFatal: () => {} },
      e.env({
        MODEL_FILE: MODEL,
        CLOCK_FIXED_MS: String(NOW - 10 * DAY),
        CONSUMER_GROUP: group('trial-activity'),
      }),
    );
    await waitForDrained(e.contracts.kafka, [
      { groupId: group('trial-activity'), topics: topicsOf('trial-activity') },
    ]);
    await seeder.stop();

    const envOf = (s: (typeof SERVICES)[number]) =>
      e.env({
        MODEL_FILE: MODEL,
        CLOCK_FIXED_MS: String(NOW),
        CONSUMER_GROUP: group(s),
        APPLY_CHUNK_SIZE: '50',
        KAFKA_SESSION_TIMEOUT_MS: '6000',
        RELAY_MIN_AGE_MS: '500',
        RELAY_INTERVAL_MS: '200',
        FADE_POLL_MS: '100',
      });
    let spawned = 0;
    const start = (s: (typeof SERVICES)[number]) =>
      procs.set(s, spawnService(s, envOf(s), `crash-${s}-${spawned++}`));
    for (const s of SERVICES) start(s);

    // Every service killed at least three times, in a seeded order, then some more at random.
    const rnd = prng(7);
    const victims: (typeof SERVICES)[number][] = [...SERVICES, ...SERVICES, ...SERVICES];
    while (victims.length < KILLS) victims.push(SERVICES[Math.floor(rnd() * SERVICES.length)]!);
    for (let i = victims.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [victims[i], victims[j]] = [victims[j]!, victims[i]!];
    }
    const per = Math.ceil(w.events.length / KILLS);
    for (let k = 0; k < KILLS; k++) {
      await e.produce(w.events.slice(k * per, (k + 1) * per));
      await new Promise((r) => setTimeout(r, 300 + Math.floor(rnd() * 1200)));
      const victim = victims[k]!;
      const proc = procs.get(victim)!;
      await proc.kill('SIGKILL');
      dead.push(proc);
      start(victim);
    }

    await waitForDrained(
      e.contracts.kafka,
      (Object.keys(CONSUMERS) as Consumer[]).map((s) => ({ groupId: group(s), topics: topicsOf(s) })),
      180_000,
    );
    const expected = expectedOutcome(w, NOW, model);
    await eventually(
      'every lead in its final stage (fading-leads done)',
      async () => {
        const records = await e.records(w.leads, model);
        return w.leads.every((l) => records.get(l)?.state.stage === expected.states.get(l)?.stage);
      },
      60_000,
    );
    const keys = { prefix: e.keyPrefix, shards: SHARDS };
    await eventually(
      'the outbox to empty',
      async () => {
        let depth = 0;
        for (let s = 0; s < SHARDS; s++) depth += await redis.xlen(outboxKey(keys, s));
        return depth === 0;
      },
      60_000,
    );
    const records = await e.records(w.leads, model);
    for (const lead of w.leads) expectSameOutcome(records.get(lead)!.state, expected.states.get(lead)!, lead);

    // Distinct ids on the output topic = the engine's stage changes, exactly; an id published
    // twice (inline and by the relay, around a kill) carries the same content both times.
    const output = e.contracts.catalogue.get('lead.stage-changed.v1').topic;
    const contents = new Map<string, string>();
    let published = 0;
    const twoContents: string[] = [];
    const serde = createSerde({
      registry: createRegistryClient(testInfra().registryUrl),
      catalogue: e.contracts.catalogue,
    });
    const consumer = e.contracts.kafka.consumer({ groupId: group('check') });
    await consumer.connect();
    await consumer.subscribe({ topic: output, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const { emittedAt: _, ...content } = (await serde.decode(output, message, NOW)).record as {
          eventId: string;
          emittedAt: number;
        };
        const text = JSON.stringify(content);
        const before = contents.get(content.eventId);
        if (before !== undefined && before !== text) twoContents.push(content.eventId);
        contents.set(content.eventId, text);
        published++;
      },
    });
    await eventually(
      'every stage change on the output topic',
      async () => contents.size >= expected.ids.size,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    await consumer.disconnect();
    expect(new Set(contents.keys())).toEqual(expected.ids);
    expect(twoContents).toEqual([]);
    console.log(
      `crash test: ${KILLS} kills, ${expected.ids.size} stage changes, ${published - contents.size} published twice (same id and content)`,
    );
  });
});
