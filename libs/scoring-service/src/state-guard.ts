import { GENESIS_EPOCH, RETIRED, type ScoreStore, stateOf } from '@leadscorer/core';
import type { Logger, Metrics } from '@leadscorer/runtime';

/**
 * Notices when Redis has lost (or never had) the state a service works on, before anything is
 * applied, and refuses to go on until the state is rebuilt from history or an operator accepts
 * starting empty (`npm run state -- accept-empty`): readiness false, one clear log line,
 * `leadscorer_state_lost` 1 (an alert fires on it). Silently starting over would score every
 * lead from zero and restart their sequence numbers.
 *
 * - Every shard holds the same epoch: ok, the service works in that epoch.
 * - No shard holds one: a new deployment if the service has no history (`hasHistory`: its
 *   consumer group has committed no offset), which it then initialises with the genesis epoch;
 *   otherwise Redis lost everything.
 * - Some shards hold none or another: part of the data was lost or replaced.
 * Commits check the epoch too (lua/commit.lua), so a loss while running is caught by the next
 * commit, which calls `lost()`.
 */
export interface StateGuardOptions {
  /** The store of the active generation of keys. */
  store: () => ScoreStore;
  log: Logger;
  metrics: Metrics;
  /** Whether this service has applied events before (committed offsets); undefined: never initialise. */
  hasHistory?: () => Promise<boolean>;
  /** The active generation's number: an epoch read in another generation is not used. */
  generation?: () => number;
  pollMs?: number;
}

export class StateGuard {
  private readonly opts: StateGuardOptions;
  private current: string | undefined;
  private checkedIn: number | undefined;
  private problem: string | undefined;
  private waiting: Promise<string> | undefined;
  private stopped = false;

  constructor(opts: StateGuardOptions) {
    this.opts = opts;
  }

  /**
   * The epoch to work in; undefined while the state is not usable, and after a switch to another
   * generation of keys until it is checked there.
   */
  get epoch(): string | undefined {
    return this.checkedIn === this.opts.generation?.() ? this.current : undefined;
  }

  ok(): boolean {
    return this.current !== undefined;
  }

  /** Checks the store once; returns the epoch, or undefined with the problem logged. */
  async check(): Promise<string | undefined> {
    const generation = this.opts.generation?.();
    const status = stateOf(await this.opts.store().epochs());
    this.checkedIn = generation;
    let problem: string | undefined;
    if (status.kind === 'ok' && status.epoch.startsWith(RETIRED)) {
      // A rescore retired this generation and is about to switch to the next: wait for it.
      this.current = undefined;
      return undefined;
    }
    if (status.kind === 'ok') {
      this.settle(status.epoch);
      return status.epoch;
    }
    if (status.kind === 'empty') {
      if (this.opts.hasHistory && !(await this.opts.hasHistory())) {
        await this.opts.store().initialize(GENESIS_EPOCH, false);
        this.opts.log.info('new deployment: Redis state initialised');
        return this.check();
      }
      problem = this.opts.hasHistory
        ? 'Redis holds no lead-scorer state for this key prefix, but this consumer group has applied events before: Redis lost its data or is another Redis'
        : 'Redis holds no lead-scorer state for this key prefix yet (the consumer services create it on their first start)';
    } else {
      const missing = status.epochs.filter((e) => e === null).length;
      problem = `${missing} of ${status.epochs.length} Redis shards hold no state or another state epoch: part of the data was lost or replaced`;
    }
    this.refuse(problem);
    return undefined;
  }

  /** A commit found the epoch gone: stop applying until the state is usable again. */
  lost(reason: string): void {
    this.refuse(reason);
  }

  /** Resolves with the epoch once the state is usable, checking every `pollMs`. */
  waitUntilOk(): Promise<string> {
    const epoch = this.epoch;
    if (epoch !== undefined) return Promise.resolve(epoch);
    this.waiting ??= (async () => {
      for (;;) {
        const epoch = await this.check().catch((err: unknown) => {
          this.opts.log.warn({ err }, 'could not read the Redis state epochs; will retry');
          return undefined;
        });
        if (epoch !== undefined) return epoch;
        if (this.stopped) throw new Error('stopped');
        await new Promise((r) => setTimeout(r, this.opts.pollMs ?? 5_000));
      }
    })().finally(() => {
      this.waiting = undefined;
    });
    return this.waiting;
  }

  stop(): void {
    this.stopped = true;
  }

  private refuse(problem: string): void {
    this.current = undefined;
    this.opts.metrics.stateLost.set(1);
    if (problem !== this.problem) {
      this.problem = problem;
      this.opts.log.error(
        { problem },
        'refusing to apply events: rebuild the state from history (npm run rescore) or accept starting empty (npm run state -- accept-empty); see deploy/README.md#leadscorerstatelost',
      );
    }
  }

  private settle(epoch: string): void {
    if (this.problem !== undefined) this.opts.log.info({ epoch }, 'Redis state usable again');
    this.problem = undefined;
    this.current = epoch;
    this.opts.metrics.stateLost.set(0);
  }
}
