import { listArchive, nextOffset, readArchiveFile } from '@leadscorer/archive';
import { AVRO_SCHEMAS, type Catalogue, type InputTopicName } from '@leadscorer/contracts';
import type { ScoringEvent } from '@leadscorer/engine';
import avro from 'avsc';
import type { Kafka } from 'kafkajs';
import { prng } from './event-gen.ts';
import { testInfra } from './infra.ts';
import { toRecord } from './records.ts';

/**
 * Producing every input topic (outcomes included, and some messages no service can decode) with
 * chosen Kafka timestamps, reading back what a topic really holds, and what an archive holds: the
 * archiver's tests compare the last two.
 */

export interface InputMessage {
  topic: InputTopicName;
  key: string | null;
  /** Avro record, or raw bytes for a message that is not a valid frame. */
  record: Record<string, unknown> | Buffer;
  /** Kafka timestamp, epoch ms. */
  timestamp: number;
}

/** A scoring event as the message its producer would publish, stamped `lagMs` after its event time. */
export function eventMessage(e: ScoringEvent, timestamp: number): InputMessage {
  const { topic, record } = toRecord(e);
  return { topic, key: e.leadId, record, timestamp };
}

export function outcomeMessage(id: string, lead: string, eventTime: number, won: boolean): InputMessage {
  return {
    topic: 'lead.outcome.v1',
    key: lead,
    record: {
      eventId: id,
      leadId: lead,
      eventTime,
      result: won ? 'WON' : 'LOST',
      opportunityId: `opp-${id}`,
      amount: won ? 1200 : null,
      currency: won ? 'EUR' : null,
      reason: null,
    },
    timestamp: eventTime + 1_000,
  };
}

/** Messages every service dead-letters: no Confluent frame, no key, a key that is not the lead. */
export function poisonMessages(seed: number, count: number, timestamp: number): InputMessage[] {
  const rnd = prng(seed);
  const topics: InputTopicName[] = ['engagement.web-visit.v1', 'engagement.email.v1', 'lead.outcome.v1'];
  return Array.from({ length: count }, (_, i) => {
    const topic = topics[Math.floor(rnd() * topics.length)]!;
    return { topic, key: `poison-${i}`, record: Buffer.from(`{"not":"avro ${i}"}`), timestamp };
  });
}

/** Encodes with the registered schemas and produces, keeping each message's timestamp. */
export async function produceMessages(
  kafka: Kafka,
  catalogue: Catalogue,
  msgs: InputMessage[],
): Promise<void> {
  const producer = await inputProducer(kafka, catalogue);
  try {
    await producer.send(msgs);
  } finally {
    await producer.close();
  }
}

/** A connected producer of input messages, for a test that publishes while it does other things. */
export async function inputProducer(
  kafka: Kafka,
  catalogue: Catalogue,
): Promise<{ send(msgs: InputMessage[]): Promise<void>; close(): Promise<void> }> {
  const writers = new Map<InputTopicName, { id: number; type: avro.Type }>();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const encode = async (m: InputMessage): Promise<Buffer> => {
    if (Buffer.isBuffer(m.record)) return m.record;
    let w = writers.get(m.topic);
    if (!w) {
      const subject = catalogue.get(m.topic).subject;
      const res = await fetch(`${testInfra().registryUrl}/subjects/${subject}/versions/latest`);
      const { id } = (await res.json()) as { id: number };
      w = { id, type: avro.Type.forSchema(AVRO_SCHEMAS[m.topic] as avro.Schema) };
      writers.set(m.topic, w);
    }
    const header = Buffer.alloc(5);
    header.writeInt32BE(w.id, 1);
    return Buffer.concat([header, w.type.toBuffer(m.record)]);
  };
  return {
    async send(msgs) {
      const byTopic = new Map<string, { key: string | null; value: Buffer; timestamp: string }[]>();
      for (const m of msgs) {
        const physical = catalogue.get(m.topic).topic;
        const list = byTopic.get(physical) ?? [];
        list.push({ key: m.key, value: await encode(m), timestamp: String(m.timestamp) });
        byTopic.set(physical, list);
      }
      for (const [topic, messages] of byTopic) {
        for (let i = 0; i < messages.length; i += 500)
          await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
      }
    },
    close: () => producer.disconnect(),
  };
}

