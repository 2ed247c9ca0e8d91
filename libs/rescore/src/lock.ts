import type { RedisClient } from '@leadscorer/runtime';

/**
 * One rescore at a time, and what an interrupted one left: `<REDIS_KEY_PREFIX>#rescore` holds
 * which generation it replaces and builds, the old generation's epoch (to undo a freeze) and how
 * far it got. `npm run rescore -- --abort` reads it to clean up.
 */
export interface RescoreLock {
  from: number;
  fromPrefix: string;
  to: number;
  toPrefix: string;
  /** The old generation's state epoch before the freeze. */
  epoch: string | null;
  phase: 'building' | 'frozen' | 'switched';
  startedAt: number;
  host: string;
  pid: number;
}

export function lockKey(base: string): string {
  return `${base}#rescore`;
}

export async function takeLock(
  redis: RedisClient,
  base: string,
  lock: RescoreLock,
): Promise<RescoreLock | undefined> {
  const ok = await redis.set(lockKey(base), JSON.stringify(lock), 'NX');
  if (ok === 'OK') return undefined;
  return readLock(redis, base);
}

export async function readLock(redis: RedisClient, base: string): Promise<RescoreLock | undefined> {
  const raw = await redis.get(lockKey(base));
  return raw === null ? undefined : (JSON.parse(raw) as RescoreLock);
}

export async function setPhase(
  redis: RedisClient,
  base: string,
  lock: RescoreLock,
  phase: RescoreLock['phase'],
): Promise<void> {
  lock.phase = phase;
  await redis.set(lockKey(base), JSON.stringify(lock));
}

export async function releaseLock(redis: RedisClient, base: string): Promise<void> {
  await redis.del(lockKey(base));
}
