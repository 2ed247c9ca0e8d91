import type { EventEffect, LeadState, Model, StageTransition } from '@leadscorer/engine';
import type { Cluster, Redis } from 'ioredis';
import { redisError } from './errors.ts';
import { dueKey, type KeySpace, leadKey, outboxKey, rulesKey, shardOf } from './keys.ts';
import { compileLuaModel } from './script-model.ts';
import {
  buildLibrary,
  isCluster,
  isFunctionMissing,
  loadLibrary,
  type ScriptLibrary,
  type ScriptName,
} from './scripts.ts';
import { decodeStoredLead, type HistoryEntry, type StoredLead } from './state-codec.ts';

/** One event to apply: the effect the engine evaluated, and where it came from in Kafka. */
export interface ApplyItem {
  leadId: string;
  /** Offset-watermark source, e.g. "w3" (see keys.ts sourceId). */
  source: string;
  offset: number;
  effect: EventEffect;
}

export type ApplyOutcome = 'applied' | 'redelivered' | 'duplicate' | 'filtered';

/** A stage change as recorded in the outbox: the engine's transition plus who and when. */
export interface StageChangeRecord extends StageTransition {
  lead: string;
  modelVersion: string;
  /** Evaluation time (the `now` the change was decided at). */
  at: number;
}

export interface RecordedChange {
  shard: number;
  /** Outbox stream entry id: acknowledge it once Kafka has the change. */
  outboxId: string;
  change: StageChangeRecord;
}

export interface ApplyBatchResult {
  /** Aligned with the input items. */
  outcomes: ApplyOutcome[];
  changes: RecordedChange[];
}

export interface ScoreStoreOptions {
  client: Redis | Cluster;
  keys: KeySpace;
  model: Model;
  historyLength: number;
  /** Events per script call: bounds how long one call holds Redis. */
  maxEventsPerCall?: number;
  /** Observes each script round trip (for the redis script latency histogram). */
  observe?: (script: string, seconds: number) => void;
}

const OUTCOME: Record<string, ApplyOutcome> = {
  a: 'applied',
  o: 'redelivered',
  d: 'duplicate',
  f: 'filtered',
};

/**
 * The Redis adapter of the scoring core: every state change is one atomic Lua call
 * (apply-events.lua / advance-leads.lua); reads decode the stored state for the engine. On a
 * single Redis a call takes up to `maxEventsPerCall` events of any shards: at live rates, when
 * a fetch brings a few events, that is one call per fetch instead of one per event. On Redis
 * Cluster a call takes one shard's events, since all its keys must share a hash slot.
 */
export class RedisScoreStore {
  private readonly opts: ScoreStoreOptions;
  private readonly maxPerCall: number;
  private positions: Promise<RulePositions> | undefined;
  private loading: Promise<ScriptLibrary> | undefined;

  constructor(opts: ScoreStoreOptions) {
    this.opts = opts;
    this.maxPerCall = opts.maxEventsPerCall ?? 200;
  }

  /** The rule position registry, read (and extended by this model's new rules) once. */
  private rulePositions(): Promise<RulePositions> {
    this.positions ??= registerRules(this.opts.client, this.opts.keys, this.opts.model).catch(
      (err: unknown) => {
        this.positions = undefined;
        throw redisError(err, 'rule positions');
      },
    );
    return this.positions;
  }

