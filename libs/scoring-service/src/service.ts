import { setTimeout as sleep } from 'node:timers/promises';
import { type ControlTopicName, ensureTopics, type InputTopicName } from '@leadscorer/contracts';
import {
  backoffMs,
  KafkajsSource,
  type RunningService,
  type ServiceParts,
  startService,
} from '@leadscorer/runtime';
import { loadScoringEnv, type ScoringEnv } from './config.ts';
import { ErasedLeads, eraseLead } from './erasure.ts';
import { FadingLoop } from './fading.ts';
import { PartitionTracker } from './partitions.ts';
import { createScoringProcessor } from './processor.ts';
import { resolvePublishHold } from './publish-hold.ts';
import { BackgroundPublisher } from './publisher.ts';
import { OutboxRelay, relayMinAge } from './relay.ts';
import { StageSnapshotWriter, snapshotProducer } from './snapshots.ts';
import { StateGuard } from './state-guard.ts';
import { type Wiring, wire } from './wiring.ts';

/** A running scoring-side service and what it was built from (tests read its metrics and model). */
export interface ScoringService extends RunningService {
  wiring: Wiring;
}

export interface ConsumerServiceSpec {
  service: string;
  /** Ops port when HTTP_PORT is unset (distinct per service so they can share a host). */
  defaultPort: number;
  topics: InputTopicName[];
  /** Control topics it acts on (lead-context: erasure requests). */
  controlTopics?: ControlTopicName[];
  onFatal: (err: unknown) => void;
}

/** Clients every scoring-side service connects and closes the same way. */
function clientParts(w: Wiring): Pick<ServiceParts, 'connect'> & { close(): Promise<void> } {
  return {
    connect: async () => {
      await w.redis.connect();
      await w.producer.connect();
      // The generation of keys (and its model) to work on; followed from then on.
      await w.generation.init();
      w.generation.start();
    },
    close: async () => {
      w.generation.stop();
      await w.producer.disconnect();
      w.redis.disconnect();
    },
  };
}

async function startScoring(
  spec: { service: string; defaultPort: number; onFatal: (err: unknown) => void },
  rawEnv: NodeJS.ProcessEnv,
  build: (
    w: Wiring,
    fatal: (err: unknown) => void,
  ) => Omit<ServiceParts, 'connect' | 'stop'> & {
    stopWork(): Promise<void>;
  },
): Promise<ScoringService> {
  let wiring: Wiring | undefined;
  const running = await startService<ScoringEnv>({
    name: spec.service,
    defaultPort: spec.defaultPort,
    env: loadScoringEnv(rawEnv),
    onFatal: spec.onFatal,
    build: (ctx) => {
      const w = wire(ctx);
      wiring = w;
      const clients = clientParts(w);
      const { stopWork, ...parts } = build(w, ctx.fatal);
      return {
        ...parts,
        connect: clients.connect,
        stop: async () => {
          await stopWork();
          await clients.close();
        },
      };
    },
  });
  return { ...running, wiring: wiring! };
}

/**
 * How long a partition must be quiet before its positions are compared with Redis's (a quiet
 * partition meets no fenced commit: partitions.ts, audit), and how often they are.
 */
const AUDIT_IDLE_MS = 5_000;

