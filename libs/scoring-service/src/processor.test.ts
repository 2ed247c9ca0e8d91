import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import {
  AVRO_SCHEMAS,
  createCatalogue,
  createSerde,
  EXAMPLES,
  encodeFrame,
  parseAvro,
  type RecordByTopic,
  type TopicName,
} from '@leadscorer/contracts';
import {
  type ConsumedMessage,
  type DeadLetterSink,
  MemoryScoreStore,
  type StageChangeRecord,
  type StageChangeSink,
} from '@leadscorer/core';
import { loadModel } from '@leadscorer/engine';
import { isPoison, type LeadScorerError } from '@leadscorer/errors';
import {
  createLogger,
  createMetrics,
  createTracing,
  type InboundMessage,
  type Tracing,
} from '@leadscorer/runtime';
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { beforeEach, describe, expect, it } from 'vitest';
import { PartitionTracker } from './partitions.ts';
import { createScoringProcessor } from './processor.ts';
import { StageChangePublisher } from './publisher.ts';
import { StateGuard } from './state-guard.ts';

/**
 * The processor's bookkeeping on the core's ports, with the in-memory store and sinks (the real
 * Redis and Kafka adapters are covered by the integration tests): what is applied, what is
 * dead-lettered, what is published, and what is counted.
 */
const modelPath = resolve(import.meta.dirname, '../../../models/default.yaml');
const model = loadModel(readFileSync(modelPath, 'utf8'), modelPath);
const catalogue = createCatalogue();
const now = Date.UTC(2026, 5, 1);
const WEB = 'engagement.web-visit.v1';
const EMAIL = 'engagement.email.v1';
const TRIAL = 'product.trial-activity.v1';

/** The registry client's two calls the serde makes, answered from the schemas in the repo. */
class StubRegistry {
  down = false;
  async getSchema(id: number): Promise<unknown> {
    if (this.down) throw Object.assign(new Error('unavailable'), { status: 503 });
    return parseAvro(AVRO_SCHEMAS[catalogue.topics[id - 1]!.name]);
  }
  async getRegistryIdBySchema(subject: string): Promise<number> {
    return catalogue.topics.findIndex((t) => t.subject === subject) + 1;
  }
}

class MemoryDeadLetters implements DeadLetterSink {
  readonly letters: { topic: string; offset: string; code: string }[] = [];
  async send(letters: readonly { message: ConsumedMessage; error: unknown }[]): Promise<void> {
    for (const { message, error } of letters) {
      expect(isPoison(error)).toBe(true);
      this.letters.push({
        topic: message.topic,
        offset: message.offset,
        code: (error as LeadScorerError).code,
      });
    }
  }
}

class MemoryStageChanges implements StageChangeSink {
  readonly sent: StageChangeRecord[] = [];
  async send(changes: readonly StageChangeRecord[]): Promise<void> {
    this.sent.push(...changes);
  }
}

function frame<T extends TopicName>(name: T, record: RecordByTopic[T]): Buffer {
  const id = catalogue.topics.findIndex((t) => t.name === name) + 1;
  return encodeFrame(id, parseAvro(AVRO_SCHEMAS[name]).toBuffer(record));
}

function message(topic: string, offset: number, key: string | null, value: Buffer): InboundMessage {
  const k = key === null ? null : Buffer.from(key);
  return { topic, partition: 2, offset: String(offset), key: k, value, headers: {}, timestamp: String(now) };
}

const web = { ...EXAMPLES[WEB], eventTime: now - 60_000 };
const email = { ...EXAMPLES[EMAIL], eventTime: now - 60_000, deliveredAt: now - 3_600_000 };
const chunk = [
  message(WEB, 10, web.leadId, frame(WEB, web)),
  message(WEB, 11, web.leadId, frame(WEB, { ...web, eventId: 'bot', userAgent: 'Googlebot/2.1' })),
  message(WEB, 12, web.leadId, frame(WEB, { ...web, url: 'not a url' })),
  message(EMAIL, 13, email.leadId, frame(EMAIL, email)),
  message(WEB, 14, web.leadId, frame(WEB, { ...web, eventId: 'again' })),
  message(WEB, 15, null, frame(WEB, web)),
];

