import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { newRecord, type StageChangeRecord, shardOf } from '@leadscorer/core';
import type { ScoringEvent } from '@leadscorer/engine';
import { type ScoringService, startConsumerService, startRelayService } from '@leadscorer/scoring-service';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesAlerts } from '../../services/sales-alerts/src/service.ts';
import { eventually, type ScorerEnv, scorerEnv } from '../support/scorer.ts';

// One event's trace end to end: a producer (the OpenTelemetry SDK, as an upstream system would
// use it) puts a W3C traceparent on a trial event; trial-activity and sales-alerts export their
// spans over real OTLP/HTTP (the official exporter) to a receiver on loopback; the webhook
// receiver gets a traceparent of the same trace. Checked: the spans form one chain
// producer -> process -> commit -> send (lead.stage-changed) -> process (sales-alerts) -> POST,
// all with the producer's trace id, and the webhook's traceparent names the POST span.

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  service: string;
  attributes: Record<string, unknown>;
}

/** OTLP/JSON encodes ids as hex (the spec); base64 is what protobuf-JSON mappers produce. */
function hex(id: string | undefined): string {
  if (!id) return '';
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

/** A minimal OTLP/HTTP JSON traces receiver: POST /v1/traces, answers 200 {}. */
async function startOtlpReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; server: Server }> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const doc = JSON.parse(body.toString('utf8')) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: { stringValue?: string } }[] };
          scopeSpans: {
            spans: {
              traceId: string;
              spanId: string;
              parentSpanId?: string;
              name: string;
              kind: number;
              attributes?: { key: string; value: Record<string, unknown> }[];
            }[];
          }[];
        }[];
      };
      for (const rs of doc.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            spans.push({
              traceId: hex(s.traceId),
              spanId: hex(s.spanId),
              parentSpanId: hex(s.parentSpanId),
              name: s.name,
              kind: s.kind,
              service,
              attributes: Object.fromEntries(
                (s.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]]),
              ),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server };
}

