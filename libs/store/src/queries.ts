import { indexedStages, listedStages } from '@leadscorer/core';
import type { Model } from '@leadscorer/engine';
import type { Cluster, Redis } from 'ioredis';
import { redisError } from './errors.ts';
import { ENTERED, type KeySpace, queryKey, updatedKey } from './keys.ts';
import { defineScripts, isCluster, type Scripts } from './scripts.ts';

/**
 * The read API's queries on the indexes the commits keep (keys.ts, #q...): a page of a stage's
 * leads by a dimension's score or by entry time, the leads written since a time, and the funnel.
 * Every index is split over the 64 shards; a page reads each shard's next entries after the
 * cursor and merges them. Positions are (key, lead id), the order Redis keeps a sorted set in, so a
 * cursor stays valid however the set changes: the leads that stay where they are are each seen
 * once; a lead that moves across the cursor meanwhile may be seen twice or not at all (its
 * updatedSince entry has it).
 */
export interface Position {
  key: number;
  id: string;
}

export interface Entry extends Position {}

export interface Page {
  entries: Entry[];
  /** Where the next page starts; undefined when there is none now. */
  next: Position | undefined;
}

export type Direction = 'asc' | 'desc';

export interface RedisLeadQueriesOptions {
  client: Redis | Cluster;
  keys: KeySpace;
  model: Model;
}

export class RedisLeadQueries {
  private readonly opts: RedisLeadQueriesOptions;
  private readonly scripts: Scripts;

  constructor(opts: RedisLeadQueriesOptions) {
    this.opts = opts;
    this.scripts = defineScripts(opts.client);
  }

  /** The stages leads can be in, ladder first. */
  get stages(): string[] {
    return indexedStages(this.opts.model);
  }

  /** The stages whose leads can be listed (every one but the ladder's first: core listedStages). */
  get listed(): string[] {
    return listedStages(this.opts.model);
  }

  /** A page of a stage's leads; `sort` a dimension name or ENTERED. */
  stagePage(stage: string, sort: string, dir: Direction, limit: number, after?: Position): Promise<Page> {
    const { keys } = this.opts;
    return this.page((s) => queryKey(keys, s, stage, sort), dir, limit, after, undefined);
  }

  /**
   * Leads written at or after `sinceUs` (Redis server time in µs), oldest write first; after a
   * cursor, the leads after it. A lead written again moves to the end.
   */
  updatedPage(sinceUs: number, limit: number, after?: Position): Promise<Page> {
    const { keys } = this.opts;
    return this.page((s) => updatedKey(keys, s), 'asc', limit, after, sinceUs);
  }

  /**
   * How many leads each stage holds now, in one round trip: ZCARD of every shard's entry-time
   * index of each listed stage, and of updatedSince (every lead): the first stage holds the rest.
   */
  async funnel(): Promise<Record<string, number>> {
    const { keys, client } = this.opts;
    const listed = this.listed;
    // Per shard: updatedSince, then each listed stage's entry-time index (one slot per shard).
    const perShard = Array.from({ length: keys.shards }, (_, s) => [
      updatedKey(keys, s),
      ...listed.map((stage) => queryKey(keys, s, stage, ENTERED)),
    ]);
    let counts: number[][];
    try {
      if (isCluster(client)) {
        counts = (await Promise.all(perShard.map((k) => this.scripts.zcards(k.length, ...k)))) as number[][];
      } else {
        // A single Redis takes every key in one call.
        const flat = (await this.scripts.zcards(
          perShard.length * perShard[0]!.length,
          ...perShard.flat(),
        )) as number[];
        counts = perShard.map((k, s) => flat.slice(s * k.length, (s + 1) * k.length));
      }
    } catch (err) {
      throw redisError(err, 'funnel');
    }
    const sum = (i: number) => counts.reduce((n, c) => n + Number(c[i]), 0);
    const out: Record<string, number> = {};
    let rest = sum(0);
    listed.forEach((stage, i) => {
      out[stage] = sum(i + 1);
      rest -= out[stage];
    });
    return { [this.stages[0]!]: rest, ...out };
  }

