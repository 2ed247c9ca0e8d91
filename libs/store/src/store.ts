import {
  type CommitGuard,
  type CommitResult,
  type ErasedLead,
  indexEntry,
  type LeadRecord,
  type LeadWrite,
  listedStages,
  type PartitionGuard,
  type Position,
  PositionMarks,
  parsePosition,
  RETIRED,
  type RecordedChange,
  type ScoreStore,
  type StageChangeRecord,
  type StateEpochs,
  type StoredLead,
  type StoreVersion,
} from '@leadscorer/core';
import type { Model } from '@leadscorer/engine';
import { LeadScorerError } from '@leadscorer/errors';
import type { Cluster, Redis } from 'ioredis';
import { decodeRecord, encodeRecord } from './codec.ts';
import { redisError } from './errors.ts';
import {
  dueKey,
  ENTERED,
  type KeySpace,
  leadKey,
  namesKey,
  outboxKey,
  queryKey,
  shardOf,
  snapshotKey,
  snapshotLeaseKey,
  stateKey,
  updatedKey,
} from './keys.ts';
import { modelNames, NameTable, nameField, UnknownName } from './names.ts';
import { defineScripts, isCluster, type Scripts } from './scripts.ts';

export interface RedisScoreStoreOptions {
  client: Redis | Cluster;
  keys: KeySpace;
  model: Model;
  /** Leads per commit call: bounds how long one call holds Redis. Default 1000. */
  maxLeadsPerCall?: number;
  /** Observes each round trip (for the Redis latency histogram): 'read' or 'commit'. */
  observe?: (operation: 'read' | 'commit', seconds: number) => void;
}

/**
 * The Redis adapter of the ScoreStore port. A lead is one string (codec.ts); reading a chunk's
 * leads is one MGET (per shard on Redis Cluster); committing is one call of lua/commit.lua (per
 * shard on Redis Cluster, whose keys must share a slot), which writes each lead only if its
 * stored bytes are still the ones read. The version of a lead is therefore its bytes: no counter
 * to store, and nothing can change a record unnoticed.
 */
export class RedisScoreStore implements ScoreStore {
  readonly shards: number;
  private readonly opts: RedisScoreStoreOptions;
  private readonly scripts: Scripts;
  private readonly maxPerCall: number;
  private table: Promise<NameTable> | undefined;
  private readonly marks = new PositionMarks();

  constructor(opts: RedisScoreStoreOptions) {
    this.opts = opts;
    this.shards = opts.keys.shards;
    this.scripts = defineScripts(opts.client);
    this.maxPerCall = opts.maxLeadsPerCall ?? 1000;
    // A Redis that restarted may have come back without names registered just before (a
    // rollback) or be another one (a failover): read the registry again before the next use.
    opts.client.on('ready', () => {
      this.table = undefined;
    });
  }

  get keys(): KeySpace {
    return this.opts.keys;
  }

  /** What the query indexes hold under this model (commitCall's `layout`). */
  get indexLayout(): IndexLayout {
    return indexLayoutOf(this.opts.model);
  }

  /** The name registry, read (and extended by this model's new names) once; `fresh` re-reads it. */
  names(fresh = false): Promise<NameTable> {
    if (fresh) this.table = undefined;
    this.table ??= this.scripts
      .registerNames(1, namesKey(this.opts.keys), ...modelNames(this.opts.model))
      .then((flat) => new NameTable(flat as string[], this.opts.model))
      .catch((err: unknown) => {
        this.table = undefined;
        throw redisError(err, 'name registry');
      });
    return this.table;
  }

  /**
   * The registry, with every offset source the writes' records name: a source (an input topic's
   * partition) is registered the first time a record from it is written.
   */
  async namesFor(writes: readonly LeadWrite[]): Promise<NameTable> {
    const names = await this.names();
    const missing = new Set<string>();
    for (const w of writes) {
      if (!w.record) continue;
      for (const source of w.record.offsets.keys()) if (!names.has('source', source)) missing.add(source);
    }
    if (missing.size === 0) return names;
    const table = this.scripts
      .registerNames(1, namesKey(this.opts.keys), ...[...missing].map((s) => nameField('source', s)))
      .then((flat) => new NameTable(flat as string[], this.opts.model))
      .catch((err: unknown) => {
        throw redisError(err, 'name registry');
      });
    this.table = table;
    return table;
  }

