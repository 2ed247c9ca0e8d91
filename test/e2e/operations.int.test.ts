import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, nextChangeAt, type ScoringEvent, scoresAt } from '@leadscorer/engine';
import { createLogger, createMetrics, KafkajsSource, startOpsServer } from '@leadscorer/runtime';
import { type ScoringService, startConsumerService, startFadingService } from '@leadscorer/scoring-service';
import { dueKey, SHARDS, shardOf } from '@leadscorer/store';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLeadApi } from '../../services/lead-api/src/server.ts';
import { startSalesAlerts } from '../../services/sales-alerts/src/service.ts';
import { AUTH } from '../support/api-key.ts';
import { testInfra } from '../support/infra.ts';
import { eventually, MODEL_FILE, type ScorerEnv, scorerEnv } from '../support/scorer.ts';

// Operations: metrics that move, readiness, the fading-leads scheduler on time, the read API
// against the engine, and the signed webhook across a restart. Real clock, a model whose
// half-lives are seconds so fading happens inside the test.
const FAST_MODEL = join(mkdtempSync(join(tmpdir(), 'leadscorer-model-')), 'fast.yaml');
writeFileSync(
  FAST_MODEL,
  readFileSync(MODEL_FILE, 'utf8')
    .replace('engagement: { halfLife: 14d }', 'engagement: { halfLife: 10s }')
    .replace('product: { halfLife: 7d }', 'product: { halfLife: 10s }')
    .replace(/^version: .*$/m, 'version: fast-test'),
);
const model = loadModel(readFileSync(FAST_MODEL, 'utf8'), FAST_MODEL);
const SECRET = 'a-webhook-secret-for-tests';

async function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  return { status: res.status, body: await res.text() };
}

