import { randomBytes } from 'node:crypto';
import { ArchiveWriter, MessageAcceptor, type Position, WriterSchemas } from '@leadscorer/archive';
import {
  AVRO_SCHEMAS,
  type Catalogue,
  type CatalogueTopic,
  createRegistryClient,
  createSerde,
} from '@leadscorer/contracts';
import type { Kafka } from 'kafkajs';

/**
 * What the archive does not hold yet, read from the topics: each partition from one past its
 * highest archived offset to the partition's end as it is when the replay starts, written with
 * the archive's own writer (same acceptance, same format) into a temporary directory that the
 * replay then reads like the archive. So memory stays bounded however far the archive trails
 * (right after the archiver is first deployed, that is the whole retention), and a message is
 * replayed the same whether it comes from the archive or from the topic.
 */
export interface TopicSource {
  kafka: Kafka;
  /** Confluent-compatible registry base URL (the writer schemas of what is read). */
  registryUrl: string;
  /** Consumer group of the read (deleted afterwards); unique by default. */
  groupId?: string;
}

/** A range of offsets that was neither archived nor still on the topic (retention deleted it). */
export interface Gap {
  topic: string;
  partition: number;
  from: number;
  to: number;
}

export interface TailResult {
  /** Per partition of the topics: the end the read went to (the position after it). */
  ends: Position[];
  gaps: Gap[];
  messages: number;
}

export async function readTail(
  src: TopicSource,
  catalogue: Catalogue,
  topics: readonly CatalogueTopic[],
  archived: (topic: string, partition: number) => number,
  dir: string,
): Promise<TailResult> {
  const admin = src.kafka.admin();
  const ends: Position[] = [];
  const gaps: Gap[] = [];
  const todo = new Map<string, { from: number; end: number }>();
  await admin.connect();
  try {
    for (const t of topics) {
      for (const p of await admin.fetchTopicOffsets(t.topic)) {
        const end = Number(p.high);
        const low = Number(p.low);
        let from = archived(t.topic, p.partition);
        if (from < low) {
          gaps.push({ topic: t.topic, partition: p.partition, from, to: low });
          from = low;
        }
        ends.push({ topic: t.topic, partition: p.partition, offset: Math.max(end, from) });
        if (from < end) todo.set(key(t.topic, p.partition), { from, end });
      }
    }
  } finally {
    await admin.disconnect();
  }
  if (todo.size === 0) return { ends, gaps, messages: 0 };
  const messages = await consume(src, catalogue, todo, dir);
  return { ends, gaps, messages };
}

async function consume(
  src: TopicSource,
  catalogue: Catalogue,
  todo: Map<string, { from: number; end: number }>,
  dir: string,
): Promise<number> {
  const schemas = new WriterSchemas(src.registryUrl);
  const known = new Map<number, Record<string, unknown>>();
  const writer = new ArchiveWriter({
    root: dir,
    topics: [],
    codec: 'null',
    limits: { records: 50_000, bytes: 8 * 1024 * 1024, ageMs: Number.MAX_SAFE_INTEGER },
    maxPendingBytes: 64 * 1024 * 1024,
    schemaOf: (topic, id) => (id === null ? AVRO_SCHEMAS[catalogue.byTopic(topic)!.name] : known.get(id)!),
    clock: Date.now,
  });
  const acceptor = new MessageAcceptor(
    createSerde({ registry: createRegistryClient(src.registryUrl), catalogue }),
  );
  const groupId = src.groupId ?? `lead-scorer.replay.${randomBytes(6).toString('hex')}`;
  const consumer = src.kafka.consumer({ groupId, maxBytesPerPartition: 4 * 1024 * 1024 });
  const names = [...new Set([...todo.keys()].map((k) => k.slice(0, k.lastIndexOf('\u0000'))))];
  let messages = 0;
  const pending = new Set(todo.keys());
  let finished: () => void = () => {};
  let crashed: (err: unknown) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    finished = resolve;
    crashed = reject;
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    for (const [topic, partitions] of Object.entries(e.payload.memberAssignment)) {
      for (const p of partitions) {
        const range = todo.get(key(topic, p));
        const from = range && Math.max(range.from, writer.next(topic, p));
        if (from !== undefined) consumer.seek({ topic, partition: p, offset: String(from) });
      }
    }
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) crashed(e.payload.error);
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: names, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        const { topic, partition } = batch;
        const k = key(topic, partition);
        const range = todo.get(k);
        if (!range || !pending.has(k)) return;
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          if (offset >= range.end) break;
          // Below: already read (a batch fetched again after a retry).
          if (offset >= Math.max(range.from, writer.next(topic, partition))) {
            const timestamp = Number(m.timestamp);
            const verdict = await acceptor.accept(topic, { key: m.key, value: m.value, timestamp });
            if (verdict.ok) {
              if (!known.has(verdict.schemaId))
                known.set(verdict.schemaId, await schemas.get(verdict.schemaId));
              await writer.add(topic, partition, offset, timestamp, verdict.schemaId, verdict.body);
            } else await writer.skip(topic, partition, offset, timestamp);
            messages++;
          }
          resolveOffset(m.offset);
        }
        await heartbeat();
        const next = Math.max(writer.next(topic, partition), Number(batch.lastOffset()) + 1);
        // At the end of the range, or of what the partition holds (no more records behind markers).
        if (next >= range.end || next >= Number(batch.highWatermark)) {
          pending.delete(k);
          consumer.pause([{ topic, partitions: [partition] }]);
          if (pending.size === 0) finished();
        }
      },
    });
    await done;
    await writer.flush(true);
  } finally {
    await consumer.disconnect();
    const admin = src.kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  return messages;
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
