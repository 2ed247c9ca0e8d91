import { Counter, collectDefaultMetrics, Gauge, Histogram, type LabelValues, Registry } from 'prom-client';

/**
 * One registry per process, injected into every component. Labels carry topics, stages,
 * rule ids and error codes only: never lead ids (unbounded cardinality) nor personal data.
 */
export interface Metrics {
  registry: Registry;
  consumed: Counter<'topic'>;
  applied: Counter<'topic'>;
  deduplicated: Counter<'topic' | 'reason'>;
  filtered: Counter<'topic' | 'reason'>;
  deadLettered: Counter<'topic' | 'reason'>;
  retries: Counter<'code'>;
  eventToApplied: Histogram<'topic'>;
  eventToStageChangePublished: Histogram<'to'>;
  consumerLag: Gauge<'topic' | 'partition'>;
  redisScript: Histogram<'script'>;
  commitConflicts: Counter;
  stateLost: Gauge;
  partitionRewinds: Counter<'topic'>;
  transitions: Counter<'from' | 'to'>;
  stageChangesPublished: Counter<'source'>;
  stageChangesWithdrawn: Counter;
  generation: Gauge;
  outboxDepth: Gauge;
  snapshotQueueDepth: Gauge;
  ruleHits: Counter<'rule'>;
  /** HTTP server requests of the ops server (and the read API), by method, route template, status. */
  httpRequests: Counter<HttpLabel>;
  httpDuration: Histogram<HttpLabel>;
}

/** OpenTelemetry's HTTP server attributes, as Prometheus names them (dots become underscores). */
export type HttpLabel = 'http_request_method' | 'http_route' | 'http_response_status_code';
const HTTP_LABELS: HttpLabel[] = ['http_request_method', 'http_route', 'http_response_status_code'];
// The OpenTelemetry semantic conventions' advice for http.server.request.duration.
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

