import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { LeadScorerError } from '@leadscorer/errors';
import avsc from 'avsc';
import { parseAvro } from './compatibility.ts';
import { AVRO_SCHEMAS, type RecordByTopic } from './generated/index.ts';
import { mapToScoringEvent, type ScoringEvent } from './mapping.ts';
import type { Catalogue, CatalogueTopic, TopicName } from './topics.ts';
import { validateRecord } from './validation.ts';
import { encodeFrame, type Frame, parseFrame, type RawMessage } from './wire.ts';

/**
 * Avro serde in the Confluent wire format, subject per topic (`<topic>-value`).
 *
 * Producers encode with the schema compiled into this library (generated from schemas/); its id
 * is looked up once per subject, never registered from here: registration is a deploy step
 * (`npm run schemas -- register`), so a service cannot smuggle in an unchecked schema.
 * Consumers decode any registered writer version into the library's reader schema (Avro schema
 * resolution), with the resolver cached per schema id.
 *
 * Every failure is a LeadScorerError whose class tells the consumer what to do: poison codes
 * (MESSAGE_*) go to the dead-letter topic, REGISTRY_UNAVAILABLE is retried and never
 * dead-lettered, anything else is a bug or a broken deployment.
 */

export interface SerdeOptions {
  /** A @kafkajs/confluent-schema-registry client; see createRegistryClient. */
  registry: SchemaRegistry;
  catalogue: Catalogue;
  /** How far in the future an eventTime may lie; see validation.ts. */
  maxFutureSkewMs?: number;
}

export interface EncodedMessage {
  /** Physical topic, prefix included. */
  topic: string;
  /** The lead id: every topic is keyed by it. */
  key: string;
  value: Buffer;
}

export interface Decoded<T extends TopicName = TopicName> {
  ok: true;
  /** Logical topic name (catalogue key). */
  name: T;
  schemaId: number;
  /** The record in the reader schema of this library version. */
  record: RecordByTopic[T];
  /** What the engine scores; null for topics it does not score. */
  event: ScoringEvent | null;
}

export interface Serde {
  /** Validates and encodes a record for the topic `name`, keyed by its lead id. */
  encode<T extends TopicName>(name: T, record: RecordByTopic[T], now: number): Promise<EncodedMessage>;
  /**
   * Classifies and decodes a consumed message of physical topic `topic`: key present, size,
   * magic byte, length, schema id known and readable, Avro body, validation, key equals leadId.
   * Resolves only with a good message; throws a coded LeadScorerError otherwise.
   */
  decode(topic: string, message: RawMessage, now: number): Promise<Decoded>;
  /**
   * decode() without a promise when the message's writer schema has been read before (so no
   * registry round trip is needed): the same checks, the same result, the same errors thrown
   * instead of rejected. Returns undefined when the schema id is not known yet; call decode().
   * The consumer's hot path: an await per message costs about as much as decoding its Avro body.
   */
  decodeSync(topic: string, message: RawMessage, now: number): Decoded | undefined;
}

/** HTTP basic auth of the registry (SCHEMA_REGISTRY_USERNAME / SCHEMA_REGISTRY_PASSWORD). */
export interface RegistryAuth {
  username: string;
  password: string;
}

/** A registry client whose only retries are quick ones; the consumer loop owns longer back-off. */
export function createRegistryClient(url: string, auth?: RegistryAuth): SchemaRegistry {
  return new SchemaRegistry({
    host: url,
    retry: { retries: 2, maxRetryTimeInSecs: 2 },
    ...(auth ? { auth: { username: auth.username, password: auth.password } } : {}),
  });
}

type Reading = { ok: true; resolver: avsc.Resolver | undefined } | { ok: false; error: LeadScorerError };