let registry: StubRegistry;
let store: MemoryScoreStore;
let deadLetters: MemoryDeadLetters;
let stageChanges: MemoryStageChanges;
let metrics: ReturnType<typeof createMetrics>;
let processor: ReturnType<typeof createScoringProcessor>;
let makeProcessor: (tracing?: Tracing) => ReturnType<typeof createScoringProcessor>;

beforeEach(async () => {
  registry = new StubRegistry();
  store = new MemoryScoreStore();
  deadLetters = new MemoryDeadLetters();
  stageChanges = new MemoryStageChanges();
  metrics = createMetrics('test', { defaultMetrics: false });
  const state = new StateGuard({
    store: () => store,
    log: createLogger('test', 'silent'),
    metrics,
    hasHistory: async () => false,
  });
  makeProcessor = (tracing) =>
    createScoringProcessor({
      ...(tracing ? { tracing } : {}),
      serde: createSerde({ registry: registry as unknown as SchemaRegistry, catalogue }),
      generation: {
        current: () => ({
          record: { generation: 0 },
          model,
          store,
          scorer: { model, historyLength: 5 },
          publisher: new StageChangePublisher({ store, sink: stageChanges, metrics, clock: () => now }),
        }),
        refresh: async () => false,
      },
      deadLetters,
      publishInline: (recorded, publisher) => publisher.publish(recorded, 'inline'),
      metrics,
      log: createLogger('test', 'silent'),
      clock: () => now,
      partitions: new PartitionTracker({
        store: () => store,
        group: 'g',
        log: createLogger('test', 'silent'),
        metrics,
        clock: () => now,
      }),
      state,
    });
  processor = makeProcessor();
  await state.check();
});

async function values(name: string): Promise<Record<string, number>> {
  const metric = metrics.registry.getSingleMetric(name)!;
  const out: Record<string, number> = {};
  for (const v of (await metric.get()).values) {
    if ('metricName' in v && v.metricName !== `${name}_count`) continue;
    const labels = Object.entries(v.labels)
      .filter(([k]) => k !== 'le')
      .map(([k, l]) => `${k}=${l}`)
      .join(',');
    out[labels] = (out[labels] ?? 0) + v.value;
  }
  return out;
}

