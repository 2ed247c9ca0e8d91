import type { RecordedChange, ScoreStore, StageChangeSink } from '@leadscorer/core';
import type { Metrics } from '@leadscorer/runtime';

export type PublishSource = 'inline' | 'relay' | 'scheduler';

/**
 * Publishes recorded stage changes and only then removes them from the outbox. A crash between
 * the broker's ack and the outbox delete publishes the change again, with the same event id.
 */
export class StageChangePublisher {
  private readonly deps: { store: ScoreStore; sink: StageChangeSink; metrics: Metrics; clock: () => number };

  constructor(deps: { store: ScoreStore; sink: StageChangeSink; metrics: Metrics; clock: () => number }) {
    this.deps = deps;
  }

  async publish(recorded: readonly RecordedChange[], source: PublishSource): Promise<void> {
    if (recorded.length === 0) return;
    const { store, sink, metrics, clock } = this.deps;
    await sink.send(
      recorded.map((r) => r.change),
      clock(),
    );
    const ackedAt = Date.now();
    for (const { change } of recorded) {
      metrics.eventToStageChangePublished.observe(
        { to: change.to },
        Math.max(0, ackedAt - change.eventTime) / 1000,
      );
    }
    metrics.stageChangesPublished.inc({ source }, recorded.length);
    await store.ackOutbox(recorded);
  }
}
