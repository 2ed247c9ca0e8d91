import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import {
  AVRO_SCHEMAS,
  createCatalogue,
  createSerde,
  DLQ_HEADERS,
  EXAMPLES,
  encodeFrame,
  parseAvro,
  type RecordByTopic,
  type TopicName,
} from '@leadscorer/contracts';
import { loadModel } from '@leadscorer/engine';
import { LeadScorerError } from '@leadscorer/errors';
import { createLogger, createMetrics, type InboundMessage } from '@leadscorer/runtime';
import type { ApplyItem, ApplyOutcome, RedisScoreStore } from '@leadscorer/store';
import type { Producer } from 'kafkajs';
import { beforeEach, describe, expect, it } from 'vitest';
import { createScoringProcessor } from './processor.ts';
import type { StageChangePublisher } from './publisher.ts';

/**
 * The processor's bookkeeping against in-memory stand-ins for Redis and Kafka (the real ones are
 * covered by test/e2e): what reaches the store, what is dead-lettered, and what is counted.
 */
const modelPath = resolve(import.meta.dirname, '../../../models/default.yaml');
const model = loadModel(readFileSync(modelPath, 'utf8'), modelPath);
const catalogue = createCatalogue();
const now = Date.UTC(2026, 5, 1);
const WEB = 'engagement.web-visit.v1';
const EMAIL = 'engagement.email.v1';

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

function frame<T extends TopicName>(name: T, record: RecordByTopic[T]): Buffer {
  const id = catalogue.topics.findIndex((t) => t.name === name) + 1;
  return encodeFrame(id, parseAvro(AVRO_SCHEMAS[name]).toBuffer(record));
}

function message(topic: string, offset: number, key: string | null, value: Buffer): InboundMessage {
  const k = key === null ? null : Buffer.from(key);
  return { topic, partition: 2, offset: String(offset), key: k, value, headers: {}, timestamp: String(now) };
}

const web = EXAMPLES[WEB];
const email = EXAMPLES[EMAIL];
const chunk = [
  message(WEB, 10, web.leadId, frame(WEB, web)),
  message(WEB, 11, web.leadId, frame(WEB, { ...web, eventId: 'bot', userAgent: 'Googlebot/2.1' })),
  message(WEB, 12, web.leadId, frame(WEB, { ...web, url: 'not a url' })),
  message(EMAIL, 13, email.leadId, frame(EMAIL, email)),
  message(WEB, 14, web.leadId, frame(WEB, { ...web, eventId: 'again' })),
  message(WEB, 15, null, frame(WEB, web)),
];
// What the stand-in store answers for the four events that reach it, in order.
const OUTCOMES: ApplyOutcome[] = ['applied', 'filtered', 'redelivered', 'duplicate'];

let registry: StubRegistry;
let applied: ApplyItem[][];
let deadLetters: { topic: string; code: unknown }[];
let metrics: ReturnType<typeof createMetrics>;
let processor: ReturnType<typeof createScoringProcessor>;

beforeEach(() => {
  registry = new StubRegistry();
  applied = [];
  deadLetters = [];
  metrics = createMetrics('test', { defaultMetrics: false });
  const store = {
    async applyBatch(items: ApplyItem[]) {
      applied.push(items);
      return { outcomes: items.map((_, i) => OUTCOMES[i]!), changes: [] };
    },
  } as unknown as RedisScoreStore;
  const producer = {
    async sendBatch(batch: {
      topicMessages: { topic: string; messages: { headers: Record<string, unknown> }[] }[];
    }) {
      for (const t of batch.topicMessages)
        for (const m of t.messages)
          deadLetters.push({ topic: t.topic, code: String(m.headers[DLQ_HEADERS.errorCode]) });
    },
  } as unknown as Producer;
  const publisher: StageChangePublisher = { publish: async () => {} };
  processor = createScoringProcessor({
    service: 'test',
    serde: createSerde({ registry: registry as unknown as SchemaRegistry, catalogue }),
    model,
    store,
    producer,
    publisher,
    metrics,
    log: createLogger('test', 'silent'),
    clock: () => now,
  });
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
  it('applies the good, dead-letters the poison and counts each once per label set', async () => {
    // Twice: the first pass looks the schemas up, the second decodes from the cache.
    await processor(chunk);
    await processor(chunk);

    for (const items of applied) {
      expect(items.map((i) => [i.leadId, i.source, i.offset, i.effect.eventId])).toEqual([
        [web.leadId, 'w2', 10, web.eventId],
        [web.leadId, 'w2', 11, 'bot'],
        [email.leadId, 'e2', 13, email.eventId],
        [web.leadId, 'w2', 14, 'again'],
      ]);
    }
    expect(applied[1]).toEqual(applied[0]);
    const dlq = catalogue.get(WEB).deadLetterTopic;
    expect(deadLetters.slice(0, 2)).toEqual([
      { topic: dlq, code: 'MESSAGE_VALIDATION_FAILED' },
      { topic: dlq, code: 'MESSAGE_NO_KEY' },
    ]);
    expect(deadLetters.slice(2)).toEqual(deadLetters.slice(0, 2));

    expect(await values('leadscorer_events_consumed_total')).toEqual({
      [`topic=${WEB}`]: 10,
      [`topic=${EMAIL}`]: 2,
    });
    expect(await values('leadscorer_events_dead_lettered_total')).toEqual({
      [`topic=${WEB},reason=MESSAGE_VALIDATION_FAILED`]: 2,
      [`topic=${WEB},reason=MESSAGE_NO_KEY`]: 2,
    });
    expect(await values('leadscorer_events_applied_total')).toEqual({ [`topic=${WEB}`]: 2 });
    expect(await values('leadscorer_event_to_applied_seconds')).toEqual({ [`topic=${WEB}`]: 2 });
    expect(await values('leadscorer_events_filtered_total')).toEqual({
      [`topic=${WEB},reason=web-bot`]: 2,
    });
    expect(await values('leadscorer_events_deduplicated_total')).toEqual({
      [`topic=${EMAIL},reason=offset`]: 2,
      [`topic=${WEB},reason=event-id`]: 2,
    });
    const hits = applied[0]![0]!.effect.hits;
    expect(hits.length).toBeGreaterThan(0);
    expect(await values('leadscorer_rule_hits_total')).toEqual(
      Object.fromEntries(hits.map((rule) => [`rule=${rule}`, 2])),
    );
  });

  it('has the chunk retried when the registry is down, having counted what it read', async () => {
    registry.down = true;
    const err = await processor(chunk).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LeadScorerError);
    expect((err as LeadScorerError).code).toBe('REGISTRY_UNAVAILABLE');
    expect(applied).toEqual([]);
    expect(await values('leadscorer_events_consumed_total')).toEqual({ [`topic=${WEB}`]: 1 });
  });
});