  /** Loads this model's function library; concurrent callers share one load. */
  private load(): Promise<ScriptLibrary> {
    this.loading ??= (async () => {
      const { byId } = await this.rulePositions();
      const lib = buildLibrary(compileLuaModel(this.opts.model, byId));
      await loadLibrary(this.opts.client, lib);
      return lib;
    })().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  /** FCALL, loading the library first and again if Redis lost it (restart, failover). */
  private async fcall(script: ScriptName, keys: string[], args: (string | number)[]): Promise<unknown[]> {
    const lib = await this.load();
    const call = () => this.opts.client.fcall(lib.functions[script], keys.length, ...keys, ...args);
    try {
      return (await call()) as unknown[];
    } catch (err) {
      if (!isFunctionMissing(err)) throw err;
      this.loading = undefined;
      await this.load();
      return (await call()) as unknown[];
    }
  }

  get keys(): KeySpace {
    return this.opts.keys;
  }

  async applyBatch(items: ApplyItem[], now: number): Promise<ApplyBatchResult> {
    const { keys, client } = this.opts;
    // Item positions per call, each list in input (partition) order.
    const groups: number[][] = [];
    if (isCluster(client)) {
      const byShard = new Map<number, number[]>();
      items.forEach((item, idx) => {
        const shard = shardOf(item.leadId, keys.shards);
        const list = byShard.get(shard);
        if (list) list.push(idx);
        else byShard.set(shard, [idx]);
      });
      groups.push(...byShard.values());
    } else {
      groups.push(items.map((_, idx) => idx));
    }
    const calls: number[][] = [];
    for (const idxs of groups) {
      for (let i = 0; i < idxs.length; i += this.maxPerCall) calls.push(idxs.slice(i, i + this.maxPerCall));
    }
    const outcomes = new Array<ApplyOutcome>(items.length);
    const started = performance.now();
    const replies = await Promise.all(calls.map((idxs) => this.callApply(idxs, items, now))).catch(
      (err: unknown) => {
        throw redisError(err, 'apply-events');
      },
    );
    this.opts.observe?.('apply-events', (performance.now() - started) / 1000);
    const changes: RecordedChange[] = [];
    replies.forEach((reply, n) => {
      const codes = String(reply[0]);
      calls[n]!.forEach((idx, k) => {
        outcomes[idx] = OUTCOME[codes[k]!]!;
      });
      changes.push(...parseChanges(reply, 1, keys.shards));
    });
    return { outcomes, changes };
  }

  private callApply(idxs: number[], items: ApplyItem[], now: number): Promise<unknown[]> {
    const { keys, historyLength } = this.opts;
    const shardSlot = new Map<number, number>();
    const shardKeys: string[] = [];
    const leadIndex = new Map<string, number>();
    const leads: [string, number][] = [];
    const leadKeys: string[] = [];
    const events = idxs.map((idx) => {
      const item = items[idx]!;
      let i = leadIndex.get(item.leadId);
      if (i === undefined) {
        const shard = shardOf(item.leadId, keys.shards);
        let slot = shardSlot.get(shard);
        if (slot === undefined) {
          slot = shardSlot.size + 1;
          shardSlot.set(shard, slot);
          shardKeys.push(outboxKey(keys, shard), dueKey(keys, shard));
        }
        i = leadIndex.size + 1;
        leadIndex.set(item.leadId, i);
        leads.push([item.leadId, slot]);
        leadKeys.push(leadKey(keys, item.leadId));
      }
      return [i, item.source, item.offset, item.effect];
    });
    const arg = JSON.stringify({ l: leads, e: events });
    return this.fcall('apply', [...shardKeys, ...leadKeys], [now, arg, historyLength, shardSlot.size]);
  }

  /** Moves this shard's leads whose scheduled time has come; returns the recorded changes. */
  async advanceDue(shard: number, now: number, limit: number): Promise<RecordedChange[]> {
    const { keys, client, historyLength } = this.opts;
    try {
      const due = await client.zrangebyscore(dueKey(keys, shard), '-inf', now, 'LIMIT', 0, limit);
      if (due.length === 0) return [];
      const keyArgs = [outboxKey(keys, shard), dueKey(keys, shard)];
      for (const id of due) keyArgs.push(leadKey(keys, id));
      const started = performance.now();
      const reply = await this.fcall('advance', keyArgs, [now, JSON.stringify(due), historyLength]);
      this.opts.observe?.('advance-leads', (performance.now() - started) / 1000);
      return parseChanges(reply, 1, keys.shards);
    } catch (err) {
      throw redisError(err, 'advance-leads');
    }
  }

  /** The earliest scheduled time-driven change of a shard, or undefined when none is scheduled. */
  async nextDue(shard: number): Promise<number | undefined> {
    try {
      const first = await this.opts.client.zrange(dueKey(this.opts.keys, shard), 0, 0, 'WITHSCORES');
      return first.length === 2 ? Number(first[1]) : undefined;
    } catch (err) {
      throw redisError(err, 'due');
    }
  }

  /** The lead's stored state, offsets and recent stage changes (newest first), if it has any. */
  async readLead(leadId: string): Promise<{ stored: StoredLead; history: HistoryEntry[] } | undefined> {
    const { keys, client } = this.opts;
    let raw: Buffer | null;
    try {
      raw = await client.getBuffer(leadKey(keys, leadId));
    } catch (err) {
      throw redisError(err, 'read lead');
    }
    if (!raw) return undefined;
    const { byPosition } = await this.rulePositions();
    const stored = decodeStoredLead(raw, this.opts.model, byPosition);
    return { stored, history: stored.history };
  }

  /** Outbox entries of a shard recorded at least `minAgeMs` ago (by Redis's clock), oldest first. */
  async pendingOutbox(
    shard: number,
    count: number,
    minAgeMs = 0,
    now = Date.now(),
  ): Promise<RecordedChange[]> {
    try {
      const end = minAgeMs > 0 ? String(Math.max(0, now - minAgeMs)) : '+';
      const entries = await this.opts.client.xrange(
        outboxKey(this.opts.keys, shard),
        '-',
        end,
        'COUNT',
        count,
      );
      return entries.map(([id, fields]) => ({
        shard,
        outboxId: id,
        change: JSON.parse(fields[fields.indexOf('t') + 1]!) as StageChangeRecord,
      }));
    } catch (err) {
      throw redisError(err, 'outbox read');
    }
  }

  /** Removes published entries; only ever called after Kafka acknowledged them. */
  async ackOutbox(changes: RecordedChange[]): Promise<void> {
    const byShard = new Map<number, string[]>();
    for (const c of changes) byShard.set(c.shard, [...(byShard.get(c.shard) ?? []), c.outboxId]);
    try {
      await Promise.all(
        [...byShard].map(([shard, ids]) => this.opts.client.xdel(outboxKey(this.opts.keys, shard), ...ids)),
      );
    } catch (err) {
      throw redisError(err, 'outbox ack');
    }
  }

  async outboxDepth(): Promise<number> {
    const { keys, client } = this.opts;
    try {
      const lens = await Promise.all(
        Array.from({ length: keys.shards }, (_, s) => client.xlen(outboxKey(keys, s))),
      );
      return lens.reduce((a, b) => a + b, 0);
    } catch (err) {
      throw redisError(err, 'outbox depth');
    }
  }
}

/**
 * Stored states name rules by a small position instead of their id (most of a lead's bytes
 * are per-rule data). Positions come from a registry in Redis (`<prefix>:rules`, rule id ->
 * position), never from the model file's order: a rule keeps its position for good, so a new
 * model may add, drop and reorder rules without any stored state changing meaning. A new rule
 * gets the next free position when the first service with that model starts.
 */
export interface RulePositions {
  byId: ReadonlyMap<string, number>;
  /** Every registered rule, including those the current model no longer has. */
  byPosition: ReadonlyMap<number, string>;
}

const REGISTER_RULES = `
local n = redis.call('HLEN', KEYS[1])
for _, id in ipairs(ARGV) do
  if redis.call('HSETNX', KEYS[1], id, n + 1) == 1 then n = n + 1 end
end
return redis.call('HGETALL', KEYS[1])`;

async function registerRules(client: Redis | Cluster, keys: KeySpace, model: Model): Promise<RulePositions> {
  const flat = (await client.eval(
    REGISTER_RULES,
    1,
    rulesKey(keys),
    ...model.rules.map((r) => r.id),
  )) as string[];
  const byId = new Map<string, number>();
  const byPosition = new Map<number, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    byId.set(flat[i]!, Number(flat[i + 1]));
    byPosition.set(Number(flat[i + 1]), flat[i]!);
  }
  return { byId, byPosition };
}

function parseChanges(reply: unknown[], from: number, shards: number): RecordedChange[] {
  const out: RecordedChange[] = [];
  for (let i = from; i + 1 < reply.length; i += 2) {
    const change = JSON.parse(String(reply[i + 1])) as StageChangeRecord;
    out.push({ shard: shardOf(change.lead, shards), outboxId: String(reply[i]), change });
  }
  return out;
}

export type { LeadState };