  async read(leadIds: readonly string[]): Promise<Map<string, StoredLead>> {
    const { client, keys } = this.opts;
    let names = await this.names();
    const started = performance.now();
    const groups = isCluster(client) ? groupByShard(leadIds, keys.shards) : [leadIds];
    let replies: (Buffer | null)[][];
    try {
      replies = await Promise.all(
        groups.map((ids) => client.mgetBuffer(...ids.map((id) => leadKey(keys, id)))),
      );
    } catch (err) {
      throw redisError(err, 'read leads');
    }
    this.opts.observe?.('read', (performance.now() - started) / 1000);
    const out = new Map<string, StoredLead>();
    for (let g = 0; g < groups.length; g++) {
      const ids = groups[g]!;
      const raws = replies[g]!;
      for (let i = 0; i < ids.length; i++) {
        const raw = raws[i];
        if (!raw) continue;
        let record: StoredLead['record'];
        try {
          record = decodeRecord(raw, this.opts.model, names);
        } catch (err) {
          if (!(err instanceof UnknownName)) throw err;
          // Another service registered names after we read the registry: read it again once.
          names = await this.names(true);
          record = decodeRecord(raw, this.opts.model, names);
        }
        out.set(ids[i]!, { record, version: raw as unknown as StoreVersion });
      }
    }
    return out;
  }

  async commit(writes: readonly LeadWrite[], now: number, guard?: CommitGuard): Promise<CommitResult> {
    const partition = guard?.partition;
    if (writes.length === 0 && !partition?.allShards) return { conflicts: [], recorded: [] };
    const { client, keys } = this.opts;
    const names = await this.namesFor(writes);
    // Each call: some writes and the shards it covers (on Redis Cluster one shard per call).
    const calls: { writes: readonly LeadWrite[]; shards: number[] }[] = [];
    const all = Array.from({ length: keys.shards }, (_, i) => i);
    if (isCluster(client)) {
      const byShard = new Map<number, LeadWrite[]>();
      for (const w of writes) {
        const shard = shardOf(w.leadId, keys.shards);
        const list = byShard.get(shard);
        if (list) list.push(w);
        else byShard.set(shard, [w]);
      }
      if (partition?.allShards) for (const shard of all) if (!byShard.has(shard)) byShard.set(shard, []);
      for (const [shard, list] of byShard) {
        for (let i = 0; i === 0 || i < list.length; i += this.maxPerCall) {
          calls.push({ writes: list.slice(i, i + this.maxPerCall), shards: [shard] });
        }
      }
    } else {
      for (let i = 0; i === 0 || i < writes.length; i += this.maxPerCall) {
        const part = writes.slice(i, i + this.maxPerCall);
        const shards = i === 0 && partition?.allShards ? all : shardsOf(part, keys.shards);
        calls.push({ writes: part, shards });
      }
    }
    const started = performance.now();
    const marks = calls.map(() => (partition ? this.marks.next(partition.next) : undefined));
    const guards = partition ? chainGuards(guard!, calls, marks) : calls.map(() => guard);
    const replies = await Promise.all(
      calls.map((c, i) =>
        this.sendCommit(
          commitCall(keys, c.writes, now, names, guards[i], c.shards, marks[i], this.indexLayout),
        ),
      ),
    ).catch((err: unknown) => {
      throw redisError(err, 'commit');
    });
    this.opts.observe?.('commit', (performance.now() - started) / 1000);
    const conflicts: string[] = [];
    const recorded: RecordedChange[] = [];
    let refused: LeadScorerError | undefined;
    replies.forEach((reply, c) => {
      const flags = String(reply[0]);
      const call = calls[c]!;
      if (flags.startsWith('!')) {
        const shard = call.shards[Number(reply[1]) - 1]!;
        refused ??= refusal(flags, shard, guard, String(reply[2] ?? ''));
        return;
      }
      if (partition) for (const shard of call.shards) partition.known.set(shard, marks[c]!);
      let next = 1;
      call.writes.forEach((w, i) => {
        if (flags[i] !== '1') {
          conflicts.push(w.leadId);
          return;
        }
        const shard = shardOf(w.leadId, keys.shards);
        for (const change of w.changes) recorded.push({ shard, outboxId: String(reply[next++]), change });
      });
    });
    // Calls that went through stay written (each lead atomically, positions with them); the
    // caller re-reads what a refused call covered. A refusal means Redis is not what this
    // process believes: read the name registry again too.
    if (refused) {
      this.table = undefined;
      throw refused;
    }
    return { conflicts, recorded };
  }

