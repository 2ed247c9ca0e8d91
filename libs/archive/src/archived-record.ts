import avsc from 'avsc';

/**
 * What an archive file holds per Kafka message: a small wrapper record whose last field is the
 * message value exactly as its producer wrote it, in its writer schema:
 *
 *   ArchivedMessage { partition: int, offset: long, timestamp: long (timestamp-millis), value: <writer schema> }
 *
 * Per record, not per block, so that any tool reading one file (DuckDB, Spark, fastavro,
 * avro-tools) gets the Kafka coordinates as ordinary columns next to the event, and a record
 * never loses them when files are merged or filtered. They cost 6 to 12 bytes a record. The key
 * is not kept: every topic is keyed by the lead id, and a message whose key differs from its
 * leadId is not archived (it is dead-lettered). Headers are not kept: nothing replays them.
 */

export const ARCHIVE_NAMESPACE = 'io.leadscorer.archive.v1';

const META = avsc.Type.forSchema({
  type: 'record',
  name: 'Meta',
  fields: [
    { name: 'partition', type: 'int' },
    { name: 'offset', type: 'long' },
    { name: 'timestamp', type: 'long' },
  ],
});

type Schema = Record<string, unknown>;

/** The archive file schema for messages whose value was written with `valueSchema`. */
export function archivedSchema(valueSchema: Schema): Schema {
  return {
    type: 'record',
    name: 'ArchivedMessage',
    namespace: ARCHIVE_NAMESPACE,
    doc: 'A Kafka message kept by the lead scorer archiver: its partition, offset and timestamp, and its value as produced.',
    fields: [
      { name: 'partition', type: 'int', doc: 'Kafka partition of the message.' },
      { name: 'offset', type: 'long', doc: 'Kafka offset of the message in its partition.' },
      {
        name: 'timestamp',
        type: { type: 'long', logicalType: 'timestamp-millis' },
        doc: 'Kafka record timestamp (producer create time or broker append time), epoch ms.',
      },
      { name: 'value', type: ownNamespace(valueSchema), doc: 'The message value in its writer schema.' },
    ],
  };
}

/**
 * A named value schema without a namespace would inherit the wrapper's (Avro name resolution),
 * and so change its full name; an explicit empty namespace keeps it in the null namespace.
 */
function ownNamespace(schema: Schema): Schema {
  const name = schema['name'];
  if (typeof name === 'string' && !name.includes('.') && schema['namespace'] === undefined) {
    return { ...schema, namespace: '' };
  }
  return schema;
}

/** The encoding of a record's Kafka coordinates; the value's encoding follows it unchanged. */
export function encodeMeta(partition: number, offset: number, timestamp: number): Buffer {
  return META.toBuffer({ partition, offset, timestamp });
}

/** A decoded archived message, as readers that want whole records get it. */
export interface ArchivedMessage<V = Record<string, unknown>> {
  partition: number;
  offset: number;
  timestamp: number;
  value: V;
}
