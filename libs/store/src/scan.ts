import type { Cluster, Redis } from 'ioredis';
import { redisError } from './errors.ts';
import type { KeySpace } from './keys.ts';
import { isCluster } from './scripts.ts';

/**
 * Walking a generation of keys (a rescore reads the old generation's leads and deletes it
 * afterwards). SCAN, never KEYS: it does not block Redis; on a Cluster every master is scanned.
 */
async function* scan(client: Redis | Cluster, match: string, count = 1000): AsyncGenerator<string[]> {
  const nodes = isCluster(client) ? client.nodes('master') : [client];
  for (const node of nodes) {
    const stream = node.scanStream({ match, count });
    try {
      for await (const keys of stream) if ((keys as string[]).length > 0) yield keys as string[];
    } catch (err) {
      throw redisError(err, 'scan');
    }
  }
}

/** Every lead id stored in a generation, in batches (SCAN may repeat one: dedupe if it matters). */
export async function* leadIds(client: Redis | Cluster, keys: KeySpace): AsyncGenerator<string[]> {
  // Lead keys are '<prefix>:{NN}:<id>'; shard-wide keys have '#' after the tag.
  const head = keys.prefix.length + 6;
  for await (const batch of scan(client, `${escapeGlob(keys.prefix)}:{[0-9][0-9]}:*`)) {
    yield batch.map((k) => k.slice(head));
  }
}

/** Deletes every key of a generation (UNLINK: freed in the background); returns how many. */
export async function dropGeneration(client: Redis | Cluster, keys: KeySpace): Promise<number> {
  let n = 0;
  for await (const batch of scan(client, `${escapeGlob(keys.prefix)}:*`)) {
    try {
      // One key per call on a Cluster (keys of several slots); a pipeline keeps it one round trip.
      const p = client.pipeline();
      for (const k of batch) p.unlink(k);
      await p.exec();
    } catch (err) {
      throw redisError(err, 'delete generation');
    }
    n += batch.length;
  }
  return n;
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
