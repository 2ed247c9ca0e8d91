import type { RedisClient } from '@leadscorer/runtime';

/**
 * /readyz for the read API: a PING under a deadline, its answer reused for `cacheMs` so probes
 * and load balancers polling it do not add load, and concurrent checks share one PING. A frozen
 * Redis (connection open, nothing answered) is not ready, which its connection state alone would
 * not show.
 */
export function redisReadiness(
  redis: RedisClient,
  o: { timeoutMs: number; cacheMs: number; clock?: () => number },
) {
  const clock = o.clock ?? Date.now;
  let last: { at: number; ok: boolean } | undefined;
  let inFlight: Promise<boolean> | undefined;
  const ping = async (): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), o.timeoutMs);
    });
    try {
      return await Promise.race([
        redis.ping().then(
          (r) => r === 'PONG',
          () => false,
        ),
        deadline,
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
  return async (): Promise<boolean> => {
    if (last && clock() - last.at < o.cacheMs) return last.ok;
    inFlight ??= ping().then((ok) => {
      last = { at: clock(), ok };
      inFlight = undefined;
      return ok;
    });
    return inFlight;
  };
}
