import { archivedSchema, typeOf } from '@leadscorer/archive';
import { AVRO_SCHEMAS, fieldsFor, type InputTopicName } from '@leadscorer/contracts';
import { type EventType, type Model, propsRead } from '@leadscorer/engine';
import { LeadScorerError } from '@leadscorer/errors';
import avsc from 'avsc';

/**
 * How a file's records are read: into the archive wrapper of this library's reader schema of the
 * topic (libs/contracts), whatever writer schema a file was written with (Avro schema resolution,
 * as the services decode messages). With a model, the reader schema keeps only the fields whose
 * properties that model's evaluation reads (engine propsRead, contracts fieldsFor): Avro
 * resolution then skips the others without decoding them, the long strings (URLs, referrers)
 * above all. One avsc type per topic and field set, one resolver per file schema, built once:
 * avsc compiles a reader function per type, which is what makes it fast.
 */
export interface RecordReader {
  type: avsc.Type;
  /** undefined when the file schema is the reader schema: no resolution needed. */
  resolver: avsc.Resolver | undefined;
}

const readerTypes = new Map<string, avsc.Type>();
const resolved = new Map<string, RecordReader>();

/** Per model (or none: all fields) and topic, the reader value schema's text: computed once. */
const readerSchemas = new WeakMap<Model | typeof ALL_FIELDS, Map<InputTopicName, string>>();
const ALL_FIELDS = {};

/** The value schema a replay reads a topic with, as text: all fields, or those `model` needs. */
function readerSchema(name: InputTopicName, eventType: EventType | null, model: Model | undefined): string {
  const owner = model ?? ALL_FIELDS;
  let byTopic = readerSchemas.get(owner);
  if (!byTopic) {
    byTopic = new Map();
    readerSchemas.set(owner, byTopic);
  }
  let text = byTopic.get(name);
  if (text === undefined) {
    const schema = AVRO_SCHEMAS[name] as { fields: { name: string }[] };
    let value: object = schema;
    if (model && eventType !== null) {
      const keep = fieldsFor(name, propsRead(model, eventType));
      value = { ...schema, fields: schema.fields.filter((f) => keep.has(f.name)) };
    }
    text = JSON.stringify(value);
    byTopic.set(name, text);
  }
  return text;
}

/**
 * The reader of a file of topic `name` whose header holds `schema`: every field, or (with a
 * model) what its evaluation reads. Throws ARCHIVE_INVALID naming the file.
 */
export function readerFor(
  name: InputTopicName,
  eventType: EventType | null,
  model: Model | undefined,
  schema: string,
  file: string,
): RecordReader {
  const valueKey = readerSchema(name, eventType, model);
  const cacheKey = `${valueKey}\u0000${schema}`;
  let r = resolved.get(cacheKey);
  if (!r) {
    let type = readerTypes.get(valueKey);
    if (!type) {
      type = avsc.Type.forSchema(
        archivedSchema(JSON.parse(valueKey) as Record<string, unknown>) as avsc.Schema,
      );
      readerTypes.set(valueKey, type);
    }
    const writer = typeOf(schema, file);
    let resolver: avsc.Resolver | undefined;
    try {
      resolver = writer.equals(type) ? undefined : type.createResolver(writer);
    } catch (err) {
      throw new LeadScorerError(
        'ARCHIVE_INVALID',
        `${file}: byte 0: its schema cannot be read as ${name} (${(err as Error).message})`,
        { details: { file, byte: 0 } },
      );
    }
    r = { type, resolver };
    resolved.set(cacheKey, r);
  }
  return r;
}
