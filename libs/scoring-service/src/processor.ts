import { deadLetterMessage, type Serde } from '@leadscorer/contracts';
import { evaluateEvent, type Model } from '@leadscorer/engine';
import { isPoison, LeadScorerError } from '@leadscorer/errors';
import type { BatchProcessor, InboundMessage, Logger, Metrics } from '@leadscorer/runtime';
import { type ApplyItem, type RedisScoreStore, sourceId } from '@leadscorer/store';
import type { Producer } from 'kafkajs';
import type { StageChangePublisher } from './publisher.ts';

export interface ProcessorDeps {
  service: string;
  serde: Serde;
  model: Model;
  store: RedisScoreStore;
  producer: Producer;
  publisher: StageChangePublisher;
  metrics: Metrics;
  log: Logger;
  clock: () => number;
}

const TYPE_CODE: Record<string, string> = { web: 'w', email: 'e', trial: 't', profile: 'p', sales: 's' };

/**
 * Decode -> evaluate -> apply atomically in Redis -> dead-letter the poison -> publish stage
 * changes. Resolves only when every message of the chunk is applied or dead-lettered, so the
 * consumer loop may commit; throws a retryable error to have the same chunk retried (every
 * step is idempotent: offset watermarks in Redis, stable stage-change ids in Kafka).
 */
export function createScoringProcessor(deps: ProcessorDeps): BatchProcessor {
  const { serde, model, store, producer, publisher, metrics, log, clock, service } = deps;
  return async (messages: InboundMessage[]) => {
    const now = clock();
    const items: ApplyItem[] = [];
    const eventTimes: number[] = [];
    const topics: string[] = [];
    const dead: ReturnType<typeof deadLetterMessage>[] = [];
    for (const m of messages) {
      metrics.consumed.inc({ topic: m.topic });
      try {
        const decoded = await serde.decode(m.topic, m, now);
        if (!decoded.event) continue; // a topic we read but do not score (none today)
        const effect = evaluateEvent(model, decoded.event);
        items.push({
          leadId: decoded.event.leadId,
          source: sourceId(TYPE_CODE[decoded.event.type] ?? 'x', m.partition),
          offset: Number(m.offset),
          effect,
        });
        eventTimes.push(decoded.event.eventTime);
        topics.push(m.topic);
      } catch (err) {
        if (!isPoison(err)) throw err; // registry unavailable: retry; anything else: a bug
        const code = (err as LeadScorerError).code;
        metrics.deadLettered.inc({ topic: m.topic, reason: code });
        log.warn(
          { topic: m.topic, partition: m.partition, offset: m.offset, code },
          'dead-lettering message',
        );
        dead.push(deadLetterMessage(m, err, { service, now }));
      }
    }

    if (dead.length > 0) {
      try {
        await producer.sendBatch({
          acks: -1,
          topicMessages: dead.map((d) => ({ topic: d.topic, messages: [d.message] })),
        });
      } catch (err) {
        throw new LeadScorerError('BROKER_UNAVAILABLE', `dead-lettering: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    if (items.length === 0) return;

    const { outcomes, changes } = await store.applyBatch(items, now);
    const appliedAt = Date.now();
    outcomes.forEach((outcome, i) => {
      const topic = topics[i]!;
      const effect = items[i]!.effect;
      if (outcome === 'applied') {
        metrics.applied.inc({ topic });
        metrics.eventToApplied.observe({ topic }, Math.max(0, appliedAt - eventTimes[i]!) / 1000);
        for (const rule of effect.hits) metrics.ruleHits.inc({ rule });
        for (const rule of effect.fit ?? []) metrics.ruleHits.inc({ rule });
      } else if (outcome === 'filtered') {
        metrics.filtered.inc({ topic, reason: effect.filtered ?? 'unknown' });
      } else {
        metrics.deduplicated.inc({ topic, reason: outcome === 'redelivered' ? 'offset' : 'event-id' });
      }
    });
    for (const { change } of changes) metrics.transitions.inc({ from: change.from, to: change.to });
    if (changes.length > 0) {
      log.info(
        {
          changes: changes.map((c) => ({
            lead: c.change.lead,
            from: c.change.from,
            to: c.change.to,
            seq: c.change.seq,
          })),
        },
        'stage changes recorded',
      );
      // The fast path; if it fails the changes stay in the outbox and the relay publishes them.
      await publisher.publish(changes, 'inline');
    }
  };
}