describe('createScoringProcessor', () => {
  it('applies the good, dead-letters the poison, skips a redelivery and counts each once per label set', async () => {
    // Twice: the second time is Kafka redelivering the chunk (and decodes from the schema cache).
    await processor(chunk);
    const once = store.peek(web.leadId)!;
    await processor(chunk);

    expect(once.offsets).toEqual(
      new Map([
        ['w2', 14],
        ['e2', 13],
      ]),
    );
    expect(store.peek(web.leadId)).toEqual(once);
    expect(deadLetters.letters).toEqual([
      { topic: WEB, offset: '12', code: 'MESSAGE_VALIDATION_FAILED' },
      { topic: WEB, offset: '15', code: 'MESSAGE_NO_KEY' },
      { topic: WEB, offset: '12', code: 'MESSAGE_VALIDATION_FAILED' },
      { topic: WEB, offset: '15', code: 'MESSAGE_NO_KEY' },
    ]);
    expect(await values('leadscorer_events_consumed_total')).toEqual({
      [`topic=${WEB}`]: 10,
      [`topic=${EMAIL}`]: 2,
    });
    expect(await values('leadscorer_events_dead_lettered_total')).toEqual({
      [`topic=${WEB},reason=MESSAGE_VALIDATION_FAILED`]: 2,
      [`topic=${WEB},reason=MESSAGE_NO_KEY`]: 2,
    });
    expect(await values('leadscorer_events_applied_total')).toEqual({
      [`topic=${WEB}`]: 2,
      [`topic=${EMAIL}`]: 1,
    });
    expect(await values('leadscorer_event_to_applied_seconds')).toEqual({
      [`topic=${WEB}`]: 2,
      [`topic=${EMAIL}`]: 1,
    });
    // The second time even the bot visit is below its source's watermark (14): not looked at again.
    expect(await values('leadscorer_events_filtered_total')).toEqual({ [`topic=${WEB},reason=web-bot`]: 1 });
    expect(await values('leadscorer_events_deduplicated_total')).toEqual({
      [`topic=${WEB},reason=offset`]: 3,
      [`topic=${EMAIL},reason=offset`]: 1,
    });
    const hits = (await values('leadscorer_rule_hits_total')) as Record<string, number>;
    expect(Object.keys(hits).length).toBeGreaterThan(0);
    expect(stageChanges.sent).toEqual([]);
  });

  it('publishes the stage changes a chunk records and clears them from the outbox', async () => {
    const trial = { ...EXAMPLES[TRIAL], leadId: 'trial-1', eventTime: now, action: 'signup' };
    await processor([message(TRIAL, 0, trial.leadId, frame(TRIAL, trial))]);
    expect(stageChanges.sent.map(({ lead, from, to, seq }) => ({ lead, from, to, seq }))).toEqual([
      { lead: 'trial-1', from: 'unqualified', to: 'pql', seq: 1 },
    ]);
    expect(await store.outboxDepth()).toBe(0);
    expect(store.peek('trial-1')!.history.map((h) => h.to)).toEqual(['pql']);
    expect(await values('leadscorer_stage_transitions_total')).toEqual({ 'from=unqualified,to=pql': 1 });
  });

  it('has the chunk retried when the registry is down, having counted what it read', async () => {
    registry.down = true;
    const err = await processor(chunk).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as LeadScorerError).code).toBe('REGISTRY_UNAVAILABLE');
    expect(store.leadIds()).toEqual([]);
    expect(deadLetters.letters).toEqual([]);
    expect(await values('leadscorer_events_consumed_total')).toEqual({ [`topic=${WEB}`]: 1 });
  });

  const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const traced = (m: InboundMessage): InboundMessage => ({
    ...m,
    headers: { traceparent: Buffer.from(PARENT) },
  });
  const signup = (lead: string, offset: number) =>
    message(
      TRIAL,
      offset,
      lead,
      frame(TRIAL, { ...EXAMPLES[TRIAL], leadId: lead, eventTime: now, action: 'signup' }),
    );

  it('without tracing, carries the traceparent an event came with to its stage change, and none without', async () => {
    await processor([traced(signup('t-traced', 0)), signup('t-plain', 1)]);
    const trace = Object.fromEntries(stageChanges.sent.map((c) => [c.lead, c.trace]));
    expect(trace).toEqual({ 't-traced': PARENT, 't-plain': undefined });
  });

  it('with tracing, a process span under the message context and a commit span whose context the change carries', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = createTracing({ service: 'trial-activity', exporter });
    processor = makeProcessor(tracing);
    const bad = message(TRIAL, 1, 't-bad', frame(WEB, web));
    await processor([traced(signup('t-traced', 0)), traced(bad)]);
    await tracing.flush();
    const spans = exporter.getFinishedSpans();
    const [, traceId, parentId] = PARENT.split('-');
    expect(spans.every((s) => s.spanContext().traceId === traceId)).toBe(true);
    const processSpans = spans.filter((s) => s.name === `process ${TRIAL}`);
    expect(processSpans.map((s) => s.parentSpanContext?.spanId)).toEqual([parentId, parentId]);
    const commit = spans.find((s) => s.name === 'commit')!;
    expect(commit.parentSpanContext?.spanId).toBe(processSpans[0]!.spanContext().spanId);
    expect(stageChanges.sent[0]!.trace).toBe(`00-${traceId}-${commit.spanContext().spanId}-01`);
    // The poison message's span says it was dead-lettered.
    expect(processSpans[1]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(processSpans[1]!.attributes['leadscorer.dead_letter.reason']).toBe(deadLetters.letters[0]!.code);
    await tracing.shutdown();
  });
});
