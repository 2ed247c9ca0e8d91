import {
  AVRO_SCHEMAS,
  type Catalogue,
  createCatalogue,
  createRegistryAdmin,
  encodeFrame,
  ensureTopics,
  type InputTopicName,
  parseAvro,
  registerSchemas,
  type TopicName,
} from '@leadscorer/contracts';
import type avsc from 'avsc';
import { Kafka, logLevel } from 'kafkajs';
import type { BenchRecord } from './workload.ts';

/**
 * One benchmark run's own deployment on the shared broker and registry: every topic of the
 * catalogue under a unique prefix with the production partition count, schemas registered under
 * that prefix (as the deploy step does), and consumer groups named after it. `cleanup` removes all
 * of it, so runs never see each other's data and leave nothing behind.
 */
export interface Deployment {
  prefix: string;
  catalogue: Catalogue;
  kafka: Kafka;
  brokers: string[];
  registryUrl: string;
  /** Registry id of each subject's schema, for encoding without a lookup per message. */
  schemaIds: Map<TopicName, number>;
  topic(name: TopicName): string;
  /** A consumer group id under the run's prefix, deleted at cleanup. */
  group(name: string): string;
  /** Runs `close` first at cleanup: a group with a live member cannot be deleted (interrupted runs). */
  closeOnCleanup(close: () => Promise<void>): void;
  cleanup(): Promise<string[]>;
}

export async function createDeployment(o: {
  prefix: string;
  brokers: string[];
  registryUrl: string;
}): Promise<Deployment> {
  const catalogue = createCatalogue({ prefix: o.prefix });
  const kafka = new Kafka({ clientId: `${o.prefix}bench`, brokers: o.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, catalogue.specs());
  } finally {
    await admin.disconnect();
  }
  const registry = createRegistryAdmin({ url: o.registryUrl });
  const registered = await registerSchemas(
    registry,
    catalogue.topics.map((t) => ({ subject: t.subject, schema: JSON.stringify(AVRO_SCHEMAS[t.name]) })),
  );
  const schemaIds = new Map<TopicName, number>();
  for (const t of catalogue.topics) {
    schemaIds.set(t.name, registered.find((r) => r.subject === t.subject)!.id);
  }
  const groups: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  return {
    prefix: o.prefix,
    catalogue,
    kafka,
    brokers: o.brokers,
    registryUrl: o.registryUrl,
    schemaIds,
    topic: (name) => catalogue.get(name).topic,
    group(name) {
      const id = `${o.prefix}${name}`;
      groups.push(id);
      return id;
    },
    closeOnCleanup(close) {
      closers.push(close);
    },
    async cleanup() {
      const problems: string[] = [];
      await Promise.all(closers.map((c) => c().catch(() => undefined)));
      const a = kafka.admin();
      await a.connect();
      try {
        if (groups.length > 0) {
          await a.deleteGroups(groups).catch((err: unknown) => problems.push(`groups: ${String(err)}`));
        }
        const ours = (await a.listTopics()).filter((t) => t.startsWith(o.prefix));
        if (ours.length > 0) await a.deleteTopics({ topics: ours, timeout: 30_000 });
      } catch (err) {
        problems.push(`topics: ${String(err)}`);
      } finally {
        await a.disconnect();
      }
      for (const t of catalogue.topics) {
        await registry
          .deleteSubject(t.subject)
          .catch((err: unknown) => problems.push(`${t.subject}: ${err}`));
      }
      return problems;
    },
  };
}

/**
 * Encodes records as a producer would (Confluent wire format) with the run's registered schema
 * ids. Straight avsc, without the serde's per-message validation: the records are generated
 * valid, and the benchmark's producer must not be the bottleneck it measures.
 */
export class Encoder {
  private readonly types = new Map<TopicName, avsc.Type>();
  private readonly d: Deployment;

  constructor(d: Deployment) {
    this.d = d;
  }

  encode(rec: BenchRecord): { topic: string; key: string; value: Buffer } {
    return {
      topic: this.d.topic(rec.name),
      key: rec.record.leadId,
      value: encodeFrame(this.d.schemaIds.get(rec.name)!, this.type(rec.name).toBuffer(rec.record)),
    };
  }

  type(name: TopicName): avsc.Type {
    let t = this.types.get(name);
    if (!t) {
      t = parseAvro(AVRO_SCHEMAS[name]);
      this.types.set(name, t);
    }
    return t;
  }
}

export const CONSUMED_TOPICS: Record<string, InputTopicName[]> = {
  'web-visits': ['engagement.web-visit.v1'],
  'email-engagement': ['engagement.email.v1'],
  'trial-activity': ['product.trial-activity.v1'],
  'lead-context': ['lead.profile.v1', 'sales.qualification.v1'],
};
