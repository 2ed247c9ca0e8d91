import type { ConsumedMessage, DeadLetterSink } from '@leadscorer/core';
import { LeadScorerError } from '@leadscorer/errors';
import { backoffMs, createTracing, type Logger, type Tracing } from '@leadscorer/runtime';
import { type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { Breaker } from './breaker.ts';
import { type AlertMetrics, BREAKER_STATE_VALUE } from './metrics.ts';
import type { Claimed, DeliveryQueue, Job } from './queue.ts';
import type { Subscriber } from './subscriptions.ts';
import { attempt, type Outcome, outcomeLabel } from './webhook.ts';

export interface DelivererOptions {
  subscriber: Subscriber;
  queue: DeliveryQueue;
  deadLetters: DeadLetterSink;
  metrics: AlertMetrics;
  /** Counts dead letters in the services' common counter too (its alert watches them). */
  onDeadLetter: (reason: string) => void;
  log: Logger;
  clock: () => number;
  retry: { initialMs: number; maxMs: number; retryAfterMaxMs: number };
  breaker: { failures: number; cooldownMs: number };
  /** How often an idle loop looks for due jobs. */
  pollMs: number;
  random?: () => number;
  /** A CLIENT span per attempt, in the trace the job carries; its traceparent goes to the receiver. */
  tracing?: Tracing;
}

/**
 * The delivery loop of one subscriber: claims due jobs from its queue (as many as its concurrency
 * and its circuit breaker allow), makes one attempt at each, and then delivers it (removes it),
 * puts it back for a later try, or dead-letters it once. It runs apart from the Kafka consumer,
 * so no delivery, however slow, can hold a consumer-group session; and apart from the other
 * subscribers' loops, so a slow receiver delays nobody else.
 */
export class Deliverer {
  private readonly o: DelivererOptions;
  private readonly breaker: Breaker;
  private readonly leaseMs: number;
  private readonly tracing: Tracing;
  private readonly inFlight = new Set<Promise<void>>();
  /** A 429 or 503 with Retry-After holds the whole subscriber, not only the one event. */
  private notBefore = 0;
  private stopping = false;
  private queueDown = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(o: DelivererOptions) {
    this.o = o;
    this.breaker = new Breaker(o.breaker);
    this.tracing = o.tracing ?? createTracing({ service: 'sales-alerts' });
    // Longer than any attempt can take: a job is claimed again only if its claimer is gone.
    this.leaseMs = o.subscriber.timeoutMs + 15_000;
    o.metrics.breakerState.set({ subscriber: o.subscriber.id }, 0);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops claiming and waits for the attempts in flight (each bounded by its timeout). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    await Promise.all(this.inFlight);
  }

  private async run(): Promise<void> {
    const { subscriber: sub, queue, metrics, clock, pollMs, log } = this.o;
    while (!this.stopping) {
      const now = clock();
      const want = now < this.notBefore ? 0 : this.breaker.permits(now, this.inFlight.size, sub.concurrency);
      let jobs: Claimed[] = [];
      try {
        const claimed = await queue.claim(now, this.leaseMs, want);
        metrics.queueDepth.set({ subscriber: sub.id }, claimed.depth);
        jobs = claimed.jobs;
        if (this.queueDown) log.info({ subscriber: sub.id }, 'delivery queue available again');
        this.queueDown = false;
      } catch (err) {
        // Once per outage, not once per poll.
        if (!this.queueDown)
          log.warn(
            { subscriber: sub.id, err: (err as Error).message },
            'delivery queue unavailable: will retry',
          );
        this.queueDown = true;
      }
      for (const job of jobs) {
        this.breaker.started(now);
        const p: Promise<void> = this.deliver(job).finally(() => {
          this.inFlight.delete(p);
          this.wake?.();
        });
        this.inFlight.add(p);
      }
      metrics.breakerState.set({ subscriber: sub.id }, BREAKER_STATE_VALUE[this.breaker.state(clock())]);
      if (jobs.length > 0 && this.inFlight.size < sub.concurrency) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async deliver(c: Claimed): Promise<void> {
    const { subscriber: sub, queue, metrics, clock, log } = this.o;
    try {
      if (c.attempts > sub.maxAttempts) {
        // Claimed again after its lease ran out: the process making the last attempt stopped
        // during it. The attempt counted; no further one is made.
        const last = (await queue.lastError(c.id)) ?? 'outcome of the last attempt unknown';
        return await this.deadLetter(
          c,
          sub.maxAttempts,
          `no success in ${sub.maxAttempts} attempts (last: ${last})`,
          'attempts-exhausted',
        );
      }
      const started = clock();
      const span = this.attemptSpan(c);
      // Tracing off: the job's traceparent goes on as it is.
      const passed = !span && c.job.traceparent ? { traceHeaders: { traceparent: c.job.traceparent } } : {};
      const out = await attempt({
        url: sub.url,
        secret: sub.secret,
        eventId: c.id,
        body: c.job.body,
        timeoutMs: sub.timeoutMs,
        now: started,
        ...(span ? { traceHeaders: this.tracing.headersOf(span) } : passed),
      });
      if (span) endAttemptSpan(span, out);
      const now = clock();
      metrics.attempts.inc({ subscriber: sub.id, outcome: outcomeLabel(out) });
      metrics.attemptSeconds.observe({ subscriber: sub.id }, (now - started) / 1000);
      this.recordHealth(now, out);
      if (out.kind === 'delivered') {
        await queue.finish(c.id, 'delivered');
        metrics.delivered.inc({ subscriber: sub.id, to: c.job.toStage });
        log.info(
          { subscriber: sub.id, lead: c.job.leadId, eventId: c.id, to: c.job.toStage, attempt: c.attempts },
          'alert delivered',
        );
        return;
      }
      if (out.kind === 'rejected') {
        return await this.deadLetter(c, c.attempts, `the receiver refused it (${out.error})`, 'rejected');
      }
      const retryAfter =
        out.retryAfterMs === null ? null : Math.min(out.retryAfterMs, this.o.retry.retryAfterMaxMs);
      if (retryAfter !== null) this.notBefore = Math.max(this.notBefore, now + retryAfter);
      if (c.attempts >= sub.maxAttempts) {
        return await this.deadLetter(
          c,
          c.attempts,
          `no success in ${c.attempts} attempts (last: ${out.error})`,
          'attempts-exhausted',
        );
      }
      const { initialMs, maxMs } = this.o.retry;
      const wait = Math.max(backoffMs(c.attempts - 1, initialMs, maxMs, this.o.random), retryAfter ?? 0);
      await queue.retryAt(c.id, now + wait, out.error);
      metrics.retried.inc({ subscriber: sub.id });
      log.warn(
        { subscriber: sub.id, eventId: c.id, attempt: c.attempts, error: out.error, retryInMs: wait },
        'delivery failed: will retry',
      );
    } catch (err) {
      // Redis or the broker failed around the attempt: the job stays leased and is claimed again
      // when its lease ends; the attempt it made counts.
      log.warn(
        { subscriber: sub.id, eventId: c.id, err: (err as Error).message },
        'could not record a delivery outcome: the job comes back after its lease',
      );
    }
  }

  /**
   * The attempt's CLIENT span, under the job's trace (a new one when tracing is on and the job has
   * none). No URL attribute: a webhook URL may hold a token; the host and port say enough.
   */
  private attemptSpan(c: Claimed): Span | undefined {
    if (!this.tracing.enabled) return undefined;
    const url = new URL(this.o.subscriber.url);
    const parent = this.tracing.extract(c.job.traceparent ? { traceparent: c.job.traceparent } : {});
    return this.tracing.tracer.startSpan(
      'POST',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': 'POST',
          'server.address': url.hostname,
          'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
          'http.request.resend_count': c.attempts - 1,
          'leadscorer.subscriber': this.o.subscriber.id,
          'leadscorer.lead.id': c.job.leadId,
        },
      },
      parent,
    );
  }

  private recordHealth(now: number, out: Outcome): void {
    const before = this.breaker.state(now);
    this.breaker.record(now, !(out.kind === 'retry' && out.down));
    const after = this.breaker.state(now);
    const id = this.o.subscriber.id;
    if (after === 'open' && before !== 'open') {
      this.o.metrics.breakerOpened.inc({ subscriber: id });
      this.o.log.warn(
        { subscriber: id, cooldownMs: this.o.breaker.cooldownMs },
        'receiver failing: circuit breaker open',
      );
    } else if (after === 'closed' && before !== 'closed') {
      this.o.log.info({ subscriber: id }, 'receiver answers again: circuit breaker closed');
    }
    this.o.metrics.breakerState.set({ subscriber: id }, BREAKER_STATE_VALUE[after]);
  }

  private async deadLetter(c: Claimed, attempts: number, why: string, reason: string): Promise<void> {
    const sub = this.o.subscriber;
    const error = new LeadScorerError('DELIVERY_FAILED', `subscriber ${sub.id}: event ${c.id}: ${why}`, {
      details: { subscriber: sub.id, eventId: c.id, attempts, reason },
    });
    await this.o.deadLetters.send([{ message: consumed(c.job), error }], this.o.clock());
    await this.o.queue.finish(c.id, 'dead-lettered');
    this.o.metrics.deadLettered.inc({ subscriber: sub.id, reason });
    this.o.onDeadLetter(reason);
    this.o.log.warn(
      { subscriber: sub.id, lead: c.job.leadId, eventId: c.id, attempts, reason },
      'alert dead-lettered',
    );
  }
}

/** The original Kafka message of a job, as the dead-letter sink takes it. */
function consumed(job: Job): ConsumedMessage {
  const s = job.source;
  return {
    topic: s.topic,
    partition: s.partition,
    offset: s.offset,
    timestamp: s.timestamp,
    key: s.key === null ? null : Buffer.from(s.key, 'base64'),
    value: s.value === null ? null : Buffer.from(s.value, 'base64'),
    headers: {},
  };
}

function endAttemptSpan(span: Span, out: Outcome): void {
  if (out.status !== null) span.setAttribute('http.response.status_code', out.status);
  if (out.kind !== 'delivered') {
    span.setAttribute('error.type', out.status === null ? out.error : String(out.status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}
