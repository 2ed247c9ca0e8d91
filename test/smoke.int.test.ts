import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testInfra, uniqueName } from './support/infra.ts';

// The whole stack in one pass: registry, Kafka in Confluent wire format, Redis. If this
// fails, every other integration test would too; it says which part is missing.
describe('smoke: the real stack answers', () => {
  const infra = testInfra();
  const kafka = new Kafka({ clientId: 'smoke', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const topic = uniqueName('smoke');
  const redis = new Redis(infra.redisUrl);

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
    redis.disconnect();
  });

  it('registers an Avro schema, produces in wire format, consumes and decodes', async () => {
    const registry = new SchemaRegistry({ host: infra.registryUrl });
    const schema = {
      type: 'record',
      name: 'Smoke',
      namespace: 'io.leadscorer.smoke',
      fields: [
        { name: 'leadId', type: 'string' },
        { name: 'n', type: 'int' },
      ],
    };
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject: `${topic}-value` },
    );
    const producer = kafka.producer();
    await producer.connect();
    const sent = Array.from({ length: 20 }, (_, n) => ({ leadId: `lead-${n % 5}`, n }));
    const messages = await Promise.all(
      sent.map(async (r) => ({ key: r.leadId, value: await registry.encode(id, r) })),
    );
    await producer.send({ topic, messages });
    await producer.disconnect();

    // Confluent wire format: magic byte 0, then the 4-byte big-endian schema id.
    expect(messages[0]!.value[0]).toBe(0);
    expect(messages[0]!.value.readInt32BE(1)).toBe(id);

    const consumer = kafka.consumer({ groupId: uniqueName('smoke-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { leadId: string; n: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            received.push(await registry.decode(message.value!));
            if (received.length === sent.length) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    expect(received.sort((a, b) => a.n - b.n)).toEqual(sent);
  });

  it('writes and reads Redis', async () => {
    const key = `${uniqueName('smoke')}:{lead-1}`;
    await redis.set(key, 'ok', 'EX', 60);
    expect(await redis.get(key)).toBe('ok');
    await redis.del(key);
  });
});
