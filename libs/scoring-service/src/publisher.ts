import { type Catalogue, type Serde, toStageChangedRecord } from '@leadscorer/contracts';
import { transitionId } from '@leadscorer/engine';
import { LeadScorerError } from '@leadscorer/errors';
import type { Metrics } from '@leadscorer/runtime';
import type { RecordedChange, RedisScoreStore } from '@leadscorer/store';
import type { Producer } from 'kafkajs';

/**
 * Publishes recorded stage changes to lead.stage-changed and only then removes them from the
 * outbox. The event id is derived from (lead, sequence, from, to), so a change published twice
 * (a crash between the broker's ack and the outbox delete) carries the same id both times.
 */
export interface StageChangePublisher {
  publish(changes: RecordedChange[], source: 'inline' | 'relay' | 'scheduler'): Promise<void>;
}

export function createStageChangePublisher(deps: {
  producer: Producer;
  serde: Serde;
  catalogue: Catalogue;
  store: RedisScoreStore;
  metrics: Metrics;
  clock: () => number;
}): StageChangePublisher {
  const { producer, serde, store, metrics, clock } = deps;
  return {
    async publish(changes, source) {
      if (changes.length === 0) return;
      const emittedAt = clock();
      const messages = await Promise.all(
        changes.map(async ({ change }) => {
          const record = toStageChangedRecord(change, {
            leadId: change.lead,
            eventId: transitionId(change.lead, change.seq, change.from, change.to),
            emittedAt,
            modelVersion: change.modelVersion,
          });
          const m = await serde.encode('lead.stage-changed.v1', record, emittedAt);
          return { topic: m.topic, key: m.key, value: m.value };
        }),
      );
      try {
        await producer.send({
          topic: messages[0]!.topic,
          acks: -1,
          messages: messages.map((m) => ({ key: m.key, value: m.value })),
        });
      } catch (err) {
        throw new LeadScorerError(
          'BROKER_UNAVAILABLE',
          `publishing stage changes: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      const ackedAt = Date.now();
      for (const { change } of changes) {
        metrics.eventToStageChangePublished.observe(
          { to: change.to },
          Math.max(0, ackedAt - change.eventTime) / 1000,
        );
      }
      metrics.stageChangesPublished.inc({ source }, changes.length);
      await store.ackOutbox(changes);
    },
  };
}
