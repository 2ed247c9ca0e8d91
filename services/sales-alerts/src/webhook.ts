import { createHmac } from 'node:crypto';
import { LeadScorerError } from '@leadscorer/errors';
import { backoffMs } from '@leadscorer/runtime';

/**
 * Signed webhook delivery. The receiver recomputes
 *   v1 = hex(HMAC-SHA256(secret, `${x-leadscorer-timestamp}.${raw body}`))
 * and compares it with the x-leadscorer-signature header ("v1=<hex>"); the timestamp inside the
 * signed text lets it refuse replays of old requests.
 */
export function sign(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface WebhookOptions {
  url: string;
  secret: string;
  maxAttempts: number;
  timeoutMs: number;
  retryInitialMs: number;
  sleep?: (ms: number) => Promise<void>;
}

/** 408 and 429 mean "try later"; any other 4xx means this request will never be accepted. */
function permanent(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** Delivers with retries and backoff; throws DELIVERY_FAILED (dead-letter it) when it gives up. */
export async function deliver(
  o: WebhookOptions,
  eventId: string,
  body: string,
  clock: () => number,
): Promise<number> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last = '';
  for (let attempt = 1; attempt <= o.maxAttempts; attempt++) {
    const ts = clock();
    try {
      const res = await fetch(o.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-leadscorer-event-id': eventId,
          'x-leadscorer-timestamp': String(ts),
          'x-leadscorer-signature': sign(o.secret, ts, body),
        },
        body,
        signal: AbortSignal.timeout(o.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return attempt;
      last = `HTTP ${res.status}`;
      if (permanent(res.status)) break;
    } catch (err) {
      last = (err as Error).message;
    }
    if (attempt < o.maxAttempts) await sleep(backoffMs(attempt - 1, o.retryInitialMs, 60_000));
  }
  throw new LeadScorerError('DELIVERY_FAILED', `webhook did not accept event ${eventId}: ${last}`, {
    details: { eventId, lastError: last.slice(0, 200) },
  });
}
