import type { Logger } from '@leadscorer/runtime';
import type { RedisScoreStore } from '@leadscorer/store';
import type { StageChangePublisher } from './publisher.ts';

/**
 * Moves leads down (or on) when time alone changes their stage: a score fading below an exit
 * threshold, a buying-intent signal growing too old. Every apply-events call schedules the
 * lead's next such moment (the engine's closed-form nextChangeAt) in its shard's `due` set;
 * this loop polls the shards and runs advance-leads for what is due. Several instances may run:
 * advance-leads re-checks the schedule and the stage inside its atomic call, so a lead is moved
 * once whoever gets there first.
 */
export interface FadingLoopOptions {
  store: RedisScoreStore;
  publisher: StageChangePublisher;
  log: Logger;
  clock: () => number;
  pollMs: number;
  batchSize: number;
}

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
    const { store, publisher, batchSize } = this.opts;
    let moved = 0;
    for (let shard = 0; shard < store.keys.shards && !this.stopped; shard++) {
      for (;;) {
        const changes = await store.advanceDue(shard, now, batchSize);
        if (changes.length > 0) {
          await publisher.publish(changes, 'scheduler');
          moved += changes.length;
        }
        if (changes.length < batchSize) break;
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
