import { deadLetterMessage, type Serde, toStageChangedRecord } from '@leadscorer/contracts';
import type { ConsumedMessage, DeadLetterSink, StageChangeRecord, StageChangeSink } from '@leadscorer/core';
import { transitionId } from '@leadscorer/engine';
import { LeadScorerError } from '@leadscorer/errors';
import { createTracing, type Tracing } from '@leadscorer/runtime';
import { ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Producer } from 'kafkajs';

/**
 * The kafkajs adapters of the core's sinks. Both resolve only once every message is acknowledged
 * by all in-sync replicas (acks=-1), and turn a broker failure into BROKER_UNAVAILABLE: the
 * caller retries, never skips.
 */

/**
 * lead.stage-changed: one Avro record per change, keyed by lead id, its event id derived from
 * (lead, sequence, from, to), so a change published twice carries the same id both times.
 * A change recorded with a trace (records.ts `trace`) is sent under a PRODUCER span of that trace,
 * whose W3C `traceparent` header the record carries (subscribers continue the trace from it).
 */
export class KafkaStageChangeSink implements StageChangeSink {
  private readonly producer: Producer;
  private readonly serde: Serde;
  private readonly tracing: Tracing;

  constructor(deps: { producer: Producer; serde: Serde; tracing?: Tracing }) {
    this.producer = deps.producer;
    this.serde = deps.serde;
    this.tracing = deps.tracing ?? createTracing({ service: 'publisher' });
  }

  async send(changes: readonly StageChangeRecord[], emittedAt: number): Promise<void> {
    if (changes.length === 0) return;
    const messages = await Promise.all(
      changes.map(async (change) => {
        const record = toStageChangedRecord(change, {
          leadId: change.lead,
          eventId: transitionId(change.lead, change.seq, change.from, change.to, change.epoch),
          emittedAt,
          modelVersion: change.modelVersion,
        });
        return this.serde.encode('lead.stage-changed.v1', record, emittedAt);
      }),
    );
    const topic = messages[0]!.topic;
    const spans: Span[] = [];
    const headersOf = (change: StageChangeRecord): Record<string, string> | undefined => {
      // Tracing off: the recorded traceparent goes on as it is (no span to make).
      if (!this.tracing.enabled)
        return change.trace === undefined ? undefined : { traceparent: change.trace };
      const parent = change.trace ? this.tracing.extract({ traceparent: change.trace }) : ROOT_CONTEXT;
      const span = this.tracing.tracer.startSpan(
        `send ${topic}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            'messaging.system': 'kafka',
            'messaging.operation.type': 'send',
            'messaging.operation.name': 'send',
            'messaging.destination.name': topic,
            'messaging.kafka.message.key': change.lead,
          },
        },
        parent,
      );
      spans.push(span);
      return this.tracing.headersOf(span);
    };
    try {
      await this.producer.send({
        topic,
        acks: -1,
        messages: messages.map((m, i) => {
          const headers = headersOf(changes[i]!);
          return headers ? { key: m.key, value: m.value, headers } : { key: m.key, value: m.value };
        }),
      });
    } catch (err) {
      for (const span of spans) span.setStatus({ code: SpanStatusCode.ERROR, message: 'BROKER_UNAVAILABLE' });
      throw new LeadScorerError('BROKER_UNAVAILABLE', `publishing stage changes: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      for (const span of spans) span.end();
    }
  }
}

/**
 * Dead letters: the original bytes to `<input>.dlq` (or the topic `topicOf` names) with headers
 * saying why and where from (libs/contracts dead-letter.ts). One path for every consumer.
 */
export class KafkaDeadLetterSink implements DeadLetterSink {
  private readonly producer: Producer;
  private readonly service: string;
  private readonly topicOf: ((sourceTopic: string) => string) | undefined;

  constructor(deps: { producer: Producer; service: string; topicOf?: (sourceTopic: string) => string }) {
    this.producer = deps.producer;
    this.service = deps.service;
    this.topicOf = deps.topicOf;
  }

  async send(letters: readonly { message: ConsumedMessage; error: unknown }[], now: number): Promise<void> {
    if (letters.length === 0) return;
    const topicMessages = letters.map(({ message, error }) => {
      const dead = deadLetterMessage(message, error, { service: this.service, now });
      return { topic: this.topicOf ? this.topicOf(message.topic) : dead.topic, messages: [dead.message] };
    });
    try {
      await this.producer.sendBatch({ acks: -1, topicMessages });
    } catch (err) {
      throw new LeadScorerError('BROKER_UNAVAILABLE', `dead-lettering: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}
