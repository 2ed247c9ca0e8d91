import { Kafka, logLevel } from 'kafkajs';
import { testInfra, uniqueName } from '../../../test/support/infra.ts';
import { registerSchemas } from './compatibility.ts';
import { AVRO_SCHEMAS } from './generated/index.ts';
import { createRegistryAdmin, type RegistryAdmin } from './registry-admin.ts';
import { createRegistryClient } from './serde.ts';
import { ensureTopics } from './topic-admin.ts';
import { type Catalogue, createCatalogue } from './topics.ts';

/**
 * What an integration test of the contracts library needs: the real Kafka and registry, and a
 * catalogue under a prefix no other test uses, so its topics and subjects are its own. `cleanup`
 * deletes what the test created (topics, subjects, consumer groups it names).
 */
export interface ContractsEnv {
  prefix: string;
  catalogue: Catalogue;
  kafka: Kafka;
  kafkaBrokers: string[];
  registryUrl: string;
  admin: RegistryAdmin;
  /** Creates the catalogue's topics (and dead-letter topics). */
  createTopics(): Promise<void>;
  /** Registers every schema of the catalogue, as the deploy step does. */
  registerAll(): Promise<void>;
  /** Remembers a consumer group to delete at cleanup. */
  group(name: string): string;
  cleanup(): Promise<void>;
}

export function contractsEnv(label: string, options: { partitions?: number } = {}): ContractsEnv {
  const infra = testInfra();
  const prefix = `${uniqueName(label)}.`;
  const catalogue = createCatalogue({ prefix, partitions: options.partitions ?? 1 });
  const kafka = new Kafka({ clientId: prefix, brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = createRegistryAdmin({ url: infra.registryUrl });
  const groups: string[] = [];

  return {
    prefix,
    catalogue,
    kafka,
    kafkaBrokers: infra.kafkaBrokers,
    registryUrl: infra.registryUrl,
    admin,
    async createTopics() {
      const kafkaAdmin = kafka.admin();
      await kafkaAdmin.connect();
      try {
        await ensureTopics(kafkaAdmin, catalogue.specs());
      } finally {
        await kafkaAdmin.disconnect();
      }
    },
    async registerAll() {
      await registerSchemas(
        admin,
        catalogue.topics.map((t) => ({ subject: t.subject, schema: JSON.stringify(AVRO_SCHEMAS[t.name]) })),
      );
    },
    group(name) {
      const id = `${prefix}${name}`;
      groups.push(id);
      return id;
    },
    async cleanup() {
      // By prefix, so topics a test created by other means (a CLI run) go too.
      const kafkaAdmin = kafka.admin();
      await kafkaAdmin.connect();
      try {
        if (groups.length > 0) await kafkaAdmin.deleteGroups(groups).catch(() => undefined);
        const ours = (await kafkaAdmin.listTopics()).filter((t) => t.startsWith(prefix));
        if (ours.length > 0) await kafkaAdmin.deleteTopics({ topics: ours });
      } finally {
        await kafkaAdmin.disconnect();
      }
      for (const t of catalogue.topics) await admin.deleteSubject(t.subject);
    },
  };
}

export { createRegistryClient, uniqueName };
