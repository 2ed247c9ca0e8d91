import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LeadScorerError } from '@leadscorer/errors';
import type { RedisClient } from '@leadscorer/runtime';

/**
 * The durable delivery queue of one subscriber, in Redis. The consumer records a job and its
 * Kafka offset is committed; delivery loops (deliverer.ts) take due jobs from here. Keys, all
 * with the subscriber's hash tag so one script reaches them on one Redis Cluster slot:
 *
 *   <prefix>:alerts:{<subscriber>}:due           ZSET  event id -> due time (ms)
 *   <prefix>:alerts:{<subscriber>}:jobs          HASH  event id -> job (JSON)
 *   <prefix>:alerts:{<subscriber>}:attempts      HASH  event id -> attempts started
 *   <prefix>:alerts:{<subscriber>}:errors        HASH  event id -> last attempt's error
 *   <prefix>:alerts:{<subscriber>}:seen:<event>  STRING 'q' queued or delivered, 'd' dead-lettered;
 *                                                expires after DEDUPE_TTL_SECONDS (bounded memory)
 *
 * A job lives only while it is pending: delivered or dead-lettered, its entries go and only the
 * expiring mark stays.
 */
export interface Job {
  /** The webhook body: the stage change as JSON. */
  body: string;
  leadId: string;
  toStage: string;
  /**
   * W3C `traceparent` of the span that queued it (from the stage change's Kafka header): the
   * webhook request continues that trace. Absent when the change carried none.
   */
  traceparent?: string;
  /** The Kafka message it came from, for the dead letter (original bytes, base64). */
  source: {
    topic: string;
    partition: number;
    offset: string;
    timestamp: string;
    key: string | null;
    value: string | null;
  };
}

export interface Claimed {
  id: string;
  job: Job;
  /** Attempts started on this job so far, this one included. */
  attempts: number;
}

const LUA = join(import.meta.dirname, 'lua');
const COMMANDS = {
  enqueue: { command: 'leadscorerAlertsEnqueue', file: 'enqueue-3.lua' },
  claim: { command: 'leadscorerAlertsClaim', file: 'claim-3.lua' },
} as const;
type Call = (numKeys: number, ...args: (string | number)[]) => Promise<unknown>;

export class DeliveryQueue {
  readonly subscriber: string;
  private readonly redis: RedisClient;
  private readonly base: string;
  private readonly dedupeTtlMs: number;
  private readonly call: Record<keyof typeof COMMANDS, Call>;

  constructor(o: { redis: RedisClient; prefix: string; subscriber: string; dedupeTtlMs: number }) {
    this.redis = o.redis;
    this.subscriber = o.subscriber;
    this.base = `${o.prefix}:alerts:{${o.subscriber}}`;
    this.dedupeTtlMs = o.dedupeTtlMs;
    const call = {} as Record<keyof typeof COMMANDS, Call>;
    for (const [name, { command, file }] of Object.entries(COMMANDS) as [
      keyof typeof COMMANDS,
      { command: string; file: string },
    ][]) {
      // EVALSHA with an EVAL fallback on NOSCRIPT (ioredis does it for defined commands).
      if (!(command in o.redis))
        o.redis.defineCommand(command, { lua: readFileSync(join(LUA, file), 'utf8') });
      const fn = (o.redis as unknown as Record<string, Call>)[command]!;
      call[name] = (...args) => fn.apply(o.redis, args);
    }
    this.call = call;
  }

  key(part: 'due' | 'jobs' | 'attempts' | 'errors'): string {
    return `${this.base}:${part}`;
  }

  private seen(id: string): string {
    return `${this.base}:seen:${id}`;
  }

  /** Queues the job unless this event id was seen within the dedupe TTL. True when queued. */
  async enqueue(id: string, job: Job, now: number, replay: boolean): Promise<boolean> {
    const r = await this.guard('queueing a delivery', () =>
      this.call.enqueue(
        3,
        this.seen(id),
        this.key('jobs'),
        this.key('due'),
        id,
        JSON.stringify(job),
        now,
        this.dedupeTtlMs,
        replay ? '1' : '0',
      ),
    );
    return r === 1;
  }

  /** Takes up to `limit` due jobs, each leased for `leaseMs`; also answers the queue's depth. */
  async claim(now: number, leaseMs: number, limit: number): Promise<{ depth: number; jobs: Claimed[] }> {
    const r = (await this.guard('claiming deliveries', () =>
      this.call.claim(3, this.key('due'), this.key('jobs'), this.key('attempts'), now, leaseMs, limit),
    )) as (string | number)[];
    const jobs: Claimed[] = [];
    for (let i = 1; i + 2 < r.length; i += 3) {
      jobs.push({ id: String(r[i]), job: JSON.parse(String(r[i + 1])) as Job, attempts: Number(r[i + 2]) });
    }
    return { depth: Number(r[0]), jobs };
  }

  /** Puts a failed job back, due at `at` (only if it is still pending). */
  async retryAt(id: string, at: number, error: string): Promise<void> {
    await this.guard('rescheduling a delivery', async () => {
      failed(
        await this.redis
          .multi()
          .zadd(this.key('due'), 'XX', at, id)
          .hset(this.key('errors'), id, error)
          .exec(),
      );
    });
  }

  async lastError(id: string): Promise<string | null> {
    return this.guard('reading a delivery error', () => this.redis.hget(this.key('errors'), id));
  }

  /** Removes a finished job; a dead-lettered one keeps a 'd' mark so only a replay re-queues it. */
  async finish(id: string, how: 'delivered' | 'dead-lettered'): Promise<void> {
    await this.guard('finishing a delivery', async () => {
      const tx = this.redis
        .multi()
        .zrem(this.key('due'), id)
        .hdel(this.key('jobs'), id)
        .hdel(this.key('attempts'), id)
        .hdel(this.key('errors'), id);
      if (how === 'dead-lettered') tx.set(this.seen(id), 'd', 'KEEPTTL', 'XX');
      failed(await tx.exec());
    });
  }

  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new LeadScorerError(
        'REDIS_UNAVAILABLE',
        `${what} (subscriber ${this.subscriber}): ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
}

/** MULTI answers each command's error in its result instead of rejecting: surface the first. */
function failed(results: [Error | null, unknown][] | null): void {
  if (results === null) throw new Error('transaction aborted');
  const err = results.find(([e]) => e)?.[0];
  if (err) throw err;
}
