import type { Catalogue } from '@leadscorer/contracts';
import { type ErasedLead, leadHash } from '@leadscorer/core';
import type { Logger, RedisClient } from '@leadscorer/runtime';
import { eraseLeadKeys, type IndexLayout, indexLayoutOf, SHARDS } from '@leadscorer/store';
import type { Producer } from 'kafkajs';
import { generationModel, generationPrefix, readGeneration } from './generation.ts';
import { Poll } from './poll.ts';

/**
 * Erasure of a lead (right to erasure, docs/erasure.md). Three ways in, one way through:
 * `npm run erase -- <leadId>`, a request on `lead.erasure-requests.v1`, and a tombstone on the
 * compacted `lead.profile.v1` (lead-context reads both topics). Each:
 *  1. adds the id's hash to the erased list, `<REDIS_KEY_PREFIX>#erased` (hash -> when), which
 *     every consumer service follows (ErasedLeads) and drops the lead's later events by;
 *  2. removes the lead's record, schedule entry, query index entries and waiting stage changes
 *     and snapshots from the active generation of keys and from the next one (a rescore's, if one
 *     runs), atomically per generation, and queues a `lead.stage.v1` tombstone behind them (the
 *     outbox relay's snapshot writer sends it in order);
 *  3. writes a tombstone for the lead on `lead.profile.v1` (unless that tombstone is what asked):
 *     compaction then drops the lead's profile, and the archiver drops the lead's records from
 *     the history archive when it reads it;
 *  4. after `sweepAfterMs` (two polls of the erased list by the services and a margin), removes
 *     again whatever an event already in flight at step 1 wrote since;
 *  5. appends an audit record to `<REDIS_KEY_PREFIX>#erasures` (stream) holding the hash, the
 *     time, how the erasure was asked for and what it removed; never the id.
 * Idempotent: erasing again does the same and finds nothing.
 */
export type ErasureSource = 'cli' | 'request' | 'profile-tombstone';

export function erasedKey(base: string): string {
  return `${base}#erased`;
}

export function erasureAuditKey(base: string): string {
  return `${base}#erasures`;
}

export interface ErasureDeps {
  redis: RedisClient;
  /** REDIS_KEY_PREFIX. */
  base: string;
  producer: Producer;
  catalogue: Catalogue;
  log: Logger;
  /** How long a lead's later events are dropped (ERASURE_SUPPRESS_DAYS). */
  suppressMs: number;
  /** When to look again for what an event in flight wrote (0: not at all). */
  sweepAfterMs: number;
  /** The query indexes of MODEL_FILE's model, for a deployment with no generation record yet. */
  layout?: IndexLayout;
}

export interface ErasureResult {
  leadHash: string;
  /** Whether the lead was on the erased list already (an erasure repeated, or its own tombstone). */
  repeated: boolean;
  /** What was removed, over every generation and both sweeps. */
  removed: ErasedLead;
}

export async function eraseLead(
  d: ErasureDeps,
  leadId: string,
  how: { source: ErasureSource; requestedBy?: string | null },
): Promise<ErasureResult> {
  const hash = leadHash(leadId);
  const now = Date.now();
  const list = erasedKey(d.base);
  const repeated = (await d.redis.zscore(list, hash)) !== null;
  await d.redis.zadd(list, now, hash);
  const removed = await removeEverywhere(d, leadId);
  if (how.source !== 'profile-tombstone') {
    const profile = d.catalogue.get('lead.profile.v1').topic;
    await d.producer.send({ topic: profile, acks: -1, messages: [{ key: leadId, value: null }] });
  }
  if (d.sweepAfterMs > 0) {
    await new Promise((r) => setTimeout(r, d.sweepAfterMs));
    add(removed, await removeEverywhere(d, leadId));
  }
  // The lead's own tombstone, read back after a CLI or topic erasure, erases again (cheap, and
  // it catches a straggler) but is not a new erasure for the audit.
  if (!(repeated && how.source === 'profile-tombstone')) {
    await d.redis.xadd(
      erasureAuditKey(d.base),
      '*',
      'lead',
      hash,
      'at',
      String(now),
      'source',
      how.source,
      'by',
      how.requestedBy ?? '',
      'record',
      removed.record ? '1' : '0',
      'outbox',
      String(removed.outboxEntries),
    );
  }
  // The list only needs to outlive the lead's events on the input topics.
  await d.redis.zremrangebyscore(list, '-inf', now - d.suppressMs);
  d.log.info(
    { leadHash: hash, source: how.source, repeated, record: removed.record, outbox: removed.outboxEntries },
    'lead erased',
  );
  return { leadHash: hash, repeated, removed };
}