  async epochs(): Promise<StateEpochs> {
    const { client, keys } = this.opts;
    try {
      return await Promise.all(
        Array.from({ length: keys.shards }, (_, s) => client.hget(stateKey(keys, s), 'epoch')),
      );
    } catch (err) {
      throw redisError(err, 'state epochs');
    }
  }

  async initialize(epoch: string, replace: boolean): Promise<void> {
    const { client, keys } = this.opts;
    try {
      await Promise.all(
        Array.from({ length: keys.shards }, (_, s) =>
          replace
            ? client.hset(stateKey(keys, s), 'epoch', epoch)
            : client.hsetnx(stateKey(keys, s), 'epoch', epoch),
        ),
      );
    } catch (err) {
      throw redisError(err, 'state epoch');
    }
  }

  async positions(field: string): Promise<(Position | null)[]> {
    const { client, keys } = this.opts;
    try {
      const raw = await Promise.all(
        Array.from({ length: keys.shards }, (_, s) => client.hget(stateKey(keys, s), field)),
      );
      return raw.map(parsePosition);
    } catch (err) {
      throw redisError(err, 'positions');
    }
  }

  /**
   * Removes leads from every query index and queues a lead.stage.v1 tombstone for each behind any
   * snapshot of it not yet written (the snapshot writer sends them in order): what erasure calls
   * besides deleting the record. One MULTI per shard: atomic per shard, idempotent.
   */
  async removeFromIndexes(leadIds: readonly string[]): Promise<void> {
    const { client, keys } = this.opts;
    const { dimensions, listed: stages } = this.indexLayout;
    const sorts = [...dimensions, ENTERED];
    const byShard = new Map<number, string[]>();
    for (const id of leadIds) {
      const shard = shardOf(id, keys.shards);
      const list = byShard.get(shard);
      if (list) list.push(id);
      else byShard.set(shard, [id]);
    }
    try {
      await Promise.all(
        [...byShard].map(async ([shard, ids]) => {
          const m = client.multi();
          for (const stage of stages)
            for (const sort of sorts) m.zrem(queryKey(keys, shard, stage, sort), ...ids);
          m.zrem(updatedKey(keys, shard), ...ids);
          for (const id of ids) m.xadd(snapshotKey(keys, shard), '*', 'lead', id, 't', '');
          const replies = (await m.exec()) ?? [];
          for (const [err] of replies) if (err) throw err;
        }),
      );
    } catch (err) {
      throw redisError(err, 'remove from indexes');
    }
  }

  /**
   * Takes or renews the lease on writing a shard's lead.stage.v1 snapshots for `ms`: true while
   * `token` holds it.
   */
  async snapshotLease(shard: number, token: string, ms: number): Promise<boolean> {
    try {
      const { keys } = this.opts;
      return (
        (await this.scripts.snapshotLease(
          2,
          snapshotLeaseKey(keys, shard),
          stateKey(keys, shard),
          token,
          ms,
        )) === 1
      );
    } catch (err) {
      throw redisError(err, 'snapshot lease');
    }
  }

