import { ArchiveWriter, type Codec } from '@leadscorer/archive';
import { AVRO_SCHEMAS, type Catalogue, type InputTopicName } from '@leadscorer/contracts';
import { fnv1a32 } from '@leadscorer/engine';
import avsc from 'avsc';

/**
 * Writes an archive as the archiver would, from records given per topic: for the replay's tests
 * and benchmark, which need histories without a broker. Offsets are assigned per partition in the
 * order given; a record's partition is a hash of its lead id (every message of a lead in one
 * partition of its topic, as Kafka's keyed partitioning does).
 */
export interface SeedMessage {
  topic: InputTopicName;
  leadId: string;
  /** The Avro record (the topic's schema). */
  record: Record<string, unknown>;
  /** Kafka timestamp. */
  timestamp: number;
}

export interface SeededMessage extends SeedMessage {
  partition: number;
  offset: number;
}

export async function writeArchive(
  dir: string,
  catalogue: Catalogue,
  messages: Iterable<SeedMessage>,
  options: { partitions?: number; codec?: Codec; recordsPerFile?: number; collect?: boolean } = {},
): Promise<SeededMessage[]> {
  const partitions = options.partitions ?? 3;
  const types = new Map<InputTopicName, avsc.Type>();
  const schemaIds = new Map<string, number>();
  const writer = new ArchiveWriter({
    root: dir,
    topics: catalogue.inputs.map((t) => t.topic),
    codec: options.codec ?? 'deflate',
    limits: {
      records: options.recordsPerFile ?? 100_000,
      bytes: 64 * 1024 * 1024,
      ageMs: Number.MAX_SAFE_INTEGER,
    },
    maxPendingBytes: 256 * 1024 * 1024,
    schemaOf: (topic) => AVRO_SCHEMAS[catalogue.byTopic(topic)!.name],
    clock: () => 0,
  });
  const out: SeededMessage[] = [];
  for (const m of messages) {
    let type = types.get(m.topic);
    if (!type) {
      type = avsc.Type.forSchema(AVRO_SCHEMAS[m.topic] as avsc.Schema);
      types.set(m.topic, type);
      schemaIds.set(m.topic, schemaIds.size + 1);
    }
    const topic = catalogue.get(m.topic).topic;
    const partition = fnv1a32(m.leadId) % partitions;
    const offset = writer.next(topic, partition);
    await writer.add(topic, partition, offset, m.timestamp, schemaIds.get(m.topic)!, type.toBuffer(m.record));
    if (options.collect !== false) out.push({ ...m, partition, offset });
  }
  await writer.flush(true);
  return out;
}
