import {
  createCatalogue,
  createRegistryClient,
  createSerde,
  type LeadStageChanged,
  REPLAY_HEADERS,
} from '@leadscorer/contracts';
import { DISQUALIFIED, type Model } from '@leadscorer/engine';
import { isPoison, LeadScorerError } from '@leadscorer/errors';
import {
  type BatchProcessor,
  createKafka,
  createRedis,
  type InboundMessage,
  KafkajsSource,
  passThrough,
  type RunningService,
  registryAuth,
  startService,
} from '@leadscorer/runtime';
import { KafkaDeadLetterSink, readModel } from '@leadscorer/scoring-service';
import { SpanKind } from '@opentelemetry/api';
import { Partitioners } from 'kafkajs';
import { type AlertsEnv, loadAlertsEnv } from './config.ts';
import { Deliverer } from './deliverer.ts';
import { createAlertMetrics } from './metrics.ts';
import { DeliveryQueue, type Job } from './queue.ts';
import { loadSubscriptions, type Ranks, type Subscriber, wants } from './subscriptions.ts';

/**
 * The reference downstream consumer of lead.stage-changed: each chosen stage change becomes a job
 * in the durable delivery queue of every subscriber whose filter wants it (Redis), and its Kafka
 * offset is committed as soon as the jobs are recorded. Delivery loops, one per subscriber, POST
 * the jobs signed, retry them with back-off and Retry-After, stop hammering a receiver that is down
 * (circuit breaker) and dead-letter an event once when its attempts run out. The consumer never
 * waits for a receiver, so no receiver can get it evicted from its group.
 */
