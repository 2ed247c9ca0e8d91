import type { RecordedChange, ScoreStore, StageChangeSink } from '@leadscorer/core';
import type { Logger, Metrics } from '@leadscorer/runtime';

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

/**
 * The consumers' inline publishing, off the consumer's path: a chunk's stage changes are already
 * safe in the outbox when they are handed over, so the consumer goes on to its next fetch at once
 * instead of waiting for the broker's ack (which held up every partition of the fetch). At most
 * `limit` publishes are in flight; beyond that, submit() waits for the oldest. A publish that
 * fails is logged and left in the outbox, for the relay.
 */
export class BackgroundPublisher {
  private readonly publisher: StageChangePublisher;
  private readonly log: Logger;
  private readonly limit: number;
  private readonly inflight = new Set<Promise<void>>();

  constructor(publisher: StageChangePublisher, log: Logger, limit = 16) {
    this.publisher = publisher;
    this.log = log;
    this.limit = limit;
  }

  async submit(recorded: readonly RecordedChange[]): Promise<void> {
    while (this.inflight.size >= this.limit) await Promise.race(this.inflight);
    const p = this.publisher.publish(recorded, 'inline').then(
      () => undefined,
      (err: unknown) => {
        this.log.warn(
          { err, changes: recorded.length },
          'inline publish failed; the outbox relay will publish',
        );
      },
    );
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** Waits for every publish in flight (graceful stop). */
  async flush(): Promise<void> {
    await Promise.all(this.inflight);
  }
}