/** A consumer service: one consumer group over its input topics, scoring events into Redis. */
export function startConsumerService(
  spec: ConsumerServiceSpec,
  rawEnv: NodeJS.ProcessEnv,
): Promise<ScoringService> {
  return startScoring(spec, rawEnv, (w, fatal) => {
    const { env } = w;
    const topics = [...spec.topics, ...(spec.controlTopics ?? [])].map((t) => w.catalogue.get(t).topic);
    let stopping = false;
    const suppressMs = env.ERASURE_SUPPRESS_DAYS * 86_400_000;
    const erased = new ErasedLeads({
      redis: w.redis,
      base: env.REDIS_KEY_PREFIX,
      log: w.log.child({ component: 'erasure' }),
      pollMs: env.ERASURE_POLL_MS,
      suppressMs,
    });
    const erases = spec.controlTopics?.includes('lead.erasure-requests.v1') ?? false;
    let audit: NodeJS.Timeout | undefined;
    let auditing = false;
    const groupId = env.CONSUMER_GROUP ?? `lead-scorer.${spec.service}`; // consumers.ts defaultGroup
    const source = new KafkajsSource({
      kafka: w.kafka,
      groupId,
      topics,
      log: w.log.child({ component: 'consumer' }),
      metrics: w.metrics,
      chunkSize: env.APPLY_CHUNK_SIZE,
      sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
      partitionsConcurrently: env.PARTITIONS_CONCURRENTLY,
      retry: { initialMs: env.RETRY_INITIAL_MS, maxMs: env.RETRY_MAX_MS },
      onFatal: fatal,
      // Partitions may have moved: read their positions in Redis again before applying.
      onGroupJoin: () => partitions.reset(),
    });
    const inline = new BackgroundPublisher(w.log.child({ component: 'publisher' }), {
      source: 'inline',
      holdMs: 0,
    });
    const store = () => w.generation.current().store;
    const partitions = new PartitionTracker({
      store,
      group: groupId,
      log: w.log.child({ component: 'positions' }),
      metrics: w.metrics,
      clock: w.clock,
    });
    const state = new StateGuard({
      store,
      log: w.log.child({ component: 'state' }),
      metrics: w.metrics,
      hasHistory: () => groupHasOffsets(w.kafka, groupId, topics),
      generation: () => w.generation.current().record.generation,
    });
    // Positions belong to a generation: a switch forgets them at once (the audit of quiet
    // partitions must not compare the old generation's marks with the new one's).
    w.generation.onSwitch(() => partitions.reset());
    const processor = createScoringProcessor({
      serde: w.serde,
      generation: w.generation,
      deadLetters: w.deadLetters,
      publishInline: (recorded, publisher) => inline.submit(recorded, publisher),
      metrics: w.metrics,
      log: w.log,
      clock: w.clock,
      partitions,
      state,
      erasure: {
        erased,
        profileTopic: w.catalogue.get('lead.profile.v1').topic,
        erase: erases
          ? (leadId, how) =>
              eraseLead(
                {
                  redis: w.redis,
                  base: env.REDIS_KEY_PREFIX,
                  producer: w.producer,
                  catalogue: w.catalogue,
                  log: w.log.child({ component: 'erasure' }),
                  suppressMs,
                  sweepAfterMs: 2 * env.ERASURE_POLL_MS + 500,
                },
                leadId,
                how,
              )
          : undefined,
      },
      tracing: w.tracing,
    });
    return {
      ensureTopics: async () => {
        const admin = w.kafka.admin();
        await admin.connect();
        try {
          await ensureTopics(admin, w.catalogue.specs());
        } finally {
          await admin.disconnect();
        }
      },
      start: async () => {
        // Consume only once Redis holds the state: if it lost it, wait (not ready, metric,
        // one log line) until it is rebuilt or accepted empty, with the ops server up.
        inline.setHold(await publishHold(w));
        await erased.refresh();
        erased.start();
        const begin = async (): Promise<void> => {
          await state.waitUntilOk();
          await source.start(processor);
          w.log.info({ topics }, 'consuming');
        };
        if ((await state.check()) !== undefined) await begin();
        else void begin().catch((err: unknown) => (stopping ? undefined : fatal(err)));
        audit = setInterval(() => {
          if (auditing || !state.ok()) return;
          auditing = true;
          partitions
            .audit(AUDIT_IDLE_MS)
            .then((seeks) => {
              for (const s of seeks) source.seek(s.topic, s.partition, s.offset);
            })
            .catch((err: unknown) => w.log.debug({ err }, 'position audit failed; next time'))
            .finally(() => {
              auditing = false;
            });
        }, AUDIT_IDLE_MS);
        audit.unref();
      },
      stopWork: async () => {
        stopping = true;
        clearInterval(audit);
        erased.stop();
        state.stop();
        await source.stop();
        await inline.flush();
      },
      live: () => source.isLive(),
      ready: () => state.ok() && source.isReady(),
    };
  });
}

