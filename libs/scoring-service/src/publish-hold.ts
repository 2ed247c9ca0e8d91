import type { Logger, RedisClient } from '@leadscorer/runtime';

/**
 * How long a recorded stage change is held before it is published: until Redis cannot lose it.
 *
 * A change is recorded in Redis with the state it comes from, and published from there. If Redis
 * later goes back in time over it (a host crash under `appendfsync everysec` loses up to about a
 * second, two when the disk stalls; a failover promotes a replica that was behind), the events
 * behind it are read again (partitions.ts) and derive it once more: with the same id, but its
 * scores and explanation can differ, because the other services' events are then applied in
 * another order. Held past that window and published only if the outbox still holds it, a change
 * the world has seen is never taken back, and no id is ever published with two contents.
 *
 * `auto` holds AUTO_HOLD_MS when the Redis it talks to can go back in time: AOF with an fsync
 * policy other than `always`, or replicas. A Redis without persistence and replicas loses
 * everything or nothing (a restart empties it, which the state epoch detects): nothing to hold.
 */
export const AUTO_HOLD_MS = 2_000;

export async function resolvePublishHold(
  setting: number | 'auto',
  redis: RedisClient,
  log: Logger,
): Promise<number> {
  if (setting !== 'auto') return setting;
  const persistence = parseInfo(await redis.info('persistence'));
  const replication = parseInfo(await redis.info('replication'));
  const replicas = Number(replication.connected_slaves ?? 0);
  let fsync = 'everysec';
  if (persistence.aof_enabled === '1') {
    // Managed Redis often refuses CONFIG: assume the usual everysec then.
    fsync = await redis
      .config('GET', 'appendfsync')
      .then((r) => String((r as string[])[1] ?? 'everysec'))
      .catch(() => 'everysec');
  }
  const canGoBack = (persistence.aof_enabled === '1' && fsync !== 'always') || replicas > 0;
  const hold = canGoBack ? AUTO_HOLD_MS : 0;
  log.info(
    { aof: persistence.aof_enabled === '1', appendfsync: fsync, replicas, holdMs: hold },
    hold > 0
      ? 'stage changes are published once Redis cannot lose them (PUBLISH_HOLD_MS)'
      : 'stage changes are published at once: this Redis cannot go back in time',
  );
  return hold;
}

function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}