/** One message as a topic or the archive holds it. */
export interface Located {
  topic: string;
  partition: number;
  offset: number;
  /** The eventId of the value, or undefined for a value that is not a valid frame. */
  eventId: string | undefined;
  timestamp: number;
}

export const locatedKey = (m: Located): string => `${m.topic}/${m.partition}/${m.offset}/${m.eventId}`;

/** Everything the topics hold now, read from the beginning to their end offsets. */
export async function readTopics(kafka: Kafka, topics: string[], groupId: string): Promise<Located[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, number>();
  try {
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic))
        ends.set(`${topic}/${p.partition}`, Number(p.high));
    }
  } finally {
    await admin.disconnect();
  }
  const remaining = new Set([...ends].filter(([, end]) => end > 0).map(([k]) => k));
  const out: Located[] = [];
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    if (remaining.size === 0) resolve();
    void consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const offset = Number(message.offset);
        if (offset >= ends.get(`${topic}/${partition}`)!) return;
        out.push({
          topic,
          partition,
          offset,
          eventId: eventIdOf(message.value),
          timestamp: Number(message.timestamp),
        });
        if (offset === ends.get(`${topic}/${partition}`)! - 1) {
          remaining.delete(`${topic}/${partition}`);
          if (remaining.size === 0) resolve();
        }
      },
    });
  });
  await done;
  await consumer.disconnect();
  return out;
}

/** The eventId of a Confluent-framed Avro value: the first field of every input schema. */
function eventIdOf(value: Buffer | null): string | undefined {
  if (!value || value.length < 6 || value[0] !== 0) return undefined;
  try {
    return avro.Type.forSchema('string').decode(value, 5).value as string;
  } catch {
    return undefined;
  }
}

/** Every record of an archive, and every file's range, read back with the files' own schemas. */
export function readArchive(root: string): {
  records: Located[];
  files: { topic: string; partition: number; first: number; last: number; date: string; days: string[] }[];
} {
  const records: Located[] = [];
  const files: {
    topic: string;
    partition: number;
    first: number;
    last: number;
    date: string;
    days: string[];
  }[] = [];
  for (const [topic, partitions] of listArchive(root)) {
    for (const list of partitions.values()) {
      for (const f of list) {
        const days = new Set<string>();
        for (const r of readArchiveFile(f.path).records) {
          records.push({
            topic,
            partition: r.partition,
            offset: r.offset,
            eventId: (r.value as { eventId: string }).eventId,
            timestamp: r.timestamp,
          });
          days.add(new Date(r.timestamp).toISOString().slice(0, 10));
        }
        files.push({
          topic,
          partition: f.partition,
          first: f.first,
          last: f.last,
          date: f.date,
          days: [...days],
        });
      }
    }
  }
  return { records, files };
}

/** Per `topic/partition` of every input topic: its end offset now. */
export async function topicEnds(kafka: Kafka, catalogue: Catalogue): Promise<Map<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  const out = new Map<string, number>();
  try {
    for (const t of catalogue.inputs)
      for (const p of await admin.fetchTopicOffsets(t.topic))
        out.set(`${t.topic}/${p.partition}`, Number(p.high));
  } finally {
    await admin.disconnect();
  }
  return out;
}

/** Whether the archive under `dir` holds every partition up to the given ends. */
export function archiveReaches(dir: string, ends: Map<string, number>): boolean {
  const listed = listArchive(dir);
  return [...ends].every(([k, end]) => {
    const at = k.lastIndexOf('/');
    return end === 0 || nextOffset(listed.get(k.slice(0, at))?.get(Number(k.slice(at + 1)))) === end;
  });
}