/** The outbox relay service: publishes stage changes the consumers' inline path left behind. */
export function startRelayService(
  spec: { service: string; defaultPort: number; onFatal?: (err: unknown) => void },
  rawEnv: NodeJS.ProcessEnv,
): Promise<ScoringService> {
  return startScoring({ onFatal: () => undefined, ...spec }, rawEnv, (w) => {
    const relay = new OutboxRelay({
      current: () => w.generation.current(),
      metrics: w.metrics,
      log: w.log.child({ component: 'relay' }),
      intervalMs: w.env.RELAY_INTERVAL_MS,
      minAgeMs: w.env.RELAY_MIN_AGE_MS,
      batchSize: 200,
    });
    // lead.stage.v1: one writer per shard at a time (a lease), with a producer of its own.
    const producer = snapshotProducer(w.kafka);
    const snapshots = new StageSnapshotWriter({
      current: () => w.generation.current(),
      serde: w.serde,
      topic: w.catalogue.get('lead.stage.v1').topic,
      producer,
      log: w.log.child({ component: 'snapshots' }),
      metrics: w.metrics,
      intervalMs: w.env.RELAY_INTERVAL_MS,
      minAgeMs: 0,
    });
    return {
      start: async () => {
        const hold = await publishHold(w);
        relay.setMinAge(relayMinAge(w.env.RELAY_MIN_AGE_MS, hold));
        snapshots.setMinAge(hold);
        await producer.connect();
        relay.start();
        snapshots.start();
      },
      stopWork: async () => {
        await Promise.all([relay.stop(), snapshots.stop()]);
        await producer.disconnect();
      },
      live: () => true,
      ready: () => relay.isHealthy() && snapshots.isHealthy(),
    };
  });
}

/** The fading-leads service: moves leads whose stage changes by time alone, on time. */
export function startFadingService(
  spec: { service: string; defaultPort: number; onFatal?: (err: unknown) => void },
  rawEnv: NodeJS.ProcessEnv,
): Promise<ScoringService> {
  return startScoring({ onFatal: () => undefined, ...spec }, rawEnv, (w) => {
    const state = new StateGuard({
      store: () => w.generation.current().store,
      log: w.log.child({ component: 'state' }),
      metrics: w.metrics,
      generation: () => w.generation.current().record.generation,
    });
    const publisher = new BackgroundPublisher(w.log.child({ component: 'publisher' }), {
      source: 'scheduler',
      holdMs: 0,
    });
    const loop = new FadingLoop({
      current: () => w.generation.current(),
      state,
      publish: (recorded, p) => publisher.submit(recorded, p),
      metrics: w.metrics,
      log: w.log.child({ component: 'fading' }),
      clock: w.clock,
      pollMs: w.env.FADE_POLL_MS,
      batchSize: 200,
    });
    return {
      start: async () => {
        publisher.setHold(await publishHold(w));
        loop.start();
      },
      stopWork: async () => {
        await loop.stop();
        await publisher.flush();
      },
      // Live while passes keep completing (a wedged loop gets the pod restarted).
      live: () => loop.lastPassAt() === 0 || Date.now() - loop.lastPassAt() < 60_000,
      ready: () => loop.isHealthy(),
    };
  });
}

function publishHold(w: Wiring): Promise<number> {
  return resolvePublishHold(w.env.PUBLISH_HOLD_MS, w.redis, w.log);
}

/** Whether a consumer group has committed any offset on these topics: it applied events before. */
async function groupHasOffsets(kafka: Wiring['kafka'], groupId: string, topics: string[]): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // kafkajs does not retry an OffsetFetch itself: on a cluster that has just started (or moved a
    // group coordinator) the answer is a retriable "coordinator is loading" for a few seconds.
    for (let attempt = 0; ; attempt++) {
      try {
        const offsets = await admin.fetchOffsets({ groupId, topics });
        return offsets.some((t) => t.partitions.some((p) => Number(p.offset) >= 0));
      } catch (err) {
        if (!(err as { retriable?: boolean }).retriable || attempt >= 10) throw err;
        await sleep(backoffMs(attempt, 200, 5_000));
      }
    }
  } finally {
    await admin.disconnect();
  }
}
