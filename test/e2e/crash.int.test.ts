import { readFileSync } from 'node:fs';
import { applyEvent, type LeadState, loadModel, transitionId } from '@leadscorer/engine';
import { decodeStoredLead, leadKey, normalizeState, outboxKey, SHARDS } from '@leadscorer/store';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { generateEvents, prng } from '../support/event-gen.ts';
import { testInfra } from '../support/infra.ts';
import { type ServiceProcess, spawnService } from '../support/processes.ts';
import { eventually, MODEL_FILE, type ScorerEnv, scorerEnv } from '../support/scorer.ts';

const model = loadModel(readFileSync(MODEL_FILE, 'utf8'), MODEL_FILE);
const NOW = Date.UTC(2026, 10, 20, 12);
const DAY = 86_400_000;
const KILLS = 10;

// Invariant suite: SIGKILL at random moments loses nothing and double-counts nothing. The
// service runs as a real process; so does the outbox relay, which is killed too.
describe('crash safety', () => {
  const redis = new Redis(testInfra().redisUrl);
  const procs: ServiceProcess[] = [];
  let env: ScorerEnv | undefined;
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    redis.disconnect();
    await env?.contracts.cleanup();
  });

  it(`SIGKILLed ${KILLS} times while consuming: final state and published stage changes equal the engine's`, async () => {
    env = await scorerEnv('crash', 3);
    const generated = generateEvents({
      seed: 99,
      leads: 120,
      events: 6000,
      start: NOW - DAY,
      stepMs: 1,
      maxLagMs: 4 * DAY,
      duplicateRate: 0.05,
      leadPrefix: 'crash',
    });
    // One topic, so each lead's events are applied in one partition's order: the engine run in
    // the same order is an exact oracle, transitions included. Trial activity reaches PQL and CQL.
    const events = generated.map((g) => g.event).filter((e) => e.type === 'trial');
    const group = env.contracts.group(`${env.contracts.prefix}trial`);
    const serviceEnv = env.env({
      CLOCK_FIXED_MS: String(NOW),
      CONSUMER_GROUP: group,
      APPLY_CHUNK_SIZE: '50',
    });
    const relayEnv = env.env({
      CLOCK_FIXED_MS: String(NOW),
      RELAY_MIN_AGE_MS: '500',
      RELAY_INTERVAL_MS: '200',
    });
    const rnd = prng(7);
    const start = (n: number) => spawnService('trial-activity', serviceEnv, `crash-trial-${n}`);
    let service = start(0);
    let relay = spawnService('outbox-relay', relayEnv, 'crash-relay-0');
    procs.push(service, relay);

    const waves = KILLS;
    const per = Math.ceil(events.length / waves);
    for (let k = 0; k < KILLS; k++) {
      await env.produce(events.slice(k * per, (k + 1) * per));
      await new Promise((r) => setTimeout(r, 300 + Math.floor(rnd() * 1500)));
      await service.kill('SIGKILL');
      if (k % 3 === 1) {
        await relay.kill('SIGKILL');
        relay = spawnService('outbox-relay', relayEnv, `crash-relay-${k}`);
        procs.push(relay);
      }
      service = start(k + 1);
      procs.push(service);
    }

    // The oracle, in partition order per lead.
    const expected = new Map<string, LeadState>();
    const expectedIds = new Set<string>();
    for (const e of events) {
      const r = applyEvent(expected.get(e.leadId), e, NOW, model);
      expected.set(e.leadId, r.state);
      if (r.transition)
        expectedIds.add(transitionId(e.leadId, r.transition.seq, r.transition.from, r.transition.to));
    }
    expect(expectedIds.size).toBeGreaterThan(50);

    const keys = { prefix: env.keyPrefix, shards: SHARDS };
    const admin = env.contracts.kafka.admin();
    await admin.connect();
    const input = env.contracts.catalogue.get('product.trial-activity.v1').topic;
    await eventually(
      'the lag to drain',
      async () => {
        const [committed] = await admin.fetchOffsets({ groupId: group, topics: [input] });
        const ends = await admin.fetchTopicOffsets(input);
        return ends.every(
          (e) => committed?.partitions.find((p) => p.partition === e.partition)?.offset === e.offset,
        );
      },
      120_000,
    );
    await eventually(
      'the outbox to empty',
      async () => {
        let depth = 0;
        for (let s = 0; s < SHARDS; s++) depth += await redis.xlen(outboxKey(keys, s));
        return depth === 0;
      },
      60_000,
    );
    await admin.disconnect();

    for (const [lead, wantState] of expected) {
      const got = normalizeState(
        decodeStoredLead((await redis.getBuffer(leadKey(keys, lead)))!, model).state,
      );
      const want = normalizeState(wantState);
      expect({ stage: got.stage, seq: got.seq, ring: got.ring, caps: got.caps, sig: got.sig }).toEqual({
        stage: want.stage,
        seq: want.seq,
        ring: want.ring,
        caps: want.caps,
        sig: want.sig,
      });
      for (const [id, [v, t]] of Object.entries(want.c)) {
        expect(got.c[id]![1]).toBe(t);
        expect(got.c[id]![0]).toBeCloseTo(v, 6);
      }
    }

    // Distinct ids on the output topic = the engine's transitions, exactly.
    const output = env.contracts.catalogue.get('lead.stage-changed.v1').topic;
    const seen = new Map<string, number>();
    const consumer = env.contracts.kafka.consumer({
      groupId: env.contracts.group(`${env.contracts.prefix}check`),
    });
    const { createRegistryClient, createSerde } = await import('@leadscorer/contracts');
    const serde = createSerde({
      registry: createRegistryClient(testInfra().registryUrl),
      catalogue: env.contracts.catalogue,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: output, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const { record } = await serde.decode(output, message, NOW);
        const id = (record as { eventId: string }).eventId;
        seen.set(id, (seen.get(id) ?? 0) + 1);
      },
    });
    await eventually(
      'every stage change on the output topic',
      async () => seen.size >= expectedIds.size,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    await consumer.disconnect();
    expect(new Set(seen.keys())).toEqual(expectedIds);
    const duplicates = [...seen.values()].filter((n) => n > 1).length;
    console.log(
      `crash test: ${expectedIds.size} stage changes, ${duplicates} published more than once (same id)`,
    );
  });
});
