import {
  createCatalogue,
  createRegistryClient,
  createSerde,
  type LeadStageChanged,
} from '@leadscorer/contracts';
import { isPoison, LeadScorerError } from '@leadscorer/errors';
import {
  type BatchProcessor,
  createKafka,
  createRedis,
  KafkajsSource,
  type RunningService,
  startService,
} from '@leadscorer/runtime';
import { KafkaDeadLetterSink } from '@leadscorer/scoring-service';
import { Partitioners } from 'kafkajs';
import { Counter } from 'prom-client';
import { type AlertsEnv, loadAlertsEnv } from './config.ts';
import { deliver } from './webhook.ts';

/**
 * The reference downstream consumer of lead.stage-changed: POSTs chosen stage changes to a
 * webhook, signed, retried with backoff, deduplicated by event id (remembered in Redis for
 * DEDUPE_TTL_SECONDS, so memory is bounded), dead-lettered after the bounded attempts.
 */
export function startSalesAlerts(
  rawEnv: NodeJS.ProcessEnv,
  onFatal: (err: unknown) => void,
  defaultPort = 9469,
): Promise<RunningService> {
  return startService<AlertsEnv>({
    name: 'sales-alerts',
    defaultPort,
    env: loadAlertsEnv(rawEnv),
    onFatal,
    build: ({ name: service, env, log, metrics, fatal }) => {
      const delivered = new Counter({
        name: 'leadscorer_alerts_delivered_total',
        help: 'Stage changes accepted by the webhook, by target stage',
        labelNames: ['to'],
        registers: [metrics.registry],
      });
      const skipped = new Counter({
        name: 'leadscorer_alerts_skipped_total',
        help: 'Stage changes not sent (reason: not-chosen, already-delivered)',
        labelNames: ['reason'],
        registers: [metrics.registry],
      });
      const catalogue = createCatalogue({ prefix: env.TOPIC_PREFIX });
      const input = catalogue.get('lead.stage-changed.v1').topic;
      const dlqTopic = `${input}.sales-alerts.dlq`;
      const serde = createSerde({ registry: createRegistryClient(env.SCHEMA_REGISTRY_URL), catalogue });
      const kafka = createKafka(env, 'lead-scorer.sales-alerts', log);
      const producer = kafka.producer({
        allowAutoTopicCreation: false,
        // Murmur2 on the key, as the Java client and our contract require (docs/contracts.md).
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      const redis = createRedis(env, 'lead-scorer.sales-alerts');
      const deadLetters = new KafkaDeadLetterSink({ producer, service, topicOf: () => dlqTopic });
      const sentKey = (eventId: string) => `${env.REDIS_KEY_PREFIX}:alerts:sent:${eventId}`;

      const processor: BatchProcessor = async (messages) => {
        for (const m of messages) {
          metrics.consumed.inc({ topic: m.topic });
          const now = Date.now();
          let record: LeadStageChanged;
          try {
            record = (await serde.decode(m.topic, m, now)).record as LeadStageChanged;
            if (!env.ALERT_STAGES.has(record.toStage)) {
              skipped.inc({ reason: 'not-chosen' });
              continue;
            }
            if ((await redis.exists(sentKey(record.eventId))) === 1) {
              skipped.inc({ reason: 'already-delivered' });
              metrics.deduplicated.inc({ topic: m.topic, reason: 'event-id' });
              continue;
            }
            await deliver(
              {
                url: env.WEBHOOK_URL,
                secret: env.WEBHOOK_SECRET,
                maxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
                timeoutMs: env.WEBHOOK_TIMEOUT_MS,
                retryInitialMs: env.WEBHOOK_RETRY_INITIAL_MS,
              },
              record.eventId,
              JSON.stringify(record),
              Date.now,
            );
            await redis.set(sentKey(record.eventId), '1', 'EX', env.DEDUPE_TTL_SECONDS);
            delivered.inc({ to: record.toStage });
            metrics.applied.inc({ topic: m.topic });
            log.info({ lead: record.leadId, eventId: record.eventId, to: record.toStage }, 'alert delivered');
          } catch (err) {
            if (!isPoison(err)) {
              if (err instanceof LeadScorerError) throw err;
              // ioredis errors while checking or recording the dedupe mark: transient.
              throw new LeadScorerError('REDIS_UNAVAILABLE', `dedupe store: ${(err as Error).message}`, {
                cause: err,
              });
            }
            const code = (err as LeadScorerError).code;
            metrics.deadLettered.inc({ topic: m.topic, reason: code });
            log.warn({ topic: m.topic, offset: m.offset, code }, 'dead-lettering stage change');
            await deadLetters.send([{ message: m, error: err }], now);
          }
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
          await source.start(processor);
          log.info(
            { topic: input, webhook: new URL(env.WEBHOOK_URL).host, stages: [...env.ALERT_STAGES] },
            'sending alerts',
          );
        },
        stop: async () => {
          await source.stop();
          await producer.disconnect();
          redis.disconnect();
        },
        live: () => source.isLive(),
        ready: () => source.isReady(),
      };
    },
  });
}
