import { createHmac } from 'node:crypto';

/**
 * One signed webhook request. The receiver recomputes
 *   v1 = hex(HMAC-SHA256(secret, `${x-leadscorer-timestamp}.${raw body}`))
 * and compares it with the x-leadscorer-signature header ("v1=<hex>"); the timestamp inside the
 * signed text lets it refuse replays of old requests. Retrying, backing off and giving up are the
 * deliverer's business (deliverer.ts): this file makes one attempt and classifies its outcome.
 */
export function sign(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What one attempt came to:
 * - `delivered`: 2xx;
 * - `rejected`: a 4xx other than 408 and 429, the receiver will never take this request;
 * - `retry`: worth trying again later (408, 429, 5xx, connection refused or dropped, timeout).
 *   `down` says whether it counts against the receiver's health (the circuit breaker): a 429 is a
 *   receiver that is up and asks us to slow down, the others mean it is not answering properly.
 */
export type Outcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'rejected'; status: number; error: string }
  | { kind: 'retry'; status: number | null; error: string; down: boolean; retryAfterMs: number | null };

/** The label an attempt is counted under in metrics: a status class, never a URL or a body. */
export function outcomeLabel(o: Outcome): string {
  if (o.status === null) return o.kind === 'retry' && o.error === 'timeout' ? 'timeout' : 'network';
  if (o.status === 429) return '429';
  return `${Math.floor(o.status / 100)}xx`;
}

export interface Attempt {
  url: string;
  secret: string;
  eventId: string;
  body: string;
  timeoutMs: number;
  /** Epoch ms; the signed timestamp and the base of Retry-After dates. */
  now: number;
  /** Trace context headers (W3C `traceparent`, `tracestate`) to send along, unsigned. */
  traceHeaders?: Record<string, string>;
}

export async function attempt(a: Attempt): Promise<Outcome> {
  let res: Response;
  try {
    // The whole exchange, body included, runs under one deadline: a receiver that sends headers
    // and then stalls is as stuck as one that never answers.
    const signal = AbortSignal.timeout(a.timeoutMs);
    res = await fetch(a.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-leadscorer-event-id': a.eventId,
        'x-leadscorer-timestamp': String(a.now),
        'x-leadscorer-signature': sign(a.secret, a.now, a.body),
        ...a.traceHeaders,
      },
      body: a.body,
      signal,
      redirect: 'manual',
    });
    await res.arrayBuffer();
  } catch (err) {
    const e = err as Error;
    const timeout = e.name === 'TimeoutError' || e.name === 'AbortError';
    // Node's fetch hides the socket error in `cause` (ECONNREFUSED, ECONNRESET, ...).
    const cause = (e.cause as { code?: string } | undefined)?.code;
    return {
      kind: 'retry',
      status: null,
      error: timeout ? 'timeout' : (cause ?? e.message).slice(0, 200),
      down: true,
      retryAfterMs: null,
    };
  }
  if (res.ok) return { kind: 'delivered', status: res.status };
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), a.now);
  const error = `HTTP ${res.status}`;
  if (res.status === 429) return { kind: 'retry', status: 429, error, down: false, retryAfterMs };
  if (res.status === 408 || res.status >= 500 || res.status < 400) {
    // 3xx too: a webhook endpoint that redirects is misconfigured, but may be fixed in place.
    return { kind: 'retry', status: res.status, error, down: res.status >= 500, retryAfterMs };
  }
  return { kind: 'rejected', status: res.status, error };
}

/**
 * Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP-date. Returns milliseconds from `now`
 * (0 for a date in the past), or null when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Every HTTP-date form names a weekday and a month; a number with a sign or a fraction is
  // neither form, and Date.parse would read odd things into it.
  if (!/^[A-Za-z]{3}/.test(v)) return null;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
