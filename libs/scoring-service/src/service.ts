import { ensureTopics, type InputTopicName } from '@leadscorer/contracts';
import { KafkajsSource, type OpsServer, startOpsServer } from '@leadscorer/runtime';
import { loadScoringEnv } from './config.ts';
import { FadingLoop } from './fading.ts';
import { createScoringProcessor } from './processor.ts';
import { OutboxRelay } from './relay.ts';
import { type Wiring, wire } from './wiring.ts';

export interface RunningService {
  wiring: Wiring;
  ops: OpsServer;
  isReady(): boolean;
  /** Finish the batch in hand, commit, leave the group, close every client. */
  stop(): Promise<void>;
}

export interface ConsumerServiceSpec {
  service: string;
  /** Ops port when HTTP_PORT is unset (distinct per service so they can share a host). */
  defaultPort: number;
  topics: InputTopicName[];
  onFatal: (err: unknown) => void;
}

/** A consumer service: one consumer group over its input topics, applying events to Redis. */
export async function startConsumerService(
  spec: ConsumerServiceSpec,
  rawEnv: NodeJS.ProcessEnv,
): Promise<RunningService> {
  const env = loadScoringEnv(rawEnv);
  const w = wire(spec.service, env);
  const topics = spec.topics.map((t) => w.catalogue.get(t).topic);
  const source = new KafkajsSource({
    kafka: w.kafka,
    groupId: env.CONSUMER_GROUP ?? `lead-scorer.${spec.service}`,
    topics,
    log: w.log.child({ component: 'consumer' }),
    metrics: w.metrics,
    chunkSize: env.APPLY_CHUNK_SIZE,
    sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
    partitionsConcurrently: env.PARTITIONS_CONCURRENTLY,
    retry: { initialMs: env.RETRY_INITIAL_MS, maxMs: env.RETRY_MAX_MS },
    onFatal: (err) => {
      w.log.fatal({ err }, 'unrecoverable error: crashing');
      spec.onFatal(err);
    },
  });
  const processor = createScoringProcessor({ ...w, service: spec.service });
  await w.redis.connect();
  await w.producer.connect();
  if (env.ENSURE_TOPICS) {
    const admin = w.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, w.catalogue.specs());
    } finally {
      await admin.disconnect();
    }
  }
  const ops = await startOpsServer({
    host: env.HTTP_HOST,
    port: env.HTTP_PORT ?? spec.defaultPort,
    registry: w.metrics.registry,
    live: () => source.isLive(),
    ready: () => source.isReady(),
  });
  await source.start(processor);
  w.log.info({ topics, port: ops.port }, 'consuming');
  return {
    wiring: w,
    ops,
    isReady: () => source.isReady(),
    stop: async () => {
      await source.stop();
      await w.producer.disconnect();
      w.redis.disconnect();
      await ops.close();
    },
  };
}

/** A background loop the relay and fading services run: started after wiring, stopped first. */
interface Loop {
  start(): void;
  stop(): Promise<void>;
  isHealthy(): boolean;
  isLive(): boolean;
}

/** Wires, connects, serves the ops endpoints and runs one loop: the shape of relay and fading. */
async function startLoopService(
  spec: { service: string; defaultPort: number },
  rawEnv: NodeJS.ProcessEnv,
  build: (w: Wiring) => Loop,
  what: string,
): Promise<RunningService> {
  const env = loadScoringEnv(rawEnv);
  const w = wire(spec.service, env);
  await w.redis.connect();
  await w.producer.connect();
  const loop = build(w);
  const ops = await startOpsServer({
    host: env.HTTP_HOST,
    port: env.HTTP_PORT ?? spec.defaultPort,
    registry: w.metrics.registry,
    live: () => loop.isLive(),
    ready: () => loop.isHealthy(),
  });
  loop.start();
  w.log.info({ port: ops.port }, what);
  return {
    wiring: w,
    ops,
    isReady: () => loop.isHealthy(),
    stop: async () => {
      await loop.stop();
      await w.producer.disconnect();
      w.redis.disconnect();
      await ops.close();
    },
  };
}

/** The outbox relay service: publishes stage changes the consumers' inline path left behind. */
export function startRelayService(
  spec: { service: string; defaultPort: number },
  rawEnv: NodeJS.ProcessEnv,
): Promise<RunningService> {
  return startLoopService(
    spec,
    rawEnv,
    (w) => {
      const relay = new OutboxRelay({
        store: w.store,
        publisher: w.publisher,
        metrics: w.metrics,
        log: w.log.child({ component: 'relay' }),
        intervalMs: w.env.RELAY_INTERVAL_MS,
        minAgeMs: w.env.RELAY_MIN_AGE_MS,
        batchSize: 200,
      });
      return {
        start: () => relay.start(),
        stop: () => relay.stop(),
        isHealthy: () => relay.isHealthy(),
        isLive: () => true,
      };
    },
    'relaying the outbox',
  );
}

/** The fading-leads service: moves leads whose stage changes by time alone, on time. */
export function startFadingService(
  spec: { service: string; defaultPort: number },
  rawEnv: NodeJS.ProcessEnv,
): Promise<RunningService> {
  return startLoopService(
    spec,
    rawEnv,
    (w) => {
      const loop = new FadingLoop({
        store: w.store,
        publisher: w.publisher,
        log: w.log.child({ component: 'fading' }),
        clock: w.clock,
        pollMs: w.env.FADE_POLL_MS,
        batchSize: 200,
      });
      return {
        start: () => loop.start(),
        stop: () => loop.stop(),
        isHealthy: () => loop.isHealthy(),
        // Live while passes keep completing (a wedged loop gets the pod restarted).
        isLive: () => loop.lastPassAt() === 0 || Date.now() - loop.lastPassAt() < 60_000,
      };
    },
    'moving fading leads',
  );
}
