import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import {
  ArchiveWriter,
  eraseLeads,
  MessageAcceptor,
  removeTemporaryFiles,
  WriterSchemas,
} from '@leadscorer/archive';
import {
  AVRO_SCHEMAS,
  createCatalogue,
  createRegistryClient,
  createSerde,
  ensureTopics,
} from '@leadscorer/contracts';
import { leadHash } from '@leadscorer/core';
import { LeadScorerError } from '@leadscorer/errors';
import { createKafka, type RunningService, registryAuth, startService } from '@leadscorer/runtime';
import { type ArchiverEnv, loadArchiverEnv } from './config.ts';
import { ArchiveConsumer } from './consumer.ts';
import { archiveMetrics } from './metrics.ts';

/**
 * The archiver: one consumer group over every input topic of the catalogue (outcomes included),
 * writing them to Avro object container files under ARCHIVE_DIR (docs/archive.md).
 */
export function startArchiver(
  rawEnv: NodeJS.ProcessEnv,
  onFatal: (err: unknown) => void,
  defaultPort = 9471,
): Promise<RunningService> {
  return startService<ArchiverEnv>({
    name: 'archiver',
    defaultPort,
    env: loadArchiverEnv(rawEnv),
    onFatal,
    build: ({ env, log, metrics, fatal }) => {
      const catalogue = createCatalogue({ prefix: env.TOPIC_PREFIX });
      const topics = catalogue.inputs.map((t) => t.topic);
      const schemas = new WriterSchemas(env.SCHEMA_REGISTRY_URL);
      const known = new Map<number, Record<string, unknown>>();
      const archive = archiveMetrics(metrics);
      const kafka = createKafka(env, 'lead-scorer.archiver', log);
      let writer: ArchiveWriter | undefined;
      let consumer: ArchiveConsumer | undefined;
      return {
        connect: async () => {
          await usableDir(env.ARCHIVE_DIR);
          const removed = await removeTemporaryFiles(env.ARCHIVE_DIR);
          if (removed > 0) log.info({ removed }, 'removed files an interrupted write left behind');
          writer = new ArchiveWriter({
            root: env.ARCHIVE_DIR,
            topics,
            codec: env.ARCHIVE_CODEC,
            limits: {
              records: env.ARCHIVE_FLUSH_RECORDS,
              bytes: env.ARCHIVE_FLUSH_BYTES,
              ageMs: env.ARCHIVE_FLUSH_INTERVAL_MS,
            },
            maxPendingBytes: env.ARCHIVE_MAX_PENDING_BYTES,
            schemaOf: (topic, schemaId) => {
              if (schemaId === null) return AVRO_SCHEMAS[catalogue.byTopic(topic)!.name];
              const schema = known.get(schemaId);
              if (!schema)
                throw new LeadScorerError('INVARIANT_VIOLATED', `schema id ${schemaId} not learnt`);
              return schema;
            },
            clock: Date.now,
            onWritten: (seg, file, seconds) => {
              archive.files.inc({ topic: seg.topic });
              archive.bytes.inc({ topic: seg.topic }, file.bytes);
              archive.records.inc({ topic: seg.topic }, file.records);
              archive.writeSeconds.observe(seconds);
            },
          });
          consumer = new ArchiveConsumer({
            kafka,
            groupId: env.CONSUMER_GROUP,
            topics,
            writer,
            acceptor: new MessageAcceptor(
              createSerde({
                registry: createRegistryClient(env.SCHEMA_REGISTRY_URL, registryAuth(env)),
                catalogue,
              }),
            ),
            learnSchema: async (id) => {
              if (!known.has(id)) known.set(id, await schemas.get(id));
            },
            log: log.child({ component: 'consumer' }),
            metrics,
            archive,
            partitionsConcurrently: env.PARTITIONS_CONCURRENTLY,
            sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
            retry: { initialMs: env.RETRY_INITIAL_MS, maxMs: env.RETRY_MAX_MS },
            tickMs: Math.min(1_000, env.ARCHIVE_FLUSH_INTERVAL_MS),
            onFatal: fatal,
            erasure: {
              profileTopic: catalogue.get('lead.profile.v1').topic,
              erase: async (leadId) => {
                const r = await eraseLeads(env.ARCHIVE_DIR, new Set([leadId]));
                log.info(
                  { leadHash: leadHash(leadId), filesRewritten: r.filesRewritten, records: r.recordsRemoved },
                  'lead erased from the archive',
                );
              },
            },
          });
          log.info({ dir: env.ARCHIVE_DIR, topics, codec: env.ARCHIVE_CODEC }, 'configured');
        },
        ensureTopics: async () => {
          const admin = kafka.admin();
          await admin.connect();
          try {
            await ensureTopics(admin, catalogue.specs());
          } finally {
            await admin.disconnect();
          }
        },
        start: async () => {
          await consumer!.start();
        },
        stop: async () => {
          await consumer?.stop();
        },
        live: () => consumer?.isLive() ?? true,
        ready: () => consumer?.isReady() ?? false,
      };
    },
  });
}

/** ARCHIVE_DIR exists (created if need be) and is writable, or the start fails naming it. */
async function usableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new LeadScorerError(
      'CONFIG_INVALID',
      `invalid configuration:\n  ARCHIVE_DIR: ${dir} is not a writable directory (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
}
