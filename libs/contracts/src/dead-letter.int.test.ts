import { isPoison, type LeadScorerError } from '@leadscorer/errors';
import type { Consumer, IHeaders, Message, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAvro } from './compatibility.ts';
import { createDeadLetterPublisher, type DeadLetter, headerText, replayMessage } from './dead-letter.ts';
import { forEachDeadLetter } from './dead-letter-reader.ts';
import { EXAMPLES } from './examples.ts';
import { AVRO_SCHEMAS } from './generated/index.ts';
import { type ContractsEnv, contractsEnv, createRegistryClient } from './int-support.ts';
import { createSerde, type Serde } from './serde.ts';
import { encodeFrame } from './wire.ts';

/**
 * End to end: good and bad messages mixed in a real 3-partition topic, consumed by a minimal
 * consumer built on the library (decode, dead-letter poison, let anything else crash). Every
 * good message must be processed, every bad one must sit in the dead-letter topic with the
 * right reason and its original bytes, and nothing may be lost in between.
 */

let env: ContractsEnv;
let producer: Producer;
let topic: string;
let dlqTopic: string;
const webVisit = EXAMPLES['engagement.web-visit.v1'];
const webType = parseAvro(AVRO_SCHEMAS['engagement.web-visit.v1']);

interface Seen {
  processed: string[];
  deadLettered: number;
  /** Where each test case was consumed, by its `test-case` header. */
  where: Map<string, { partition: number; offset: string }>;
}

function startConsumer(serde: Serde, groupId: string, seen: Seen): Promise<Consumer> {
  const consumer = env.kafka.consumer({ groupId });
  const deadLetters = createDeadLetterPublisher({ producer, service: 'contracts-int-test' });
  return (async () => {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const now = Date.now();
        const testCase = headerText(message.headers, 'test-case');
        if (testCase) seen.where.set(testCase, { partition, offset: message.offset });
        try {
          const decoded = await serde.decode(topic, message, now);
          seen.processed.push((decoded.record as { eventId: string }).eventId);
        } catch (err) {
          // Not poison (registry down, a bug): throw, so kafkajs retries and never commits it.
          if (!isPoison(err)) throw err;
          await deadLetters.publish({ topic, partition, ...message }, err, now);
          seen.deadLettered++;
        }
      },
    });
    return consumer;
  })();
}

async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function readDlq(): Promise<DeadLetter[]> {
  const all: DeadLetter[] = [];
  await forEachDeadLetter(env.kafka, dlqTopic, (dl) => void all.push(dl), { idleMs: 15_000 });
  return all;
}

beforeAll(async () => {
  env = contractsEnv('dlq', { partitions: 3 });
  await env.createTopics();
  await env.registerAll();
  topic = env.catalogue.get('engagement.web-visit.v1').topic;
  dlqTopic = env.catalogue.get('engagement.web-visit.v1').deadLetterTopic!;
  producer = env.kafka.producer();
  await producer.connect();
});
afterAll(async () => {
  await producer?.disconnect();
  await env.cleanup();
});