  /** The server's clock, µs. */
  async serverTimeUs(): Promise<number> {
    const [sec, usec] = (await this.run([['time']]))[0] as [string, string];
    return Number(sec) * 1_000_000 + Number(usec);
  }

  /**
   * Merges the shards' next entries after `after` (or from `min` on). A page of `limit` needs about
   * limit / shards entries of each shard, so each shard is asked for a few first; a shard whose
   * whole batch lands inside the page may hold more that belong there and is asked again for
   * more (rarely). Entries tied with the cursor's key are skipped up to its lead id.
   */
  private async page(
    keyOf: (shard: number) => string,
    dir: Direction,
    limit: number,
    after: Position | undefined,
    min: number | undefined,
  ): Promise<Page> {
    const shards = this.opts.keys.shards;
    const kept: Entry[][] = Array.from({ length: shards }, () => []);
    const offset = new Array<number>(shards).fill(0);
    // Whether a shard may hold more past what it gave (its last batch was full).
    const more = new Array<boolean>(shards).fill(true);
    const from = after
      ? String(after.key)
      : min !== undefined
        ? String(min)
        : dir === 'asc'
          ? '-inf'
          : '+inf';
    const to = dir === 'asc' ? '+inf' : '-inf';
    let ask = Array.from({ length: shards }, (_, s) => s);
    let n = Math.max(4, Math.ceil((2 * (limit + 1)) / shards));
    let merged: Entry[] = [];
    for (;;) {
      // ZRANGE ... BYSCORE REV takes the higher bound first: `from` is where the order starts.
      const cmds = ask.map((s): [string, ...string[]] => [
        'zrange',
        keyOf(s),
        from,
        to,
        'BYSCORE',
        ...(dir === 'desc' ? ['REV'] : []),
        'LIMIT',
        String(offset[s]),
        String(n),
        'WITHSCORES',
      ]);
      const replies = await this.run(cmds);
      ask.forEach((s, i) => {
        const flat = replies[i] as string[];
        for (let j = 0; j < flat.length; j += 2) {
          const e = { id: flat[j]!, key: Number(flat[j + 1]) };
          if (!after || compare(e, after, dir) > 0) kept[s]!.push(e);
        }
        offset[s] = offset[s]! + flat.length / 2;
        more[s] = flat.length / 2 === n;
      });
      merged = kept.flat().sort((a, b) => compare(a, b, dir));
      // The entry that decides the page: the (limit + 1)-th, which says whether a next page exists.
      const edge = merged[limit];
      ask = [];
      for (let s = 0; s < shards; s++) {
        if (!more[s]) continue;
        const last = kept[s]![kept[s]!.length - 1];
        // Everything this shard gave is inside the page (or it gave nothing past the cursor yet):
        // what follows in it may belong there too.
        if (!edge || !last || compare(last, edge, dir) < 0) ask.push(s);
      }
      if (ask.length === 0) break;
      n = Math.max(n * 4, limit + 1);
    }
    const entries = merged.slice(0, limit);
    const last = entries[entries.length - 1];
    return { entries, next: merged.length > limit && last ? { key: last.key, id: last.id } : undefined };
  }

  /** Commands on keys of many shards: one pipeline on a single Redis, each to its node on a Cluster. */
  private async run(cmds: [string, ...string[]][]): Promise<unknown[]> {
    const { client } = this.opts;
    try {
      if (isCluster(client)) {
        return await Promise.all(cmds.map(([name, ...args]) => client.call(name, ...args)));
      }
      const replies = (await client.pipeline(cmds).exec()) ?? [];
      return replies.map(([err, value]) => {
        if (err) throw err;
        return value;
      });
    } catch (err) {
      throw redisError(err, 'query');
    }
  }
}

/** Sorted-set order (key, then lead id as bytes, as Redis compares members), reversed for 'desc'. */
export function compare(a: Position, b: Position, dir: Direction): number {
  const c = a.key !== b.key ? (a.key < b.key ? -1 : 1) : Buffer.compare(Buffer.from(a.id), Buffer.from(b.id));
  return dir === 'asc' ? c : -c;
}
