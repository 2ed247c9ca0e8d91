import type { RecordedChange } from '@leadscorer/core';
import { advanceDue, type ScorerOptions, type ScoreStore } from '@leadscorer/core';
import type { LeadScorerError } from '@leadscorer/errors';
import type { Logger, Metrics } from '@leadscorer/runtime';
import type { StageChangePublisher } from './publisher.ts';
import type { StateGuard } from './state-guard.ts';

/**
 * Moves leads down (or on) when time alone changes their stage: a score fading below an exit
 * threshold, a buying-intent signal growing too old. Every commit that changes a lead schedules
 * its next such moment (the engine's closed-form nextChangeAt) in its shard's due set; this loop
 * polls the shards and, for what is due, reads the leads, runs the engine's advanceTo and commits
 * with compare-and-set like any other writer (the core's advanceDue). Several instances may run:
 * a lead another writer changed meanwhile is re-read, so it is moved once, whoever gets there
 * first.
 */
export interface FadingLoopOptions {
  /** The active generation's store, scorer and publisher (read at each pass). */
  current: () => { store: ScoreStore; scorer: ScorerOptions; publisher: StageChangePublisher };
  /** Hands recorded changes to the service's BackgroundPublisher (they are in the outbox). */
  publish: (recorded: RecordedChange[], publisher: StageChangePublisher) => Promise<void>;
  metrics: Metrics;
  log: Logger;
  clock: () => number;
  pollMs: number;
  batchSize: number;
  /** Whether Redis holds the state: nothing is moved while it does not. */
  state: StateGuard;
}

const MAX_ROUNDS = 50;

export class FadingLoop {
  private readonly opts: FadingLoopOptions;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private healthy = true;
  private lastPass = 0;

  constructor(opts: FadingLoopOptions) {
    this.opts = opts;
  }

  start(): void {
    this.loop = this.run();
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  /** Epoch ms of the last completed pass: the liveness probe checks it moves. */
  lastPassAt(): number {
    return this.lastPass;
  }

  /** One pass over every shard at `now`; returns how many leads changed stage. */
  async pass(now: number): Promise<number> {
    const { publish, batchSize, state } = this.opts;
    const { store, scorer, publisher } = this.opts.current();
    const epoch = state.epoch ?? (await state.check());
    if (epoch === undefined) throw new Error('the Redis state is not usable (see the state log line)');
    const guard = { epoch };
    let moved = 0;
    for (let shard = 0; shard < store.shards && !this.stopped; shard++) {
      // Bounded per pass: a lead rescheduled at `now` again would otherwise be taken forever.
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const { leads, recorded } = await advanceDue(store, shard, now, batchSize, scorer, guard).catch(
          (err: unknown) => {
            if ((err as LeadScorerError).code === 'STATE_LOST') state.lost((err as Error).message);
            throw err;
          },
        );
        if (recorded.length > 0) {
          for (const { change } of recorded)
            this.opts.metrics.transitions.inc({ from: change.from, to: change.to });
          await publish(recorded, publisher);
          moved += recorded.length;
        }
        if (leads < batchSize) break;
      }
    }
    return moved;
  }

  private async run(): Promise<void> {
    const { log, clock, pollMs } = this.opts;
    while (!this.stopped) {
      const started = Date.now();
      try {
        const moved = await this.pass(clock());
        if (moved > 0) log.info({ moved }, 'moved leads whose time had come');
        this.healthy = true;
        this.lastPass = Date.now();
      } catch (err) {
        // Redis or Kafka away: what is due stays due and is picked up by the next pass.
        this.healthy = false;
        log.warn({ err }, 'fading pass failed; will retry');
      }
      const wait = Math.max(0, pollMs - (Date.now() - started));
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