describe('tracing', () => {
  const running: { stop(): Promise<void> }[] = [];
  const servers: Server[] = [];
  let env: ScorerEnv;
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
  const hooks: { path: string; lead: string; to: string; traceparent: string | undefined }[] = [];
  let hookUrl: string;
  let trial: ScoringService;
  const t0 = Date.now();

  beforeAll(async () => {
    env = await scorerEnv('trace', 1);
    otlp = await startOtlpReceiver();
    servers.push(otlp.server);
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const r = JSON.parse(body) as { leadId: string; toStage: string };
        const tp = req.headers.traceparent;
        hooks.push({
          path: req.url ?? '',
          lead: r.leadId,
          to: r.toStage,
          traceparent: Array.isArray(tp) ? tp[0] : tp,
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    servers.push(hook);
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  });

  afterAll(async () => {
    for (const s of running.reverse()) await s.stop().catch(() => {});
    for (const s of servers) s.close();
    await env.cleanup();
  });

  it("one event's spans share its trace id from the producer to the webhook call", async () => {
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    trial = await startConsumerService(
      { service: 'trial-activity', defaultPort: 0, topics: ['product.trial-activity.v1'], onFatal: () => {} },
      env.env({ ...otel, CONSUMER_GROUP: env.contracts.group(`${env.contracts.prefix}trial`) }),
    );
    running.push(trial);
    const alerts = await startSalesAlerts(
      env.env({
        ...otel,
        WEBHOOK_URL: hookUrl,
        WEBHOOK_SECRET: 'a-webhook-secret-for-tests',
        ALERT_STAGES: 'pql',
        CONSUMER_GROUP: env.contracts.group(`${env.contracts.prefix}alerts`),
      }),
      () => {},
      0,
    );
    running.push(alerts);
    expect(trial.tracing.enabled).toBe(true);

    // The upstream producer: the OpenTelemetry SDK, its spans kept in memory.
    const upstream = new InMemorySpanExporter();
    const provider = new TracerProvider({
      spanProcessors: [new SimpleSpanProcessor({ exporter: upstream })],
    });
    const tracer = provider.getTracer('upstream-product-backend');
    const propagator = new W3CTraceContextPropagator();
    const root = tracer.startSpan('trial session');
    const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
    const lead = `traced-${t0}`;
    const now = Date.now();
    const events: ScoringEvent[] = ['signup', 'feature_used'].map((action, i) => ({
      eventId: `tr${i}-${t0}`,
      leadId: lead,
      eventTime: now,
      type: 'trial',
      props: { accountId: 'a', action, feature: null, quantity: null },
    }));
    const sends = events.map(() =>
      tracer.startSpan('send product.trial-activity.v1', { kind: SpanKind.PRODUCER }, rootCtx),
    );
    const headers = sends.map((span) => {
      const h: Record<string, string> = {};
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), h, {
        set: (c, k, v) => {
          c[k] = v;
        },
      });
      return h;
    });
    await env.produce(events, headers);
    for (const s of sends) s.end();
    root.end();
    const traceId = root.spanContext().traceId;

    await eventually(
      'the webhook got the pql change',
      async () => hooks.some((h) => h.lead === lead),
      60_000,
    );
    const hit = hooks.find((h) => h.path === '/hook' && h.lead === lead)!;
    expect(hit.to).toBe('pql');
    expect(hit.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const [, hookTrace, hookParent] = hit.traceparent!.split('-');
    expect(hookTrace).toBe(traceId);

    // Every hop's span, in one trace, each the child of the one before.
    const ofTrace = () => otlp.spans.filter((s) => s.traceId === traceId);
    const stageTopic = env.contracts.catalogue.get('lead.stage-changed.v1').topic;
    const trialTopic = env.contracts.catalogue.get('product.trial-activity.v1').topic;
    await eventually(
      'the spans of every hop exported',
      async () => ofTrace().some((s) => s.name === 'POST' && s.spanId === hookParent),
      30_000,
    );
    const spans = ofTrace();
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const post = byId.get(hookParent!)!;
    expect(post).toMatchObject({ name: 'POST', kind: 3, service: 'sales-alerts' }); // CLIENT
    expect(post.attributes['http.response.status_code']).toBe(204);
    const alertProcess = byId.get(post.parentSpanId)!;
    expect(alertProcess).toMatchObject({ name: `process ${stageTopic}`, kind: 5, service: 'sales-alerts' });
    const send = byId.get(alertProcess.parentSpanId)!;
    expect(send).toMatchObject({ name: `send ${stageTopic}`, kind: 4, service: 'trial-activity' });
    const commit = byId.get(send.parentSpanId)!;
    expect(commit).toMatchObject({ name: 'commit', kind: 3, service: 'trial-activity' });
    expect(commit.attributes['db.system.name']).toBe('redis');
    const process = byId.get(commit.parentSpanId)!;
    expect(process).toMatchObject({ name: `process ${trialTopic}`, kind: 5, service: 'trial-activity' });
    // ...under the producer's span of the event that caused the change (feature_used).
    expect(process.parentSpanId).toBe(sends[1]!.spanContext().spanId);
    // The signup's own spans are in the same trace, under its own producer span.
    expect(spans.some((s) => s.parentSpanId === sends[0]!.spanContext().spanId)).toBe(true);
    expect(upstream.getFinishedSpans().map((s) => s.spanContext().traceId)).toEqual([
      traceId,
      traceId,
      traceId,
    ]);
    await provider.shutdown();
  });

  it('the outbox keeps the trace context, and services that export nothing hand it on unchanged to the webhook', async () => {
    const { store, model } = trial.wiring.generation.current();
    const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
    const lead = `relayed-${t0}`;
    const now = Date.now();
    const change: StageChangeRecord = {
      from: 'unqualified',
      to: 'pql',
      scores: { engagement: 0, product: 30, fit: 20 },
      cause: { kind: 'rule', ruleId: 'trial_signup', detail: 'product 30 >= 25' },
      eventId: `rl-${t0}`,
      eventTime: now,
      seq: 1,
      topRules: [],
      lead,
      modelVersion: model.version,
      at: now,
      trace: traceparent,
    };
    // Recorded as a consumer records it, and never published inline: only the relay publishes it.
    await store.commit(
      [{ leadId: lead, expected: undefined, record: newRecord(model), changes: [change] }],
      now,
    );
    // The outbox entry, as the relay reads it back from Redis, keeps the commit's traceparent.
    const pending = await store.pendingOutbox(shardOf(lead, store.shards), 1_000, 0, Date.now());
    expect(pending.find((r) => r.change.lead === lead)?.change.trace).toBe(traceparent);

    // No OTEL_* variables: the relay records no span and exports nothing, yet hands the trace on.
    const relay = await startRelayService(
      { service: 'outbox-relay', defaultPort: 0 },
      env.env({ RELAY_MIN_AGE_MS: '0', PUBLISH_HOLD_MS: '0', RELAY_INTERVAL_MS: '100' }),
    );
    running.push(relay);
    expect(relay.tracing.enabled).toBe(false);

    const topic = env.contracts.catalogue.get('lead.stage-changed.v1').topic;
    const consumer = env.contracts.kafka.consumer({
      groupId: env.contracts.group(`${env.contracts.prefix}read`),
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const headers: (string | undefined)[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.key?.toString() === lead) headers.push(message.headers?.traceparent?.toString());
      },
    });
    try {
      await eventually('the relay published the change', async () => headers.length > 0, 30_000);
    } finally {
      await consumer.disconnect();
    }
    expect(headers[0]).toBe(traceparent);

    // A subscriber that exports nothing either: the webhook gets the very same traceparent.
    const quiet = await startSalesAlerts(
      env.env({
        WEBHOOK_URL: hookUrl.replace(/\/hook$/, '/quiet'),
        WEBHOOK_SECRET: 'a-webhook-secret-for-tests',
        ALERT_STAGES: 'pql',
        CONSUMER_GROUP: env.contracts.group(`${env.contracts.prefix}quiet`),
        // Its own delivery queue (the first subscriber, also `default`, has seen these event ids).
        REDIS_KEY_PREFIX: `${env.keyPrefix}q`,
      }),
      () => {},
      0,
    );
    running.push(quiet);
    expect(quiet.tracing.enabled).toBe(false);
    await eventually(
      'the quiet subscriber delivered',
      async () => hooks.some((h) => h.path === '/quiet' && h.lead === lead),
      60_000,
    );
    expect(hooks.find((h) => h.path === '/quiet' && h.lead === lead)?.traceparent).toBe(traceparent);
  });
});
