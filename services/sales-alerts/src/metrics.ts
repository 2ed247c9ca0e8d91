import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * sales-alerts' own metrics, per subscriber. Labels are subscriber ids (from the subscriptions
 * file), stages, outcome classes and reasons: never a URL, a lead id or anything personal.
 */
export interface AlertMetrics {
  queued: Counter<'subscriber'>;
  skipped: Counter<'subscriber' | 'reason'>;
  attempts: Counter<'subscriber' | 'outcome'>;
  attemptSeconds: Histogram<'subscriber'>;
  delivered: Counter<'subscriber' | 'to'>;
  retried: Counter<'subscriber'>;
  deadLettered: Counter<'subscriber' | 'reason'>;
  breakerState: Gauge<'subscriber'>;
  breakerOpened: Counter<'subscriber'>;
  queueDepth: Gauge<'subscriber'>;
}

export const BREAKER_STATE_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

export function createAlertMetrics(registry: Registry): AlertMetrics {
  const registers = [registry];
  return {
    queued: new Counter({
      name: 'leadscorer_webhook_queued_total',
      help: 'Stage changes queued for delivery to a subscriber',
      labelNames: ['subscriber'],
      registers,
    }),
    skipped: new Counter({
      name: 'leadscorer_alerts_skipped_total',
      help: 'Stage changes not queued for a subscriber (reason: not-chosen = its filter, already-queued = an event id seen within the dedupe TTL)',
      labelNames: ['subscriber', 'reason'],
      registers,
    }),
    attempts: new Counter({
      name: 'leadscorer_webhook_attempts_total',
      help: 'Webhook requests made, by outcome (2xx, 3xx, 4xx, 429, 5xx, timeout, network)',
      labelNames: ['subscriber', 'outcome'],
      registers,
    }),
    attemptSeconds: new Histogram({
      name: 'leadscorer_webhook_attempt_seconds',
      help: 'Duration of one webhook request, answered or not',
      labelNames: ['subscriber'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    delivered: new Counter({
      name: 'leadscorer_alerts_delivered_total',
      help: 'Stage changes accepted by a subscriber (2xx), by target stage',
      labelNames: ['subscriber', 'to'],
      registers,
    }),
    retried: new Counter({
      name: 'leadscorer_webhook_retries_scheduled_total',
      help: 'Failed attempts put back in the queue for a later try',
      labelNames: ['subscriber'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'leadscorer_webhook_dead_lettered_total',
      help: 'Stage changes given up on and dead-lettered (reason: rejected = a 4xx, attempts-exhausted)',
      labelNames: ['subscriber', 'reason'],
      registers,
    }),
    breakerState: new Gauge({
      name: 'leadscorer_webhook_breaker_state',
      help: 'Circuit breaker of a subscriber in this process: 0 closed, 1 half-open (probing), 2 open',
      labelNames: ['subscriber'],
      registers,
    }),
    breakerOpened: new Counter({
      name: 'leadscorer_webhook_breaker_opened_total',
      help: 'Times the circuit breaker of a subscriber opened (its receiver kept failing)',
      labelNames: ['subscriber'],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'leadscorer_webhook_queue_depth',
      help: 'Deliveries pending for a subscriber (due, waiting for a retry, or in flight)',
      labelNames: ['subscriber'],
      registers,
    }),
  };
}