  /**
   * A shard's snapshots not yet written to lead.stage.v1, oldest first, recorded at least
   * `minAgeMs` before `now`: the stage change recorded (as in the outbox), or null for an erasure
   * tombstone.
   */
  async pendingSnapshots(
    shard: number,
    count: number,
    minAgeMs: number,
    now: number,
  ): Promise<{ id: string; lead: string; change: StageChangeRecord | null }[]> {
    try {
      // Stream ids carry Redis's clock: entries younger than the publish hold wait (as the outbox).
      const end = minAgeMs > 0 ? String(Math.max(0, now - minAgeMs)) : '+';
      const entries = await this.opts.client.xrange(
        snapshotKey(this.opts.keys, shard),
        '-',
        end,
        'COUNT',
        count,
      );
      return entries.map(([id, fields]) => {
        const t = fields[fields.indexOf('t') + 1] ?? '';
        return {
          id,
          lead: fields[fields.indexOf('lead') + 1]!,
          change: t === '' ? null : (JSON.parse(t) as StageChangeRecord),
        };
      });
    } catch (err) {
      throw redisError(err, 'snapshot read');
    }
  }

  /** Removes written snapshots while `token` holds the shard's lease; false when it does not. */
  async ackSnapshots(shard: number, token: string, ids: readonly string[]): Promise<boolean> {
    if (ids.length === 0) return true;
    const { keys } = this.opts;
    try {
      const n = await this.scripts.snapshotAck(
        2,
        snapshotLeaseKey(keys, shard),
        snapshotKey(keys, shard),
        token,
        ...ids,
      );
      return n !== -1;
    } catch (err) {
      throw redisError(err, 'snapshot ack');
    }
  }

  /** Snapshots waiting in every shard (a gauge). */
  async snapshotDepth(): Promise<number> {
    const { keys, client } = this.opts;
    try {
      const lens = await Promise.all(
        Array.from({ length: keys.shards }, (_, s) => client.xlen(snapshotKey(keys, s))),
      );
      return lens.reduce((a, b) => a + b, 0);
    } catch (err) {
      throw redisError(err, 'snapshot depth');
    }
  }

  /** Sends a commit call built beforehand (the benchmark times the script alone this way). */
  sendCommit(call: CommitCall): Promise<unknown[]> {
    return this.scripts.commit(call.numKeys, ...call.keysAndArgs) as Promise<unknown[]>;
  }

  /**
   * Writes records into a generation nobody else writes yet (a rescore loading what it rebuilt):
   * through the commit script as new leads (a lead that exists already is an error), without the
   * state epoch or partition checks and with no stage changes. Never for a live generation.
   */
  async load(records: readonly (readonly [string, LeadRecord])[], now: number): Promise<void> {
    // One packed argument per call instead of several commands per lead: encoding many small
    // commands was most of the load's time (3.8 s instead of 5.6-6.2 for 200,000 leads).
    const writes: LeadWrite[] = records.map(([leadId, record]) => ({
      leadId,
      expected: undefined,
      record,
      ...(record.due === null ? {} : { due: record.due }),
      changes: [],
      index: { before: undefined, entry: indexEntry(leadId, record, now, this.opts.model) },
    }));
    const result = await this.commit(writes, now);
    if (result.conflicts.length > 0) {
      throw new LeadScorerError(
        'INVARIANT_VIOLATED',
        `load: ${result.conflicts.length} leads already exist in a generation nobody else writes (e.g. ${result.conflicts[0]})`,
      );
    }
  }

  async dueLeads(shard: number, now: number, limit: number): Promise<string[]> {
    try {
      return await this.opts.client.zrangebyscore(
        dueKey(this.opts.keys, shard),
        '-inf',
        now,
        'LIMIT',
        0,
        limit,
      );
    } catch (err) {
      throw redisError(err, 'due leads');
    }
  }

  async nextDue(shard: number): Promise<number | undefined> {
    try {
      const first = await this.opts.client.zrange(dueKey(this.opts.keys, shard), 0, 0, 'WITHSCORES');
      return first.length === 2 ? Number(first[1]) : undefined;
    } catch (err) {
      throw redisError(err, 'due');
    }
  }

