import {
  createCatalogue,
  createRegistryClient,
  createSerde,
  deadLetterMessage,
  type LeadStageChanged,
} from '@leadscorer/contracts';
import { isPoison, LeadScorerError } from '@leadscorer/errors';
import {
  type BatchProcessor,
  createKafka,
  createLogger,
  createMetrics,
  createRedis,
  KafkajsSource,
  type OpsServer,
  startOpsServer,
} from '@leadscorer/runtime';
import { Counter } from 'prom-client';
import { type AlertsEnv, loadAlertsEnv } from './config.ts';
import { deliver } from './webhook.ts';

export interface SalesAlerts {
  ops: OpsServer;
  isReady(): boolean;
  stop(): Promise<void>;
}

/**
 * The reference downstream consumer of lead.stage-changed: POSTs chosen stage changes to a
 * webhook, signed, retried with backoff, deduplicated by event id (remembered in Redis for
 * DEDUPE_TTL_SECONDS, so memory is bounded), dead-lettered after the bounded attempts.
 */
export async function startSalesAlerts(
  rawEnv: NodeJS.ProcessEnv,
  onFatal: (err: unknown) => void,
  defaultPort = 9469,
): Promise<SalesAlerts> {
  const env: AlertsEnv = loadAlertsEnv(rawEnv);
  const service = 'sales-alerts';
  const log = createLogger(service, env.LOG_LEVEL);
  const metrics = createMetrics(service);
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
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const redis = createRedis(env, 'lead-scorer.sales-alerts');
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
        const dead = deadLetterMessage(m, err, { service, now });
        try {
          await producer.send({ topic: dlqTopic, acks: -1, messages: [dead.message] });
        } catch (e) {
          throw new LeadScorerError('BROKER_UNAVAILABLE', `dead-lettering: ${(e as Error).message}`, {
            cause: e,
          });
        }
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
    onFatal: (err) => {
      log.fatal({ err }, 'unrecoverable error: crashing');
      onFatal(err);
    },
  });
  await redis.connect();
  await producer.connect();
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
  const ops = await startOpsServer({
    host: env.HTTP_HOST,
    port: env.HTTP_PORT ?? defaultPort,
    registry: metrics.registry,
    live: () => source.isLive(),
    ready: () => source.isReady(),
  });
  await source.start(processor);
  log.info(
    { topic: input, webhook: new URL(env.WEBHOOK_URL).host, stages: [...env.ALERT_STAGES] },
    'sending alerts',
  );
  return {
    ops,
    isReady: () => source.isReady(),
    stop: async () => {
      await source.stop();
      await producer.disconnect();
      redis.disconnect();
      await ops.close();
    },
  };
}
