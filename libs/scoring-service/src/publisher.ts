import type { RecordedChange, ScoreStore, StageChangeSink } from '@leadscorer/core';
import type { Logger, Metrics } from '@leadscorer/runtime';

export type PublishSource = 'inline' | 'relay' | 'scheduler';

interface PublisherDeps {
  store: ScoreStore;
  sink: StageChangeSink;
  metrics: Metrics;
  clock: () => number;
  log?: Logger;
}

/**
 * Publishes recorded stage changes and only then removes them from the outbox. A crash between
 * the broker's ack and the outbox delete publishes the change again, with the same event id.
 */
export class StageChangePublisher {
  private readonly deps: PublisherDeps;

  constructor(deps: PublisherDeps) {
    this.deps = deps;
  }

  /**
   * `verify`: publish only what the outbox still holds (after a hold: what Redis lost meanwhile
   * is derived again from the events, and published then).
   */
  async publish(
    all: readonly RecordedChange[],
    source: PublishSource,
    opts: { verify?: boolean } = {},
  ): Promise<void> {
    const { store, sink, metrics, clock } = this.deps;
    let recorded = all;
    if (opts.verify && all.length > 0) {
      const present = await store.outboxHas(all);
      recorded = all.filter((_, i) => present[i]);
      if (recorded.length < all.length) {
        metrics.stageChangesWithdrawn.inc(all.length - recorded.length);
        this.deps.log?.warn(
          { withdrawn: all.length - recorded.length },
          'stage changes Redis no longer holds were not published (it went back in time); the events behind them are read again',
        );
      }
    }
    if (recorded.length === 0) return;
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

export interface BackgroundPublisherOptions {
  source: PublishSource;
  /**
   * How long after its commit a change is held before it is published, checked still in the
   * outbox: the time after which Redis cannot lose it any more (publish-hold.ts). 0 publishes at
   * once.
   */
  holdMs: number;
  /** Publishes in flight at once; beyond that, submit() waits for the oldest. */
  limit?: number;
  /** Changes held at most; beyond that, new ones are left to the relay (they are in the outbox). */
  maxHeld?: number;
}

/**
 * The services' own publishing (consumers' inline path, fading-leads), off their path: a
 * chunk's stage changes are already safe in the outbox when they are handed over, so the caller
 * goes on at once instead of waiting for the broker's ack. A publish that fails is logged and
 * left in the outbox, for the relay.
 *
 * With a hold, changes wait `holdMs` after their commit and are published only if the outbox
 * still holds them: a change is never published before Redis has made it durable, so a Redis
 * that goes back in time (a host crash under `appendfsync everysec`, a failover to a replica
 * that was behind) cannot take back a change the world has seen; the events behind it are read
 * again and derive it once more, published then, under the same id, with the only content ever
 * published for that id.
 */
export class BackgroundPublisher {
  private readonly log: Logger;
  private readonly opts: Required<BackgroundPublisherOptions>;

  /** Sets the hold once it is known (resolvePublishHold needs Redis connected). */
  setHold(ms: number): void {
    this.opts.holdMs = ms;
  }

  private readonly inflight = new Set<Promise<void>>();
  private held: { due: number; recorded: readonly RecordedChange[]; publisher: StageChangePublisher }[] = [];
  private heldCount = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(log: Logger, opts: BackgroundPublisherOptions) {
    this.log = log;
    this.opts = { limit: 16, maxHeld: 100_000, ...opts };
  }

  /**
   * `publisher`: the one of the generation of keys the changes were recorded in (its outbox is
   * where they are checked and acknowledged).
   */
  async submit(recorded: readonly RecordedChange[], publisher: StageChangePublisher): Promise<void> {
    if (recorded.length === 0) return;
    if (this.opts.holdMs === 0) {
      while (this.inflight.size >= this.opts.limit) await Promise.race(this.inflight);
      this.start(recorded, publisher, false);
      return;
    }
    if (this.heldCount + recorded.length > this.opts.maxHeld) return; // the relay publishes them
    this.held.push({ due: Date.now() + this.opts.holdMs, recorded, publisher });
    this.heldCount += recorded.length;
    this.schedule();
  }

  /** Publishes what is held now (graceful stop) and waits for every publish in flight. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.release(Number.POSITIVE_INFINITY);
    await Promise.all(this.inflight);
  }

  private schedule(): void {
    if (this.timer || this.held.length === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.release(Date.now());
        this.schedule();
      },
      Math.max(0, this.held[0]!.due - Date.now()),
    );
    this.timer.unref();
  }

  /** Publishes, in one batch per call, everything held that is due by `until`. */
  private release(until: number): void {
    let n = 0;
    while (n < this.held.length && this.held[n]!.due <= until) n++;
    if (n === 0) return;
    const due = this.held.slice(0, n);
    this.held = this.held.slice(n);
    // One batch per generation (nearly always one).
    const byPublisher = new Map<StageChangePublisher, RecordedChange[]>();
    for (const h of due) {
      this.heldCount -= h.recorded.length;
      const list = byPublisher.get(h.publisher);
      if (list) list.push(...h.recorded);
      else byPublisher.set(h.publisher, [...h.recorded]);
    }
    for (const [publisher, recorded] of byPublisher) this.start(recorded, publisher, true);
  }

  private start(recorded: readonly RecordedChange[], publisher: StageChangePublisher, verify: boolean): void {
    const p = publisher.publish(recorded, this.opts.source, { verify }).then(
      () => undefined,
      (err: unknown) => {
        this.log.warn(
          { code: (err as { code?: string }).code, reason: (err as Error).message, changes: recorded.length },
          'publish failed; the outbox relay will publish',
        );
      },
    );
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }
}