  /** Entries recorded at least `minAgeMs` before `now` (stream ids carry Redis's clock), oldest first. */
  async pendingOutbox(
    shard: number,
    count: number,
    minAgeMs: number,
    now: number,
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

  async outboxHas(changes: readonly RecordedChange[]): Promise<boolean[]> {
    if (changes.length === 0) return [];
    const { client, keys } = this.opts;
    try {
      // One pipeline; on a Cluster each XRANGE goes to its shard's node.
      const pipeline = client.pipeline();
      for (const c of changes) pipeline.xrange(outboxKey(keys, c.shard), c.outboxId, c.outboxId);
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([err, entries]) => {
        if (err) throw err;
        return (entries as unknown[]).length > 0;
      });
    } catch (err) {
      throw redisError(err, 'outbox check');
    }
  }

  async ackOutbox(changes: readonly RecordedChange[]): Promise<void> {
    const byShard = new Map<number, string[]>();
    for (const c of changes) {
      const ids = byShard.get(c.shard);
      if (ids) ids.push(c.outboxId);
      else byShard.set(c.shard, [c.outboxId]);
    }
    try {
      await Promise.all(
        [...byShard].map(([shard, ids]) => this.opts.client.xdel(outboxKey(this.opts.keys, shard), ...ids)),
      );
    } catch (err) {
      throw redisError(err, 'outbox ack');
    }
  }

