import type { ScoreStore } from '@leadscorer/core';
import type { Logger, Metrics } from '@leadscorer/runtime';
import type { StageChangePublisher } from './publisher.ts';

/**
 * The outbox relay: publishes stage changes that the consumer's inline path did not (the
 * process died between recording and publishing, or Kafka was down). It only takes entries
 * older than `minAgeMs`, so it does not race the inline path in normal operation; if it does,
 * the duplicate carries the same event id. Several relay instances may run: each pass over a
 * shard is short and idempotent.
 */
export interface OutboxRelayOptions {
  /** The active generation's store and publisher (read at each pass). */
  current: () => { store: ScoreStore; publisher: StageChangePublisher };
  metrics: Metrics;
  log: Logger;
  intervalMs: number;
  minAgeMs: number;
  batchSize: number;
}

/** The relay's minimum age with the publish hold known: never younger than the hold. */
export function relayMinAge(minAgeMs: number, holdMs: number): number {
  return Math.max(minAgeMs, holdMs);
}

export class OutboxRelay {
  private readonly opts: OutboxRelayOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private healthy = true;

  constructor(opts: OutboxRelayOptions) {
    this.opts = opts;
  }

  /** Entries younger than this are left alone (at least the publish hold). */
  setMinAge(ms: number): void {
    this.opts.minAgeMs = ms;
  }

  start(): void {
    const tick = async (): Promise<void> => {
      this.running = this.pass()
        .then(() => undefined)
        .finally(() => {
          this.running = undefined;
        });
      await this.running;
      if (!this.stopped) this.timer = setTimeout(tick, this.opts.intervalMs);
    };
    this.timer = setTimeout(tick, 0);
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  /** One sweep over every shard; returns how many changes it published. */
  async pass(): Promise<number> {
    const { metrics, log, batchSize, minAgeMs } = this.opts;
    const { store, publisher } = this.opts.current();
    let published = 0;
    try {
      for (let shard = 0; shard < store.shards && !this.stopped; shard++) {
        for (;;) {
          const pending = await store.pendingOutbox(shard, batchSize, minAgeMs, Date.now());
          if (pending.length === 0) break;
          await publisher.publish(pending, 'relay');
          published += pending.length;
          if (pending.length < batchSize) break;
        }
      }
      metrics.outboxDepth.set(await store.outboxDepth());
      this.healthy = true;
      if (published > 0) log.info({ published }, 'relay published stage changes left in the outbox');
    } catch (err) {
      // Transient by nature (Redis or Kafka away): the next pass tries again.
      this.healthy = false;
      log.warn({ err }, 'outbox relay pass failed; will retry');
    }
    return published;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
