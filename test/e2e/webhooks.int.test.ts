import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistryClient, createSerde, DLQ_HEADERS, type LeadStageChanged } from '@leadscorer/contracts';
import { transitionId } from '@leadscorer/engine';
import type { RunningService } from '@leadscorer/runtime';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryQueue } from '../../services/sales-alerts/src/queue.ts';
import { startSalesAlerts } from '../../services/sales-alerts/src/service.ts';
import { testInfra } from '../support/infra.ts';
import { eventually, type ScorerEnv, scorerEnv } from '../support/scorer.ts';
import { type Answer, startReceiver } from '../support/webhook-receiver.ts';

// sales-alerts against receivers that fail in every way a receiver fails: attempts stay within the
// cap, each event is dead-lettered once, the consumer group member is never evicted however long
// the deliveries take, Retry-After is waited, a receiver that recovers gets everything once, and
// a slow subscriber holds back no other.
const SECRET = 'a-webhook-secret-for-tests';
const MODEL_VERSION = 'webhook-test';

function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe('webhook delivery', () => {
  let env: ScorerEnv;
  const running: RunningService[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    env = await scorerEnv('hooks', 2);
  });
  afterAll(async () => {
    for (const s of running.reverse()) await s.stop().catch(() => {});
    for (const c of closers) await c().catch(() => {});
    await env.cleanup();
  });

  const stageTopic = () => env.contracts.catalogue.get('lead.stage-changed.v1').topic;

  /** Publishes stage changes as the scorer does (Avro, keyed by lead). */
  async function publish(changes: LeadStageChanged[]): Promise<void> {
    const serde = createSerde({
      registry: createRegistryClient(env.contracts.registryUrl),
      catalogue: env.contracts.catalogue,
    });
    const now = Date.now();
    const encoded = await Promise.all(changes.map((c) => serde.encode('lead.stage-changed.v1', c, now)));
    const producer = env.contracts.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: stageTopic(),
      acks: -1,
      messages: encoded.map((e) => ({ key: e.key, value: e.value })),
    });
    await producer.disconnect();
  }

  function change(
    lead: string,
    from: string,
    to: string,
    seq = 1,
    modelVersion = MODEL_VERSION,
  ): LeadStageChanged {
    const now = Date.now();
    return {
      eventId: transitionId(lead, seq, from, to),
      leadId: lead,
      fromStage: from,
      toStage: to,
      scores: { engagement: 45, product: 30, fit: 20 },
      cause: { kind: 'THRESHOLD', ruleId: null, detail: 'test' },
      triggeringEventId: null,
      eventTime: now,
      emittedAt: now,
      modelVersion,
      sequence: seq,
      topRules: [],
    };
  }

  /** Every dead letter of sales-alerts so far: event id and parsed details, read from the beginning. */
  async function deadLetters(
    until: (letters: { eventId: string }[]) => boolean,
  ): Promise<{ eventId: string; code: string; details: Record<string, unknown> }[]> {
    const out: { eventId: string; code: string; details: Record<string, unknown> }[] = [];
    const consumer = env.contracts.kafka.consumer({
      groupId: env.contracts.group(`dlq-reader-${Date.now()}`),
    });
    await consumer.connect();
    await consumer.subscribe({ topic: `${stageTopic()}.sales-alerts.dlq`, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const details = JSON.parse(String(message.headers?.[DLQ_HEADERS.errorDetails])) as Record<
          string,
          unknown
        >;
        out.push({
          eventId: String(details.eventId),
          code: String(message.headers?.[DLQ_HEADERS.errorCode]),
          details,
        });
      },
    });
    try {
      await eventually('the dead letters', async () => until(out), 90_000);
      // Anything dead-lettered twice would arrive meanwhile.
      await new Promise((r) => setTimeout(r, 2_000));
    } finally {
      await consumer.disconnect();
    }
    return out;
  }

  async function memberIds(group: string): Promise<string[]> {
    const admin = env.contracts.kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([group]);
      return groups[0]!.members.map((m) => m.memberId).sort();
    } finally {
      await admin.disconnect();
    }
  }

  it('a failing receiver: each id attempted at most the cap, dead-lettered once, Retry-After waited, the member never evicted', async () => {
    const kinds = ['500', 'drop', 'hang', '429s', '429date', '400', 'ok'] as const;
    const counts = { '500': 5, drop: 5, hang: 8, '429s': 2, '429date': 2, '400': 2, ok: 4 };
    const kindOf = (lead: string) => lead.split('/')[1] as (typeof kinds)[number];
    const receiver = await startReceiver(SECRET, (r): Answer => {
      switch (kindOf(r.leadId)) {
        case '500':
          return { status: 500 };
        case 'drop':
          return 'drop';
        case 'hang':
          return 'hang';
        case '429s':
          return { status: 429, headers: { 'retry-after': '2' } };
        case '429date':
          // HTTP-date, whole seconds: at least one second ahead whatever the rounding.
          return { status: 429, headers: { 'retry-after': new Date(Date.now() + 2_000).toUTCString() } };
        case '400':
          return { status: 400 };
        default:
          return { status: 204 };
      }
    });
    closers.push(receiver.close);
    const group = env.contracts.group('alerts-failing');
    const alerts = await startSalesAlerts(
      env.env({
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: SECRET,
        ALERT_STAGES: 'mql,sql,pql,cql',
        CONSUMER_GROUP: group,
        KAFKA_SESSION_TIMEOUT_MS: '6000',
        WEBHOOK_MAX_ATTEMPTS: '3',
        WEBHOOK_TIMEOUT_MS: '400',
        WEBHOOK_RETRY_INITIAL_MS: '50',
        WEBHOOK_RETRY_MAX_MS: '200',
        WEBHOOK_CONCURRENCY: '2',
        WEBHOOK_BREAKER_FAILURES: '1000',
        DELIVERY_POLL_MS: '50',
        LOG_LEVEL: 'error',
      }),
      () => {},
      0,
    );
    running.push(alerts);
    await eventually('sales-alerts in its group', async () => alerts.isReady(), 30_000);
    await eventually('one member', async () => (await memberIds(group)).length === 1, 30_000);
    const member = await memberIds(group);

    const changes = kinds.flatMap((k) =>
      Array.from({ length: counts[k] }, (_, i) => change(`fail-${i}/${k}`, 'unqualified', 'mql')),
    );
    const started = Date.now();
    await publish(changes);
    const failing = changes.filter((c) => kindOf(c.leadId) !== 'ok');
    const letters = await deadLetters((l) => l.length >= failing.length);
    const took = Date.now() - started;

    // Each failing event dead-lettered exactly once, with its reason; the good ones delivered once.
    expect(letters.map((l) => l.eventId).sort()).toEqual(failing.map((c) => c.eventId).sort());
    for (const l of letters) {
      expect(l.code).toBe('DELIVERY_FAILED');
      expect(l.details.subscriber).toBe('default');
    }
    const ok = changes.filter((c) => kindOf(c.leadId) === 'ok').map((c) => c.eventId);
    expect([...receiver.delivered()].sort()).toEqual(ok.map((id) => [id, 1] as [string, number]).sort());

    // The cap: three attempts for every retryable failure, one for a 400.
    for (const c of failing) {
      const n = receiver.attemptsOf(c.eventId).length;
      expect(n, `${c.leadId}`).toBe(kindOf(c.leadId) === '400' ? 1 : 3);
    }
    // Retry-After: the next attempt of that event came no sooner (seconds: 2 s; date: >= 1 s).
    for (const c of failing.filter((x) => kindOf(x.leadId).startsWith('429'))) {
      const at = receiver.attemptsOf(c.eventId).map((h) => h.at);
      const min = kindOf(c.leadId) === '429s' ? 1_950 : 950;
      for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!, c.leadId).toBeGreaterThanOrEqual(min);
    }
    // The deliveries took far longer than the session timeout, and the same member is still there.
    expect(took).toBeGreaterThan(6_000);
    expect(await memberIds(group)).toEqual(member);
    expect(receiver.badSignatures).toEqual([]);

    const text = await (await fetch(`http://127.0.0.1:${alerts.ops.port}/metrics`)).text();
    expect(metric(text, 'leadscorer_webhook_dead_lettered_total', { subscriber: 'default' })).toBe(
      failing.length,
    );
    expect(
      metric(text, 'leadscorer_webhook_attempts_total', { subscriber: 'default', outcome: 'timeout' }),
    ).toBe(counts.hang * 3);
    expect(metric(text, 'leadscorer_webhook_attempts_total', { outcome: '429' })).toBe(12);
    expect(metric(text, 'leadscorer_webhook_queue_depth', { subscriber: 'default' })).toBe(0);
    await alerts.stop();
    running.splice(running.indexOf(alerts), 1);
  });

  it('a receiver that is down and recovers gets every message once; the breaker spares attempts meanwhile', async () => {
    let downUntil = Date.now() + 1e12;
    const receiver = await startReceiver(SECRET, () => (Date.now() < downUntil ? 'drop' : { status: 200 }));
    closers.push(receiver.close);
    const alerts = await startSalesAlerts(
      env.env({
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: SECRET,
        ALERT_STAGES: 'pql',
        CONSUMER_GROUP: env.contracts.group('alerts-recover'),
        KAFKA_SESSION_TIMEOUT_MS: '6000',
        WEBHOOK_MAX_ATTEMPTS: '10',
        WEBHOOK_RETRY_INITIAL_MS: '50',
        WEBHOOK_RETRY_MAX_MS: '200',
        WEBHOOK_CONCURRENCY: '4',
        WEBHOOK_BREAKER_FAILURES: '3',
        WEBHOOK_BREAKER_COOLDOWN_MS: '500',
        DELIVERY_POLL_MS: '50',
        LOG_LEVEL: 'error',
      }),
      () => {},
      0,
    );
    running.push(alerts);
    const changes = Array.from({ length: 20 }, (_, i) => change(`recover-${i}`, 'unqualified', 'pql'));
    await publish(changes);
    await eventually('the breaker to open', async () => {
      const text = await (await fetch(`http://127.0.0.1:${alerts.ops.port}/metrics`)).text();
      return metric(text, 'leadscorer_webhook_breaker_opened_total') >= 1;
    });
    await new Promise((r) => setTimeout(r, 3_000));
    downUntil = Date.now();
    const failed = receiver.hits.length;
    // Without the breaker every one of the 20 would have been tried several times in 3 s.
    expect(failed).toBeLessThan(20);
    await eventually(
      'every change delivered',
      async () => receiver.delivered().size === changes.length,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    expect([...receiver.delivered().values()].every((n) => n === 1)).toBe(true);
    const text = await (await fetch(`http://127.0.0.1:${alerts.ops.port}/metrics`)).text();
    expect(metric(text, 'leadscorer_webhook_breaker_state', { subscriber: 'default' })).toBe(0);
    expect(metric(text, 'leadscorer_webhook_dead_lettered_total')).toBe(0);
    expect(metric(text, 'leadscorer_alerts_delivered_total', { subscriber: 'default', to: 'pql' })).toBe(20);
  });

  it('two subscribers with their own filters: a slow one holds back no other', async () => {
    // Its own model version: the earlier tests' changes on the same topic are nobody's business here.
    const MODEL = 'two-subscribers';
    const slow = await startReceiver(SECRET, () => ({ status: 204, delayMs: 1_000 }));
    const fast = await startReceiver(`${SECRET}-fast`, () => ({ status: 204 }));
    closers.push(slow.close, fast.close);
    const file = join(mkdtempSync(join(tmpdir(), 'subs-')), 'subscriptions.yaml');
    writeFileSync(
      file,
      [
        'subscribers:',
        '  - id: sales-team',
        `    url: ${slow.url}`,
        '    secretEnv: SLOW_HOOK_SECRET',
        '    concurrency: 1',
        `    filter: { stages: [pql, cql], direction: up, modelVersions: [${MODEL}] }`,
        '  - id: nurture',
        `    url: ${fast.url}`,
        '    secretEnv: FAST_HOOK_SECRET',
        '    filter:',
        '      stages: [unqualified, disqualified]',
        '      direction: down',
        `      modelVersions: [${MODEL}]`,
        '',
      ].join('\n'),
    );
    const alerts = await startSalesAlerts(
      env.env({
        SUBSCRIPTIONS_FILE: file,
        SLOW_HOOK_SECRET: SECRET,
        FAST_HOOK_SECRET: `${SECRET}-fast`,
        CONSUMER_GROUP: env.contracts.group('alerts-two'),
        DELIVERY_POLL_MS: '50',
        LOG_LEVEL: 'error',
      }),
      () => {},
      0,
    );
    running.push(alerts);
    const ups = Array.from({ length: 8 }, (_, i) => change(`two-${i}`, 'unqualified', 'pql', 1, MODEL));
    const downs = [
      ...Array.from({ length: 8 }, (_, i) => change(`two-${i}`, 'pql', 'unqualified', 2, MODEL)),
      ...Array.from({ length: 4 }, (_, i) => change(`two-dq-${i}`, 'mql', 'disqualified', 1, MODEL)),
    ];
    const noise = [
      change('two-other-model', 'pql', 'unqualified', 2, 'another-model'), // another model version
      change('two-sql', 'mql', 'sql', 1, MODEL), // up, but not a stage sales-team asked for
      change('two-back', 'cql', 'pql', 3, MODEL), // pql, but down
    ];
    const started = Date.now();
    await publish([...ups, ...downs, ...noise]);
    await eventually(
      'nurture to get its changes',
      async () => fast.delivered().size === downs.length,
      30_000,
    );
    const fastDone = Date.now() - started;
    // The slow subscriber takes a second per change, one at a time: most of its 8 are still queued.
    expect(slow.hits.length).toBeLessThan(ups.length);
    expect(fastDone).toBeLessThan(ups.length * 1_000);
    await eventually(
      'sales-team to get its changes',
      async () => slow.delivered().size === ups.length,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    expect([...fast.delivered().keys()].sort()).toEqual(downs.map((c) => c.eventId).sort());
    expect([...slow.delivered().keys()].sort()).toEqual(ups.map((c) => c.eventId).sort());
    expect([...fast.delivered().values(), ...slow.delivered().values()].every((n) => n === 1)).toBe(true);
    expect([...slow.badSignatures, ...fast.badSignatures]).toEqual([]);
    const text = await (await fetch(`http://127.0.0.1:${alerts.ops.port}/metrics`)).text();
    expect(metric(text, 'leadscorer_alerts_delivered_total', { subscriber: 'nurture' })).toBe(downs.length);
    expect(metric(text, 'leadscorer_alerts_delivered_total', { subscriber: 'sales-team' })).toBe(ups.length);
    // Everything on the topic that is not its own, the earlier tests' changes included.
    expect(
      metric(text, 'leadscorer_alerts_skipped_total', { subscriber: 'sales-team', reason: 'not-chosen' }),
    ).toBeGreaterThanOrEqual(downs.length + noise.length);
  });

  it('the cap holds across a crash: attempts a dead instance started count, no further request is made', async () => {
    const receiver = await startReceiver(SECRET, () => ({ status: 204 }));
    closers.push(receiver.close);
    const redis = new Redis(testInfra().redisUrl);
    const c = change('crashed-1', 'unqualified', 'cql', 1, 'crash-test');
    const queue = new DeliveryQueue({
      redis,
      prefix: env.keyPrefix,
      subscriber: 'after-crash',
      dedupeTtlMs: 60_000,
    });
    try {
      // An instance claimed the job twice (attempts 1 and 2 of 2) and died each time mid-request.
      await queue.enqueue(
        c.eventId,
        {
          body: JSON.stringify(c),
          leadId: c.leadId,
          toStage: c.toStage,
          source: { topic: stageTopic(), partition: 0, offset: '0', timestamp: '0', key: null, value: null },
        },
        Date.now(),
        false,
      );
      expect((await queue.claim(Date.now(), 0, 1)).jobs[0]?.attempts).toBe(1);
      expect((await queue.claim(Date.now(), 0, 1)).jobs[0]?.attempts).toBe(2);
    } finally {
      redis.disconnect();
    }
    const file = join(mkdtempSync(join(tmpdir(), 'subs-')), 'subscriptions.yaml');
    writeFileSync(
      file,
      `subscribers:\n  - id: after-crash\n    url: ${receiver.url}\n    secretEnv: HOOK_SECRET\n    maxAttempts: 2\n    filter: { modelVersions: [crash-test] }\n`,
    );
    const alerts = await startSalesAlerts(
      env.env({
        SUBSCRIPTIONS_FILE: file,
        HOOK_SECRET: SECRET,
        CONSUMER_GROUP: env.contracts.group('alerts-crash'),
        DELIVERY_POLL_MS: '50',
        LOG_LEVEL: 'error',
      }),
      () => {},
      0,
    );
    running.push(alerts);
    const mine = (l: { eventId: string }[]) => l.filter((x) => x.eventId === c.eventId);
    const letters = mine(await deadLetters((l) => mine(l).length > 0));
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      eventId: c.eventId,
      code: 'DELIVERY_FAILED',
      details: { subscriber: 'after-crash', attempts: 2, reason: 'attempts-exhausted' },
    });
    expect(receiver.hits).toEqual([]);
  });
});