function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe('operations', () => {
  const redis = new Redis(testInfra().redisUrl);
  const running: { stop(): Promise<void> }[] = [];
  let env: ScorerEnv;
  let trial: ScoringService;
  let web: ScoringService;
  const t0 = Date.now();
  const ev = (
    id: string,
    lead: string,
    type: ScoringEvent['type'],
    props: ScoringEvent['props'],
    at = t0,
  ): ScoringEvent => ({
    eventId: id,
    leadId: lead,
    eventTime: at,
    type,
    props,
  });

  beforeAll(async () => {
    env = await scorerEnv('ops', 2);
  });
  afterAll(async () => {
    for (const s of running.reverse()) await s.stop().catch(() => {});
    redis.disconnect();
    await env.cleanup();
  });

  it('/readyz is false until the consumer joins its group, then true, and false after it leaves', async () => {
    const metrics = createMetrics('readyz-test', { defaultMetrics: false });
    const source = new KafkajsSource({
      kafka: env.contracts.kafka,
      groupId: env.contracts.group(`${env.contracts.prefix}readyz`),
      topics: [env.contracts.catalogue.get('lead.outcome.v1').topic],
      log: createLogger('readyz-test', 'silent'),
      metrics,
      chunkSize: 10,
      partitionsConcurrently: 1,
      retry: { initialMs: 10, maxMs: 100 },
      onFatal: () => {},
    });
    const ops = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      live: () => source.isLive(),
      ready: () => source.isReady(),
    });
    try {
      expect((await get(ops.port, '/healthz')).status).toBe(200);
      expect((await get(ops.port, '/readyz')).status).toBe(503);
      await source.start(async () => {});
      await eventually('ready', async () => (await get(ops.port, '/readyz')).status === 200, 30_000);
      await source.stop();
      expect((await get(ops.port, '/readyz')).status).toBe(503);
    } finally {
      await ops.close();
    }
    trial = await startConsumerService(
      { service: 'trial-activity', defaultPort: 0, topics: ['product.trial-activity.v1'], onFatal: () => {} },
      env.env({
        MODEL_FILE: FAST_MODEL,
        CONSUMER_GROUP: env.contracts.group(`${env.contracts.prefix}trial`),
      }),
    );
    running.push(trial);
    web = await startConsumerService(
      { service: 'web-visits', defaultPort: 0, topics: ['engagement.web-visit.v1'], onFatal: () => {} },
      env.env({ MODEL_FILE: FAST_MODEL, CONSUMER_GROUP: env.contracts.group(`${env.contracts.prefix}web`) }),
    );
    running.push(web);
    await eventually('services ready', async () => trial.isReady() && web.isReady(), 30_000);
  });

  it('moves a lead down within one second of its computed time, with no new event', async () => {
    const fading = await startFadingService(
      { service: 'fading-leads', defaultPort: 0 },
      env.env({ MODEL_FILE: FAST_MODEL, FADE_POLL_MS: '100' }),
    );
    running.push(fading);
    const lead = `fade-${t0}`;
    const now = Date.now();
    // A signup alone (25 points) is not PQL (enter >= 25 after any decay): signup + one feature is.
    await env.produce([
      ev(`f1-${t0}`, lead, 'trial', { accountId: 'a', action: 'signup', feature: null, quantity: null }, now),
      ev(
        `f2-${t0}`,
        lead,
        'trial',
        { accountId: 'a', action: 'feature_used', feature: 'reports', quantity: 1 },
        now,
      ),
    ]);
    const keys = { prefix: env.keyPrefix, shards: SHARDS };
    const record = async () => (await env.records([lead], model)).get(lead);
    let due = 0;
    await eventually('the lead to be PQL and scheduled', async () => {
      if ((await record())?.state.stage !== 'pql') return false;
      due = Number(await redis.zscore(dueKey(keys, shardOf(lead)), lead));
      return due > 0;
    });
    // 30 points decaying with a 10 s half-life fall below PQL's stay threshold (15) at
    // eventTime + 10 s * log2(30 / 15) = eventTime + 10 s; the engine computes the same.
    const stored = (await record())!;
    expect(stored.due).toBe(due);
    expect(Math.abs(due - nextChangeAt(stored.state, Date.now(), model)!)).toBeLessThanOrEqual(2);
    expect(Math.abs(due - (now + 10_000))).toBeLessThanOrEqual(2);
    await eventually(
      'the lead to fade back to unqualified',
      async () => (await record())?.state.stage === 'unqualified',
      20_000,
    );
    const change = (await record())!.history[0]!;
    expect(change).toMatchObject({ from: 'pql', to: 'unqualified', cause: { kind: 'decay' } });
    // The crossing time the change carries is the time it was scheduled for.
    expect(Math.abs(change.eventTime - due)).toBeLessThanOrEqual(2);
    // Decided no earlier than due and at most a second after it.
    expect(change.at).toBeGreaterThanOrEqual(due);
    expect(change.at - due).toBeLessThanOrEqual(1000);
  });

  it('counts consumed, applied, filtered, deduplicated, dead-lettered, rule hits, transitions and latencies', async () => {
    const lead = `metrics-${t0}`;
    const now = Date.now();
    const visit = (id: string, ua: string) =>
      ev(
        id,
        lead,
        'web',
        {
          url: 'https://x.io/pricing',
          path: '/pricing',
          userAgent: ua,
          referrer: null,
          sessionId: null,
          durationSeconds: null,
        },
        now,
      );
    const human = 'Mozilla/5.0 (Macintosh) Safari/605.1';
    await env.produce([
      visit(`m1-${t0}`, human),
      visit(`m1-${t0}`, human), // an upstream duplicate
      visit(`m2-${t0}`, 'Googlebot/2.1 (+http://www.google.com/bot.html)'), // a bot
      ev(`m3-${t0}`, lead, 'trial', { accountId: 'a', action: 'signup', feature: null, quantity: null }, now),
      ev(
        `m4-${t0}`,
        lead,
        'trial',
        { accountId: 'a', action: 'feature_used', feature: 'reports', quantity: 1 },
        now,
      ),
    ]);
    // A poison message: not Avro at all.
    const producer = env.contracts.kafka.producer();
    await producer.connect();
    await producer.send({
      topic: env.contracts.catalogue.get('engagement.web-visit.v1').topic,
      messages: [{ key: lead, value: 'not avro' }],
    });
    await producer.disconnect();
    await eventually('web metrics', async () => {
      const text = (await get(web.ops.port, '/metrics')).body;
      return (
        metric(text, 'leadscorer_events_dead_lettered_total') >= 1 &&
        metric(text, 'leadscorer_events_consumed_total') >= 4
      );
    });
    const webText = (await get(web.ops.port, '/metrics')).body;
    expect(metric(webText, 'leadscorer_events_applied_total')).toBeGreaterThanOrEqual(1);
    expect(metric(webText, 'leadscorer_events_filtered_total', { reason: 'web-bot' })).toBe(1);
    expect(metric(webText, 'leadscorer_events_deduplicated_total', { reason: 'event-id' })).toBe(1);
    expect(
      metric(webText, 'leadscorer_events_dead_lettered_total', { reason: 'MESSAGE_BAD_MAGIC_BYTE' }),
    ).toBe(1);
    expect(metric(webText, 'leadscorer_rule_hits_total', { rule: 'pricing_page' })).toBeGreaterThanOrEqual(1);
    expect(metric(webText, 'leadscorer_event_to_applied_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(
      metric(webText, 'leadscorer_redis_script_seconds_count', { script: 'commit' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metric(webText, 'leadscorer_redis_script_seconds_count', { script: 'read' }),
    ).toBeGreaterThanOrEqual(1);
    expect(webText).toContain('leadscorer_commit_conflicts_total');
    expect(webText).toContain('leadscorer_consumer_lag{');
    await eventually('trial transition metrics', async () => {
      const text = (await get(trial.ops.port, '/metrics')).body;
      return metric(text, 'leadscorer_stage_transitions_total', { from: 'unqualified', to: 'pql' }) >= 2;
    });
    const trialText = (await get(trial.ops.port, '/metrics')).body;
    expect(metric(trialText, 'leadscorer_stage_changes_published_total')).toBeGreaterThanOrEqual(2);
    expect(
      metric(trialText, 'leadscorer_event_to_stage_change_published_seconds_count'),
    ).toBeGreaterThanOrEqual(2);
    // prom-client's defaults under their standard names, for generic Node.js dashboards.
    expect(metric(trialText, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(metric(trialText, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(trialText).not.toContain('leadscorer_process_');
    expect(trialText).not.toContain('leadscorer_nodejs_');
    // The ops server counts the scrapes it answered, by route template.
    expect(
      metric(trialText, 'http_server_requests_total', {
        http_request_method: 'GET',
        http_route: '/metrics',
        http_response_status_code: '200',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('the read API answers with the engine numbers, 404 for an unknown lead and 400 for a malformed id', async () => {
    const api = await startLeadApi(env.env({ MODEL_FILE: FAST_MODEL }), 0);
    running.push(api);
    const lead = `metrics-${t0}`;
    const res = await get(api.ops.port, `/leads/${lead}`, AUTH);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as {
      stage: string;
      scores: Record<string, number>;
      asOf: number;
      explanation: { contributions: { ruleId: string }[] };
      recentStageChanges: unknown[];
    };
    const stored = (await env.records([lead], model)).get(lead)!.state;
    expect(body.scores).toEqual(scoresAt(stored, body.asOf, model));
    expect(body.stage).toBe(stored.stage);
    expect(body.explanation.contributions.map((c) => c.ruleId)).toContain('pricing_page');
    expect(body.recentStageChanges.length).toBeGreaterThanOrEqual(1);
    expect((await get(api.ops.port, '/leads/nobody-here', AUTH)).status).toBe(404);
    expect((await get(api.ops.port, `/leads/${lead}`)).status).toBe(401);
    const bad = await get(api.ops.port, `/leads/${'x'.repeat(200)}`, AUTH);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).message).toMatch(/1-128 characters/);
    expect((await get(api.ops.port, '/leads/%20padded', AUTH)).status).toBe(400);
    expect(JSON.parse((await get(api.ops.port, '/openapi.json')).body).openapi).toBe('3.1.0');

    // HTTP metrics by route template and status; the lead id itself is in no label.
    const text = (await get(api.ops.port, '/metrics')).body;
    const leadRoute = (status: string) =>
      metric(text, 'http_server_requests_total', {
        http_request_method: 'GET',
        http_route: '/leads/{leadId}',
        http_response_status_code: status,
      });
    expect(leadRoute('200')).toBe(1);
    expect(leadRoute('404')).toBe(1);
    expect(leadRoute('401')).toBe(1);
    expect(leadRoute('400')).toBe(2);
    expect(
      metric(text, 'http_server_request_duration_seconds_count', {
        http_route: '/leads/{leadId}',
        http_response_status_code: '200',
      }),
    ).toBe(1);
    expect(metric(text, 'http_server_requests_total', { http_route: '/openapi.json' })).toBe(1);
    expect(text).not.toContain(lead);
    expect(text).not.toContain('nobody-here');
  });

  it('the webhook receives each chosen stage change exactly once, signed, across a restart of the subscriber', async () => {
    const received: { id: string; to: string; lead: string }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const ts = String(req.headers['x-leadscorer-timestamp']);
        const expected = `v1=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`;
        if (req.headers['x-leadscorer-signature'] !== expected) {
          res.writeHead(401).end();
          return;
        }
        const r = JSON.parse(body) as { eventId: string; toStage: string; leadId: string };
        received.push({ id: r.eventId, to: r.toStage, lead: r.leadId });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const alertsEnv = env.env({
      WEBHOOK_URL: hook,
      WEBHOOK_SECRET: SECRET,
      ALERT_STAGES: 'pql,cql',
      CONSUMER_GROUP: env.contracts.group(`${env.contracts.prefix}alerts`),
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    });
    let alerts = await startSalesAlerts(alertsEnv, () => {}, 0);
    await eventually('first deliveries', async () => received.length >= 2, 30_000);
    await alerts.stop();
    // More stage changes while the subscriber is down, then a restart.
    const now = Date.now();
    const leads = Array.from({ length: 5 }, (_, i) => `hook-${t0}-${i}`);
    const trialEvent = (id: string, lead: string, action: string) =>
      ev(id, lead, 'trial', { accountId: 'a', action, feature: null, quantity: null }, now);
    await env.produce(
      leads.flatMap((l, i) => [
        trialEvent(`h${i}-${t0}`, l, 'signup'),
        trialEvent(`hf${i}-${t0}`, l, 'feature_used'),
      ]),
    );
    alerts = await startSalesAlerts(alertsEnv, () => {}, 0);
    running.push(alerts);
    await eventually(
      'deliveries after the restart',
      async () => leads.every((l) => received.some((r) => r.to === 'pql' && r.lead === l)),
      30_000,
    );
    await eventually(
      'all pql changes delivered',
      async () => received.filter((r) => r.to === 'pql').length >= 7,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1500));
    const ids = received.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(received.every((r) => r.to === 'pql' || r.to === 'cql')).toBe(true);
    server.close();
  });
});