describe('dead letters', () => {
  const serdeFor = (maxFutureSkewMs?: number) =>
    createSerde({
      registry: createRegistryClient(env.registryUrl),
      catalogue: env.catalogue,
      maxFutureSkewMs,
    });
  let cases: Record<string, { message: Message; code: string }>;
  let goodIds: string[];
  const seen: Seen = { processed: [], deadLettered: 0, where: new Map() };

  it('processes every good message and dead-letters each bad one with its reason', async () => {
    const serde = serdeFor();
    const now = Date.now();
    const good = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        serde.encode(
          'engagement.web-visit.v1',
          { ...webVisit, eventId: `good-${i}`, leadId: `lead-${i}` },
          now,
        ),
      ),
    );
    goodIds = good.map((_, i) => `good-${i}`);
    const valid = good[0]!.value;
    const id = valid.readInt32BE(1);
    const raw = (patch: Partial<typeof webVisit>) =>
      encodeFrame(id, webType.toBuffer({ ...webVisit, ...patch }));
    const emailId = (await env.admin.version(env.catalogue.get('engagement.email.v1').subject, 'latest')).id;
    const emailBody = parseAvro(AVRO_SCHEMAS['engagement.email.v1']).toBuffer(
      EXAMPLES['engagement.email.v1'],
    );
    const key = Buffer.from(webVisit.leadId);
    cases = {
      'no key': { code: 'MESSAGE_NO_KEY', message: { key: null, value: valid } },
      'json, not avro': {
        code: 'MESSAGE_BAD_MAGIC_BYTE',
        message: { key, value: Buffer.from(JSON.stringify(webVisit)) },
      },
      'unknown schema id': {
        code: 'MESSAGE_UNKNOWN_SCHEMA',
        message: { key, value: encodeFrame(2_000_000_000, valid.subarray(5)) },
      },
      'another topic’s schema': {
        code: 'MESSAGE_UNKNOWN_SCHEMA',
        message: { key, value: encodeFrame(emailId, emailBody) },
      },
      'cut-off header': { code: 'MESSAGE_TRUNCATED', message: { key, value: valid.subarray(0, 3) } },
      'cut-off body': { code: 'MESSAGE_TRUNCATED', message: { key, value: raw({}).subarray(0, 40) } },
      'trailing bytes': {
        code: 'MESSAGE_DECODE_FAILED',
        message: { key, value: Buffer.concat([raw({}), Buffer.from([7, 7])]) },
      },
      'invalid url': {
        code: 'MESSAGE_VALIDATION_FAILED',
        message: { key, value: raw({ eventId: 'bad-url', url: 'not a url' }) },
      },
      'from the future': {
        code: 'MESSAGE_VALIDATION_FAILED',
        message: { key, value: raw({ eventId: 'future', eventTime: now + 60 * 60_000 }) },
      },
      'too large': {
        code: 'MESSAGE_TOO_LARGE',
        message: { key, value: raw({ userAgent: 'x'.repeat(70 * 1024) }) },
      },
      'key differs from leadId': {
        code: 'MESSAGE_KEY_MISMATCH',
        message: { key: Buffer.from('lead-other'), value: valid },
      },
    };
    // Bad messages between good ones, each with the original headers we expect to survive.
    const messages: Message[] = good.map((g) => ({ key: g.key, value: g.value }));
    Object.entries(cases).forEach(([name, c], i) => {
      const headers: IHeaders = { 'test-case': name, traceparent: `00-${i}-01` };
      messages.splice(i * 3 + 1, 0, { ...c.message, headers });
    });
    await producer.send({ topic, messages, acks: -1 });

    const consumer = await startConsumer(serde, env.group('scorer'), seen);
    try {
      await until(() => seen.processed.length + seen.deadLettered >= messages.length, 'every message');
    } finally {
      await consumer.disconnect();
    }
    expect(seen.processed.sort()).toEqual([...goodIds].sort());
    expect(seen.deadLettered).toBe(Object.keys(cases).length);
    expect(seen.processed.length + seen.deadLettered).toBe(messages.length);

    const dlq = await readDlq();
    expect(dlq).toHaveLength(Object.keys(cases).length);
    for (const [name, c] of Object.entries(cases)) {
      const dl = dlq.find((d) => headerText(d.headers, 'test-case') === name);
      expect(dl, name).toBeDefined();
      expect(dl!.reason.code, name).toBe(c.code);
      expect(dl!.reason.errorClass).toBe('poison');
      expect(dl!.reason.service).toBe('contracts-int-test');
      expect(dl!.reason.sourceTopic).toBe(topic);
      const where = seen.where.get(name)!;
      expect([dl!.reason.sourcePartition, dl!.reason.sourceOffset], name).toEqual([
        where.partition,
        where.offset,
      ]);
      expect(dl!.key, name).toEqual(c.message.key === null ? null : Buffer.from(c.message.key as Buffer));
      expect(Buffer.compare(dl!.value!, c.message.value as Buffer), name).toBe(0);
      expect(headerText(dl!.headers, 'traceparent')).toMatch(/^00-\d+-01$/);
    }
    const invalid = dlq.find((d) => headerText(d.headers, 'test-case') === 'invalid url')!;
    expect(invalid.reason.message).toContain('url must be an absolute http(s) URL');
  });

  it('re-drives dead letters after a fix; one still bad returns to the dead-letter topic', async () => {
    // The "fix": the consumer now tolerates producer clocks up to two hours ahead.
    const serde = serdeFor(2 * 60 * 60_000);
    let replayed = 0;
    await forEachDeadLetter(
      env.kafka,
      dlqTopic,
      async (dl) => {
        const { topic: target, message } = replayMessage(dl);
        await producer.send({ topic: target, messages: [message], acks: -1 });
        replayed++;
      },
      { filter: { code: 'MESSAGE_VALIDATION_FAILED' } },
    );
    expect(replayed).toBe(2);

    const before = { processed: seen.processed.length, deadLettered: seen.deadLettered };
    const consumer = await startConsumer(serde, env.group('scorer'), seen);
    try {
      await until(
        () => seen.processed.length + seen.deadLettered >= before.processed + before.deadLettered + 2,
        'replays',
      );
    } finally {
      await consumer.disconnect();
    }
    expect(seen.processed.slice(before.processed)).toEqual(['future']);
    expect(seen.deadLettered - before.deadLettered).toBe(1);

    const again = (await readDlq()).filter((d) => headerText(d.headers, 'replay.count') !== null);
    expect(again).toHaveLength(1);
    expect(headerText(again[0]!.headers, 'test-case')).toBe('invalid url');
    expect(headerText(again[0]!.headers, 'replay.count')).toBe('1');
    expect(again[0]!.reason.code).toBe('MESSAGE_VALIDATION_FAILED');
  });

  it('never dead-letters a registry outage: the consumer sees a retryable error', async () => {
    const offline = createSerde({
      registry: createRegistryClient('http://127.0.0.1:9'),
      catalogue: env.catalogue,
    });
    const err = await offline
      .decode(
        topic,
        { key: Buffer.from('lead-1'), value: encodeFrame(12345, Buffer.from([2, 0x61])) },
        Date.now(),
      )
      .catch((e: LeadScorerError) => e);
    expect((err as LeadScorerError).code).toBe('REGISTRY_UNAVAILABLE');
    expect(isPoison(err)).toBe(false);
    const publisher = createDeadLetterPublisher({ producer, service: 's' });
    const original = { topic, partition: 0, offset: '0', key: null, value: null };
    await expect(publisher.publish(original, err, 0)).rejects.toThrow(/only poison/);
  });
});