/**
 * The active generation and the next (a rescore's, while one runs; usually no keys), each with the
 * active model's query indexes (a rescore to a model with other stages erases the leads on the
 * erased list from its generation again before it switches: libs/rescore).
 */
async function removeEverywhere(d: ErasureDeps, leadId: string): Promise<ErasedLead> {
  const record = await readGeneration(d.redis, d.base);
  const active = record?.generation ?? 0;
  const layout = record ? indexLayoutOf(generationModel(record)) : d.layout;
  const total: ErasedLead = { record: false, scheduled: false, outboxEntries: 0 };
  for (const g of [active, active + 1]) {
    const keys = { prefix: generationPrefix(d.base, g), shards: SHARDS };
    // The tombstone for lead.stage.v1 is queued where the relay reads: the active generation.
    add(total, await eraseLeadKeys(d.redis, keys, leadId, layout, g === active));
  }
  return total;
}

function add(total: ErasedLead, more: ErasedLead): void {
  total.record ||= more.record;
  total.scheduled ||= more.scheduled;
  total.outboxEntries += more.outboxEntries;
}

/**
 * The erased list as a consumer service follows it: read at start, then what was added since,
 * every `pollMs` (and all of it again now and then, to forget what was pruned). `has` costs a
 * map lookup while the list is empty and one SHA-256 of the id otherwise.
 */
export class ErasedLeads {
  private readonly opts: {
    redis: RedisClient;
    base: string;
    log: Logger;
    pollMs: number;
    suppressMs: number;
  };
  private hashes = new Map<string, number>();
  private since = 0;
  private polls = 0;
  private readonly poll: Poll;

  constructor(opts: { redis: RedisClient; base: string; log: Logger; pollMs: number; suppressMs: number }) {
    this.opts = opts;
    this.poll = new Poll(
      opts.pollMs,
      () => this.refresh(),
      (err) => opts.log.debug({ err }, 'could not read the erased list; next time'),
    );
  }

  get size(): number {
    return this.hashes.size;
  }

  /** The hashes (core leadHash) of the leads erased within the suppression window. */
  hashList(): string[] {
    return [...this.hashes.keys()];
  }

  has(leadId: string): boolean {
    return this.hashes.size > 0 && this.hashes.has(leadHash(leadId));
  }

  async refresh(): Promise<void> {
    const full = this.polls++ % 60 === 0;
    // A minute of overlap: erasures are stamped with their writer's clock.
    const from = full ? 0 : Math.max(0, this.since - 60_000);
    const flat = await this.opts.redis.zrangebyscore(erasedKey(this.opts.base), from, '+inf', 'WITHSCORES');
    const next = full ? new Map<string, number>() : this.hashes;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const at = Number(flat[i + 1]);
      next.set(flat[i]!, at);
      if (at > this.since) this.since = at;
    }
    const cutoff = Date.now() - this.opts.suppressMs;
    for (const [h, at] of next) if (at < cutoff) next.delete(h);
    this.hashes = next;
  }

  start(): void {
    this.poll.start();
  }

  stop(): void {
    this.poll.stop();
  }
}