// Event time to applied spans sub-second (live) to hours (replays, late events).
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600];
const SCRIPT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export function createMetrics(service: string, opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // Under prom-client's standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes,
  // ...), unprefixed, so generic Node.js dashboards and alerts work on them as they are.
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const r = [registry];
  return {
    registry,
    consumed: new Counter({
      name: 'leadscorer_events_consumed_total',
      help: 'Messages read from an input topic',
      labelNames: ['topic'],
      registers: r,
    }),
    applied: new Counter({
      name: 'leadscorer_events_applied_total',
      help: 'Events applied to lead state',
      labelNames: ['topic'],
      registers: r,
    }),
    deduplicated: new Counter({
      name: 'leadscorer_events_deduplicated_total',
      help: 'Events ignored as already applied (reason: offset = Kafka redelivery, event-id = upstream duplicate)',
      labelNames: ['topic', 'reason'],
      registers: r,
    }),
    filtered: new Counter({
      name: 'leadscorer_events_filtered_total',
      help: 'Events recognised as machine activity (bots, privacy proxies, link scanners): counted, not scored',
      labelNames: ['topic', 'reason'],
      registers: r,
    }),
    deadLettered: new Counter({
      name: 'leadscorer_events_dead_lettered_total',
      help: 'Messages sent to a dead-letter topic, by error code',
      labelNames: ['topic', 'reason'],
      registers: r,
    }),
    retries: new Counter({
      name: 'leadscorer_transient_retries_total',
      help: 'Batches retried after a transient fault (broker, registry or Redis unavailable)',
      labelNames: ['code'],
      registers: r,
    }),
    eventToApplied: new Histogram({
      name: 'leadscorer_event_to_applied_seconds',
      help: 'Event time to the event being applied in Redis',
      labelNames: ['topic'],
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    eventToStageChangePublished: new Histogram({
      name: 'leadscorer_event_to_stage_change_published_seconds',
      help: 'Event time of the cause to the stage change being acknowledged by the broker',
      labelNames: ['to'],
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    consumerLag: new Gauge({
      name: 'leadscorer_consumer_lag',
      help: 'Messages behind the partition high watermark, as of the last applied batch',
      labelNames: ['topic', 'partition'],
      registers: r,
    }),
    stateLost: new Gauge({
      name: 'leadscorer_state_lost',
      help: '1 while the service refuses to apply: Redis holds no (or another) state epoch, see deploy/README.md#leadscorerstatelost',
      registers: r,
    }),
    partitionRewinds: new Counter({
      name: 'leadscorer_partition_rewinds_total',
      help: 'Partitions sought back because Redis held them applied only up to an earlier offset than Kafka (Redis went back in time)',
      labelNames: ['topic'],
      registers: r,
    }),
    commitConflicts: new Counter({
      name: 'leadscorer_commit_conflicts_total',
      help: 'Lead commits skipped because another writer changed the lead since it was read (redone from a fresh read)',
      registers: r,
    }),
    redisScript: new Histogram({
      name: 'leadscorer_redis_script_seconds',
      help: 'Latency of one Redis round trip (script: read = the leads of a batch, commit = the compare-and-set script)',
      labelNames: ['script'],
      buckets: SCRIPT_BUCKETS,
      registers: r,
    }),
    transitions: new Counter({
      name: 'leadscorer_stage_transitions_total',
      help: 'Stage transitions recorded, by from and to stage',
      labelNames: ['from', 'to'],
      registers: r,
    }),
    stageChangesPublished: new Counter({
      name: 'leadscorer_stage_changes_published_total',
      help: 'lead.stage-changed messages acknowledged by the broker (source: inline, scheduler or relay)',
      labelNames: ['source'],
      registers: r,
    }),
    stageChangesWithdrawn: new Counter({
      name: 'leadscorer_stage_changes_withdrawn_total',
      help: 'Stage changes held for durability that Redis no longer held when due (it went back in time): not published, derived again from the events',
      registers: r,
    }),
    generation: new Gauge({
      name: 'leadscorer_generation',
      help: 'The generation of Redis keys (and model) the service works on; a rescore switches to the next',
      registers: r,
    }),
    outboxDepth: new Gauge({
      name: 'leadscorer_outbox_depth',
      help: 'Stage changes recorded in Redis and not yet published',
      registers: r,
    }),
    snapshotQueueDepth: new Gauge({
      name: 'leadscorer_snapshot_queue_depth',
      help: 'Stage changes and tombstones queued in Redis and not yet written to lead.stage.v1',
      registers: r,
    }),
    ruleHits: new Counter({
      name: 'leadscorer_rule_hits_total',
      help: 'Scoring rule hits, by rule id',
      labelNames: ['rule'],
      registers: r,
    }),
    // OpenTelemetry's http.server.request.duration (seconds) under its Prometheus name, and a
    // request counter beside it for dashboards that expect one.
    httpRequests: new Counter({
      name: 'http_server_requests_total',
      help: 'HTTP requests answered, by method, route template (never a raw path) and status code',
      labelNames: HTTP_LABELS,
      registers: r,
    }),
    httpDuration: new Histogram({
      name: 'http_server_request_duration_seconds',
      help: 'Duration of HTTP server requests, by method, route template and status code',
      labelNames: HTTP_LABELS,
      buckets: HTTP_BUCKETS,
      registers: r,
    }),
  };
}

/**
 * Counts one counter's label sets over a batch and increments each once on flush(). prom-client
 * hashes and validates the labels on every inc(); per message that cost more than the rest of
 * the bookkeeping. The counter ends up with the same values as with one inc() per occurrence.
 * Label values must not contain U+0000 (it joins them into the tally key); ours are topics,
 * codes, reasons and rule ids.
 */
export class CounterTally<L extends string> {
  private readonly counter: Counter<L>;
  private readonly names: readonly L[];
  private readonly counts = new Map<string, number>();

  /** `names`: the counter's label names, in the order add() takes their values. */
  constructor(counter: Counter<L>, names: readonly [L] | readonly [L, L]) {
    this.counter = counter;
    this.names = names;
  }

  add(first: string, second?: string): void {
    const key = second === undefined ? first : `${first}\u0000${second}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Increments the counter by what was tallied since the last flush. */
  flush(): void {
    for (const [key, n] of this.counts) {
      const values = this.names.length === 1 ? [key] : key.split('\u0000');
      const labels: LabelValues<L> = {};
      this.names.forEach((name, i) => {
        labels[name] = values[i]!;
      });
      this.counter.inc(labels, n);
    }
    this.counts.clear();
  }
}