export async function startSalesAlerts(
  rawEnv: NodeJS.ProcessEnv,
  onFatal: (err: unknown) => void,
  defaultPort = 9469,
): Promise<RunningService> {
  // Checked before anything connects; async so a bad file is a rejection runMain reports in one line.
  const env = loadAlertsEnv(rawEnv);
  const model = readModel(env.MODEL_FILE);
  const subscribers = subscribersOf(env, rawEnv, model);
  return startService<AlertsEnv>({
    name: 'sales-alerts',
    defaultPort,
    env,
    onFatal,
    build: ({ name: service, log, metrics, tracing, fatal }) => {
      const alerts = createAlertMetrics(metrics.registry);
      const catalogue = createCatalogue({ prefix: env.TOPIC_PREFIX });
      const input = catalogue.get('lead.stage-changed.v1').topic;
      const dlqTopic = `${input}.sales-alerts.dlq`;
      const serde = createSerde({
        registry: createRegistryClient(env.SCHEMA_REGISTRY_URL, registryAuth(env)),
        catalogue,
      });
      const kafka = createKafka(env, 'lead-scorer.sales-alerts', log);
      const producer = kafka.producer({
        allowAutoTopicCreation: false,
        // Murmur2 on the key, as the Java client and our contract require (docs/contracts.md).
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      const redis = createRedis(env, 'lead-scorer.sales-alerts');
      const deadLetters = new KafkaDeadLetterSink({ producer, service, topicOf: () => dlqTopic });
      const ranks: Ranks = new Map([[DISQUALIFIED, -1], ...model.ladder.map((s, i) => [s.name, i] as const)]);
      const lanes = subscribers.map((subscriber) => {
        const queue = new DeliveryQueue({
          redis,
          prefix: env.REDIS_KEY_PREFIX,
          subscriber: subscriber.id,
          dedupeTtlMs: env.DEDUPE_TTL_SECONDS * 1000,
        });
        const deliverer = new Deliverer({
          subscriber,
          queue,
          deadLetters,
          metrics: alerts,
          onDeadLetter: () => metrics.deadLettered.inc({ topic: input, reason: 'DELIVERY_FAILED' }),
          log: log.child({ component: 'deliverer' }),
          clock: Date.now,
          retry: {
            initialMs: env.WEBHOOK_RETRY_INITIAL_MS,
            maxMs: env.WEBHOOK_RETRY_MAX_MS,
            retryAfterMaxMs: env.WEBHOOK_RETRY_AFTER_MAX_MS,
          },
          breaker: { failures: env.WEBHOOK_BREAKER_FAILURES, cooldownMs: env.WEBHOOK_BREAKER_COOLDOWN_MS },
          pollMs: env.DELIVERY_POLL_MS,
          tracing,
        });
        return { subscriber, queue, deliverer };
      });

      // Quick by design: decode, filter, record a job per wanting subscriber. Only a poison message
      // is dead-lettered here; Redis trouble is transient (the chunk is retried, never skipped).
      const processor: BatchProcessor = async (messages) => {
        for (const m of messages) {
          metrics.consumed.inc({ topic: m.topic });
          const now = Date.now();
          let record: LeadStageChanged;
          try {
            record = (await serde.decode(m.topic, m, now)).record as LeadStageChanged;
          } catch (err) {
            if (!isPoison(err)) throw err;
            const code = (err as LeadScorerError).code;
            metrics.deadLettered.inc({ topic: m.topic, reason: code });
            log.warn({ topic: m.topic, offset: m.offset, code }, 'dead-lettering stage change');
            await deadLetters.send([{ message: m, error: err }], now);
            continue;
          }
          // The stage change's trace goes on through the queue to the webhook request.
          const span = tracing.enabled
            ? tracing.tracer.startSpan(
                `process ${m.topic}`,
                {
                  kind: SpanKind.CONSUMER,
                  attributes: {
                    'messaging.system': 'kafka',
                    'messaging.operation.type': 'process',
                    'messaging.destination.name': m.topic,
                    'messaging.kafka.message.key': record.leadId,
                  },
                },
                tracing.extract(m.headers),
              )
            : undefined;
          const traceparent = span ? tracing.traceparentOf(span) : passThrough(m.headers);
          const job = jobOf(m, record, traceparent);
          const replay = m.headers[REPLAY_HEADERS.count] !== undefined;
          try {
            await Promise.all(
              lanes.map(async ({ subscriber, queue }) => {
                if (!wants(subscriber, record, ranks)) {
                  alerts.skipped.inc({ subscriber: subscriber.id, reason: 'not-chosen' });
                  return;
                }
                if (await queue.enqueue(record.eventId, job, now, replay)) {
                  alerts.queued.inc({ subscriber: subscriber.id });
                } else {
                  alerts.skipped.inc({ subscriber: subscriber.id, reason: 'already-queued' });
                  metrics.deduplicated.inc({ topic: m.topic, reason: 'event-id' });
                }
              }),
            );
          } finally {
            span?.end();
          }
          metrics.applied.inc({ topic: m.topic });
        }
      };

      const source = new KafkajsSource({
        kafka,
        groupId: env.CONSUMER_GROUP,
        topics: [input],
        log: log.child({ component: 'consumer' }),
        metrics,
        chunkSize: 50,
        partitionsConcurrently: 3,
        sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
        retry: { initialMs: 200, maxMs: 30_000 },
        onFatal: fatal,
      });
      return {
        connect: async () => {
          await redis.connect();
          await producer.connect();
          // Its own dead-letter topic, whatever ENSURE_TOPICS says: it is not in the catalogue the
          // deployment creates, and a dead letter must never find its topic missing.
          const admin = kafka.admin();
          await admin.connect();
          try {
            await admin.createTopics({
              topics: [
                {
                  topic: dlqTopic,
                  numPartitions: 1,
                  configEntries: [{ name: 'retention.ms', value: String(30 * 86_400_000) }],
                },
              ],
              waitForLeaders: true,
            });
          } finally {
            await admin.disconnect();
          }
        },
        start: async () => {
          for (const lane of lanes) lane.deliverer.start();
          await source.start(processor);
          log.info(
            {
              topic: input,
              subscribers: subscribers.map((s) => ({ id: s.id, host: new URL(s.url).host })),
            },
            'sending alerts',
          );
        },
        stop: async () => {
          await source.stop();
          await Promise.all(lanes.map((l) => l.deliverer.stop()));
          await producer.disconnect();
          redis.disconnect();
        },
        live: () => source.isLive(),
        ready: () => source.isReady(),
      };
    },
  });
}

/** The subscribers: from SUBSCRIPTIONS_FILE, or the one WEBHOOK_URL shorthand subscriber. */
function subscribersOf(env: AlertsEnv, rawEnv: NodeJS.ProcessEnv, model: Model): Subscriber[] {
  const defaults = {
    maxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    concurrency: env.WEBHOOK_CONCURRENCY,
  };
  const stages = [...model.ladder.map((s) => s.name), DISQUALIFIED];
  if (env.SUBSCRIPTIONS_FILE)
    return loadSubscriptions(env.SUBSCRIPTIONS_FILE, { env: rawEnv, stages, defaults });
  const unknown = env.ALERT_STAGES.filter((s) => !stages.includes(s));
  if (unknown.length > 0) {
    throw new LeadScorerError(
      'CONFIG_INVALID',
      `invalid configuration:\n  ALERT_STAGES: unknown stage ${unknown.join(', ')} (the model's stages: ${stages.join(', ')})`,
    );
  }
  return [
    {
      id: 'default',
      url: env.WEBHOOK_URL!,
      secret: env.WEBHOOK_SECRET!,
      filter: { stages: new Set(env.ALERT_STAGES), direction: 'any', modelVersions: null },
      ...defaults,
    },
  ];
}

function jobOf(m: InboundMessage, record: LeadStageChanged, traceparent: string | undefined): Job {
  return {
    body: JSON.stringify(record),
    leadId: record.leadId,
    toStage: record.toStage,
    ...(traceparent ? { traceparent } : {}),
    source: {
      topic: m.topic,
      partition: m.partition,
      offset: m.offset,
      timestamp: m.timestamp,
      key: m.key === null ? null : m.key.toString('base64'),
      value: m.value === null ? null : m.value.toString('base64'),
    },
  };
}