export function createSerde(options: SerdeOptions): Serde {
  const { registry, catalogue } = options;
  const readers = new Map(catalogue.topics.map((t) => [t.name, parseAvro(AVRO_SCHEMAS[t.name])] as const));
  const schemaIds = new Map<string, Promise<number>>();
  // Per topic and schema id: how to read that writer's bytes. Outcomes that cannot change (a
  // schema id's content is immutable) are cached, failures are cached as poison too; registry
  // outages are not cached, so the retry asks again.
  const readings = new Map<string, Promise<Reading>>();
  // The settled readings, per topic and schema id, for the synchronous path.
  const settled = new Map<TopicName, Map<number, Reading>>(catalogue.topics.map((t) => [t.name, new Map()]));

  function readerOf(entry: CatalogueTopic): avsc.Type {
    return readers.get(entry.name)!;
  }

  function schemaId(entry: CatalogueTopic): Promise<number> {
    let id = schemaIds.get(entry.subject);
    if (!id) {
      const schema = JSON.stringify(AVRO_SCHEMAS[entry.name]);
      id = registry
        .getRegistryIdBySchema(entry.subject, { type: SchemaType.AVRO, schema })
        .catch((err: unknown) => {
          schemaIds.delete(entry.subject);
          // The library turns this lookup's 404 into a bare ConfluentSchemaRegistryError.
          if (
            httpStatus(err) === 404 ||
            (err instanceof Error && err.name === 'ConfluentSchemaRegistryError')
          ) {
            throw new LeadScorerError(
              'CONFIG_INVALID',
              `schema of ${entry.subject} is not registered: run \`npm run schemas -- register\` before starting producers`,
              { cause: err },
            );
          }
          throw unavailable(err);
        });
      schemaIds.set(entry.subject, id);
    }
    return id;
  }

  function reading(entry: CatalogueTopic, id: number): Promise<Reading> {
    const cacheKey = `${entry.name}:${id}`;
    let r = readings.get(cacheKey);
    if (!r) {
      r = resolveWriter(entry, id).then(
        (reading) => {
          settled.get(entry.name)?.set(id, reading);
          return reading;
        },
        (err: unknown) => {
          readings.delete(cacheKey);
          throw err;
        },
      );
      readings.set(cacheKey, r);
    }
    return r;
  }

  async function resolveWriter(entry: CatalogueTopic, id: number): Promise<Reading> {
    const unknown = (why: string, cause?: unknown): Reading => ({
      ok: false,
      error: new LeadScorerError('MESSAGE_UNKNOWN_SCHEMA', `schema id ${id} on ${entry.topic} ${why}`, {
        cause,
        details: { schemaId: id },
      }),
    });
    // Ids are positive; asking the registry about garbage ids only risks a 5xx that we would
    // then retry forever.
    if (id <= 0) return unknown('is not a valid registry id');
    let writer: unknown;
    try {
      writer = await registry.getSchema(id);
    } catch (err) {
      if (httpStatus(err) === 404) return unknown('is not in the registry');
      // No HTTP status: the registry answered, but the library could not parse the schema.
      if (httpStatus(err) === undefined) return unknown('is not a schema this library can read', err);
      throw unavailable(err);
    }
    // A JSON Schema or Protobuf id parses into something else than an avsc Type.
    if (!avsc.Type.isType(writer)) return unknown('is not an Avro schema');
    const writerType = writer as avsc.Type;
    const reader = readerOf(entry);
    if (writerType.equals(reader)) return { ok: true, resolver: undefined };
    try {
      return { ok: true, resolver: reader.createResolver(writerType) };
    } catch (err) {
      // Typically another topic's schema (a producer wrote to the wrong topic).
      return unknown(`(${writerType.name ?? writerType.typeName}) cannot be read as ${reader.name}`, err);
    }
  }

  return {
    async encode(name, record, now) {
      const entry = catalogue.get(name);
      validateRecord(name, record, { now, maxFutureSkewMs: options.maxFutureSkewMs });
      const id = await schemaId(entry);
      const body = readerOf(entry).toBuffer(record);
      return { topic: entry.topic, key: (record as { leadId: string }).leadId, value: encodeFrame(id, body) };
    },

    async decode(topic, message, now) {
      const entry = entryOf(topic);
      const frame = parseFrame(topic, message, { maxValueBytes: entry.maxValueBytes });
      return readFrame(entry, topic, message, frame, await reading(entry, frame.schemaId), now);
    },

    decodeSync(topic, message, now) {
      const entry = entryOf(topic);
      const frame = parseFrame(topic, message, { maxValueBytes: entry.maxValueBytes });
      const r = settled.get(entry.name)?.get(frame.schemaId);
      return r && readFrame(entry, topic, message, frame, r, now);
    },
  };

  function entryOf(topic: string): CatalogueTopic {
    const entry = catalogue.byTopic(topic);
    if (!entry) throw new LeadScorerError('CONFIG_INVALID', `topic ${topic} is not in the catalogue`);
    return entry;
  }

  /** Everything after the writer schema is known: Avro body, validation, key, mapping. */
  function readFrame(
    entry: CatalogueTopic,
    topic: string,
    message: RawMessage,
    frame: Frame,
    r: Reading,
    now: number,
  ): Decoded {
    if (!r.ok) throw r.error;
    let record: RecordByTopic[TopicName];
    try {
      record = readerOf(entry).fromBuffer(frame.body, r.resolver) as RecordByTopic[TopicName];
    } catch (err) {
      const truncated = err instanceof Error && err.message === 'truncated buffer';
      throw new LeadScorerError(
        truncated ? 'MESSAGE_TRUNCATED' : 'MESSAGE_DECODE_FAILED',
        `Avro body on ${topic} (schema id ${frame.schemaId}) cannot be decoded: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err, details: { schemaId: frame.schemaId } },
      );
    }
    validateRecord(entry.name, record, { now, maxFutureSkewMs: options.maxFutureSkewMs });
    const key = message.key!.toString('utf8');
    if (key !== record.leadId) {
      // Lead ids are ours to log; the key is compared, not echoed, in case it is something else.
      throw new LeadScorerError(
        'MESSAGE_KEY_MISMATCH',
        `message key on ${topic} differs from leadId ${record.leadId}`,
      );
    }
    return {
      ok: true,
      name: entry.name,
      schemaId: frame.schemaId,
      record,
      event: mapToScoringEvent(entry.name, record),
    };
  }
}

/** The HTTP status of a registry client error (mappersmith reports network errors as 400). */
function httpStatus(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number')
    return err.status;
  return undefined;
}

function unavailable(err: unknown): LeadScorerError {
  return new LeadScorerError(
    'REGISTRY_UNAVAILABLE',
    `schema registry request failed: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}