  erase(leadId: string): Promise<ErasedLead> {
    return eraseLeadKeys(this.opts.client, this.opts.keys, leadId, this.indexLayout);
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

function groupByShard<T>(
  items: readonly T[],
  shards: number,
  id: (t: T) => string = (t) => t as string,
): T[][] {
  const by = new Map<number, T[]>();
  for (const item of items) {
    const shard = shardOf(id(item), shards);
    const list = by.get(shard);
    if (list) list.push(item);
    else by.set(shard, [item]);
  }
  return [...by.values()];
}

/** One call of lua/commit.lua, encoded: its keys, then its arguments. */
export interface CommitCall {
  numKeys: number;
  keysAndArgs: (string | number | Buffer)[];
}

/**
 * Builds the commit call for writes of one Redis (Cluster: of one shard) covering `shards` (by
 * default the writes' own). The writes travel as one packed argument (layout in lua/commit.lua):
 * encoding six arguments per lead cost the service more than the whole script costs Redis.
 */
export function commitCall(
  keys: KeySpace,
  writes: readonly LeadWrite[],
  now: number,
  names: NameTable,
  guard?: CommitGuard,
  shards: readonly number[] = shardsOf(writes, keys.shards),
  /** The position mark this call writes (PositionMarks.next): required with a partition guard. */
  mark?: string,
  /** What the query indexes hold (RedisScoreStore.indexLayout); none: a write's `index` is ignored. */
  layout: IndexLayout = { dimensions: [], listed: [] },
): CommitCall {
  const slot = new Map(shards.map((shard, i) => [shard, i + 1]));
  const shardKeys: string[] = [];
  for (const shard of shards)
    shardKeys.push(outboxKey(keys, shard), dueKey(keys, shard), stateKey(keys, shard));
  const leadKeys: string[] = [];
  const packed = new CommitPacker();
  // Further keys (indexes, snapshot streams), each passed once, named by position by the ops.
  const extra: string[] = [];
  const extraAt = new Map<string, number>();
  const x = (key: string): number => {
    let at = extraAt.get(key);
    if (at === undefined) {
      extra.push(key);
      at = extra.length;
      extraAt.set(key, at);
    }
    return at;
  };
  for (const w of writes) {
    leadKeys.push(leadKey(keys, w.leadId));
    packed.u8(slot.get(shardOf(w.leadId, keys.shards))!);
    packed.bytes(w.expected === undefined ? undefined : (w.expected as unknown as Buffer));
    packed.bytes(w.record ? encodeRecord(w.record, now, names) : undefined);
    if (w.due === undefined) packed.u8(0);
    else if (w.due === null) packed.u8(1);
    else {
      packed.u8(2);
      packed.f64(w.due);
    }
    packed.u16(w.changes.length);
    const json = w.changes.map((change) => Buffer.from(JSON.stringify(change)));
    for (const b of json) packed.bytes(b);
    packIndexOps(packed, keys, w, json, layout, x);
  }
  return {
    numKeys: shardKeys.length + leadKeys.length + extra.length,
    keysAndArgs: [
      ...shardKeys,
      ...leadKeys,
      ...extra,
      shards.length,
      packed.take(),
      guard?.epoch ?? '',
      guard?.partition ? packGuard(guard.partition, shards, mark) : '',
      extra.length,
    ],
  };
}

/**
 * What the query indexes hold: the sorts (the model's dimensions, plus the entry time) of every
 * listed stage (core listedStages), and every lead in updatedSince.
 */
export interface IndexLayout {
  dimensions: readonly string[];
  listed: readonly string[];
}

export function indexLayoutOf(model: Model): IndexLayout {
  return { dimensions: model.dimensions.map((d) => d.name), listed: listedStages(model) };
}

/** lua/commit.lua's op kinds. */
const OP = { zadd: 1, zaddNx: 2, zrem: 3, zaddServerTime: 4, xadd: 5 } as const;

/**
 * A write's ops: its move in the query indexes (out of the stage the indexes hold it under when
 * that differs, into its stage's sorts; the entry time kept while the stage stays), its
 * updatedSince entry, and its stage changes queued for the lead.stage.v1 snapshot writer.
 */
function packIndexOps(
  packed: CommitPacker,
  keys: KeySpace,
  w: LeadWrite,
  changes: readonly Buffer[],
  layout: IndexLayout,
  x: (key: string) => number,
): void {
  const { dimensions, listed } = layout;
  const shard = shardOf(w.leadId, keys.shards);
  const ops: (() => void)[] = [];
  const op = (kind: number, key: string, score?: number): void => {
    ops.push(() => {
      packed.u8(kind);
      packed.u16(x(key));
      if (score !== undefined) packed.f64(score);
    });
  };
  if (w.record && w.index) {
    const { before, entry, previous } = w.index;
    const moved = before !== undefined && before !== entry.stage;
    if (moved && listed.includes(before)) {
      for (const d of dimensions) op(OP.zrem, queryKey(keys, shard, before, d));
      op(OP.zrem, queryKey(keys, shard, before, ENTERED));
    }
    if (listed.includes(entry.stage)) {
      // Still in the stage the indexes hold it under, with the keys they hold known: only the
      // sorts whose key moved are written (IndexUpdate.previous).
      const known = before === entry.stage && previous !== undefined ? previous : undefined;
      dimensions.forEach((d, i) => {
        if (known?.[i] !== entry.order[i])
          op(OP.zadd, queryKey(keys, shard, entry.stage, d), entry.order[i]!);
      });
      // Same stage and no stage change on the way (a write can leave a stage and come back):
      // keep the time it entered (NX; a lead indexed before it had history gets one).
      const same = before === entry.stage && w.changes.length === 0;
      if (!(same && known))
        op(same ? OP.zaddNx : OP.zadd, queryKey(keys, shard, entry.stage, ENTERED), entry.enteredAt);
    }
    op(OP.zaddServerTime, updatedKey(keys, shard));
  }
  packed.u16(ops.length + changes.length);
  for (const f of ops) f();
  for (const b of changes) {
    packed.u8(OP.xadd);
    packed.u16(x(snapshotKey(keys, shard)));
    packed.bytes(b);
  }
}

/**
 * The guard of each of one commit's calls. The calls go out at once on one connection (one per
 * node on a Cluster), so Redis runs them in the order sent; where two calls cover the same shard
 * (a chunk of more than maxLeadsPerCall leads), the later one expects the mark the earlier one
 * writes there. Each call still checks and marks every shard it covers: losing any one call's
 * writes is seen, and a call refused makes every later call on its shards refused too.
 */
function chainGuards(
  guard: CommitGuard,
  calls: readonly { shards: readonly number[] }[],
  marks: readonly (string | undefined)[],
): CommitGuard[] {
  const partition = guard.partition!;
  const held = new Map(partition.known);
  return calls.map((c, i) => {
    const known = new Map<number, string | null>();
    for (const shard of c.shards) {
      known.set(shard, held.get(shard) ?? null);
      held.set(shard, marks[i]!);
    }
    return { ...guard, partition: { ...partition, known } };
  });
}

/** The partition guard argument (lua/commit.lua ARGV[4]). */
function packGuard(p: PartitionGuard, shards: readonly number[], mark: string | undefined): Buffer {
  if (mark === undefined) throw new Error('a partition guard needs the mark the call writes');
  const g = new CommitPacker();
  const field = Buffer.from(p.field);
  g.u16(field.length);
  g.raw(field);
  for (const shard of shards) {
    const known = p.known.get(shard) ?? null;
    if (known === null) g.u8(0);
    else {
      g.u8(1);
      g.bytes(Buffer.from(known));
    }
    g.u8(1);
    g.bytes(Buffer.from(mark));
  }
  return g.take();
}

function shardsOf(writes: readonly LeadWrite[], shards: number): number[] {
  return [...new Set(writes.map((w) => shardOf(w.leadId, shards)))];
}

function refusal(flag: string, shard: number, guard: CommitGuard | undefined, held: string): LeadScorerError {
  if (flag === '!epoch' && held.startsWith(RETIRED)) {
    return new LeadScorerError(
      'GENERATION_RETIRED',
      `this generation of keys was retired by a rescore (${held}): following the active one`,
      { details: { shard } },
    );
  }
  if (flag === '!epoch') {
    return new LeadScorerError(
      'STATE_LOST',
      `Redis shard ${shard} does not hold state epoch ${JSON.stringify(guard?.epoch)}: its data was lost or replaced`,
      { details: { shard } },
    );
  }
  return new LeadScorerError(
    'PARTITION_FENCED',
    `shard ${shard} holds another position of ${guard?.partition?.field} than this consumer left there`,
    { details: { shard, partition: guard?.partition?.field ?? '' } },
  );
}

/** A growing big-endian byte buffer for the packed commit argument. */
class CommitPacker {
  private buf = Buffer.allocUnsafe(256 * 1024);
  private pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.room(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
  }

  f64(v: number): void {
    this.room(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }

  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Length-prefixed bytes; none (length 0) for undefined. */
  bytes(b: Uint8Array | undefined): void {
    const len = b?.length ?? 0;
    this.room(4 + len);
    this.pos = this.buf.writeUInt32BE(len, this.pos);
    if (b) {
      this.buf.set(b, this.pos);
      this.pos += len;
    }
  }

  take(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/**
 * Removes one lead from a generation of keys (lua/erase.lua), atomically: its record, schedule
 * entry, query index entries (those of `layout`) and what of it waits in the outbox and the
 * lead.stage.v1 snapshot stream; with `tombstone`, queues a lead.stage.v1 tombstone for the
 * snapshot writer (in the generation the relay works on). Needs no more than the layout, so an
 * erasure reaches a generation no service has a store of (a rescore's next one).
 */
export async function eraseLeadKeys(
  client: Redis | Cluster,
  keys: KeySpace,
  leadId: string,
  layout?: IndexLayout,
  tombstone = layout !== undefined,
): Promise<ErasedLead> {
  const shard = shardOf(leadId, keys.shards);
  const indexes = layout
    ? [
        ...layout.listed.flatMap((stage) =>
          [...layout.dimensions, ENTERED].map((sort) => queryKey(keys, shard, stage, sort)),
        ),
        updatedKey(keys, shard),
      ]
    : [];
  try {
    const [record, scheduled, outbox] = (await defineScripts(client).erase(
      4 + indexes.length,
      leadKey(keys, leadId),
      dueKey(keys, shard),
      outboxKey(keys, shard),
      snapshotKey(keys, shard),
      ...indexes,
      leadId,
      500,
      tombstone ? '1' : '0',
    )) as number[];
    return { record: record === 1, scheduled: scheduled === 1, outboxEntries: outbox ?? 0 };
  } catch (err) {
    throw redisError(err, 'erase');
  }
}
