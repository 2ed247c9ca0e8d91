import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { LeadScorerError } from '@leadscorer/errors';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseAvro } from './compatibility.ts';
import { EXAMPLES } from './examples.ts';
import { AVRO_SCHEMAS } from './generated/index.ts';
import { createSerde } from './serde.ts';
import { createCatalogue, type TopicName } from './topics.ts';
import { encodeFrame } from './wire.ts';

/**
 * The serde's classification logic against an in-memory stand-in for the registry client (the
 * two calls it makes). The real registry is exercised by serde.int.test.ts; this file covers
 * the failure modes a real registry cannot be made to produce on demand.
 */
class StubRegistry {
  schemas = new Map<number, unknown>();
  ids = new Map<string, number>();
  failWith: unknown = null;
  calls = { getSchema: 0, lookup: 0 };

  async getSchema(id: number): Promise<unknown> {
    this.calls.getSchema++;
    if (this.failWith) throw this.failWith;
    const schema = this.schemas.get(id);
    if (!schema) throw Object.assign(new Error('not found'), { status: 404 });
    return parseAvro(schema as object);
  }

  async getRegistryIdBySchema(subject: string): Promise<number> {
    this.calls.lookup++;
    if (this.failWith) throw this.failWith;
    const id = this.ids.get(subject);
    if (id === undefined)
      throw Object.assign(new Error('No content'), { name: 'ConfluentSchemaRegistryError' });
    return id;
  }
}

const now = Date.UTC(2026, 5, 1);
const catalogue = createCatalogue();
let registry: StubRegistry;
let serde: ReturnType<typeof createSerde>;

beforeEach(() => {
  registry = new StubRegistry();
  catalogue.topics.forEach((t, i) => {
    registry.schemas.set(i + 1, AVRO_SCHEMAS[t.name]);
    registry.ids.set(t.subject, i + 1);
  });
  serde = createSerde({ registry: registry as unknown as SchemaRegistry, catalogue });
});

async function failure(promise: Promise<unknown>): Promise<LeadScorerError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LeadScorerError);
  return err as LeadScorerError;
}

const webVisit = EXAMPLES['engagement.web-visit.v1'];
const key = Buffer.from(webVisit.leadId);
const webId = 1;
const body = parseAvro(AVRO_SCHEMAS['engagement.web-visit.v1']).toBuffer(webVisit);

describe('serde', () => {
  it.each(catalogue.topics.map((t) => t.name))('round-trips the example of %s', async (name: TopicName) => {
    const encoded = await serde.encode(name, EXAMPLES[name], now);
    expect(encoded.topic).toBe(name);
    expect(encoded.key).toBe('lead-000123');
    const decoded = await serde.decode(
      encoded.topic,
      { key: Buffer.from(encoded.key), value: encoded.value },
      now,
    );
    expect(decoded.record).toEqual(EXAMPLES[name]);
    expect(decoded.name).toBe(name);
    expect(decoded.event === null).toBe(catalogue.get(name).eventType === null);
  });

  it('caches the schema id per subject and the reader per schema id', async () => {
    const a = await serde.encode('engagement.web-visit.v1', webVisit, now);
    await serde.encode('engagement.web-visit.v1', webVisit, now);
    await serde.decode(a.topic, { key, value: a.value }, now);
    await serde.decode(a.topic, { key, value: a.value }, now);
    expect(registry.calls).toEqual({ lookup: 1, getSchema: 1 });
  });

  it('refuses to encode an invalid record', async () => {
    const err = await failure(serde.encode('engagement.web-visit.v1', { ...webVisit, leadId: '' }, now));
    expect(err.code).toBe('MESSAGE_VALIDATION_FAILED');
  });

  it('says a schema is not registered instead of registering it', async () => {
    registry.ids.clear();
    const err = await failure(serde.encode('engagement.web-visit.v1', webVisit, now));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('npm run schemas -- register');
  });

  it('classifies an unknown schema id as poison without caching it', async () => {
    const err = await failure(
      serde.decode('engagement.web-visit.v1', { key, value: encodeFrame(999, body) }, now),
    );
    expect(err.code).toBe('MESSAGE_UNKNOWN_SCHEMA');
    expect(err.poison).toBe(true);
  });

  it('does not ask the registry about ids that cannot exist', async () => {
    const err = await failure(
      serde.decode('engagement.web-visit.v1', { key, value: encodeFrame(-5, body) }, now),
    );
    expect(err.code).toBe('MESSAGE_UNKNOWN_SCHEMA');
    expect(registry.calls.getSchema).toBe(0);
  });

  it.each([
    ['unreachable (mappersmith reports it as 400)', { status: 400, message: 'connect ECONNREFUSED' }],
    ['failing', { status: 503, message: 'unavailable' }],
  ])('makes a registry that is %s retryable, never poison, and asks again next time', async (_n, fault) => {
    registry.failWith = Object.assign(new Error(fault.message), { status: fault.status });
    const message = { key, value: encodeFrame(webId, body) };
    const err = await failure(serde.decode('engagement.web-visit.v1', message, now));
    expect(err.code).toBe('REGISTRY_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.poison).toBe(false);
    registry.failWith = null;
    expect((await serde.decode('engagement.web-visit.v1', message, now)).record).toEqual(webVisit);
  });

  it('refuses another topic’s schema as unknown for this topic, and remembers that', async () => {
    const emailBody = parseAvro(AVRO_SCHEMAS['engagement.email.v1']).toBuffer(
      EXAMPLES['engagement.email.v1'],
    );
    const message = { key, value: encodeFrame(2, emailBody) };
    for (let i = 0; i < 2; i++) {
      const err = await failure(serde.decode('engagement.web-visit.v1', message, now));
      expect(err.code).toBe('MESSAGE_UNKNOWN_SCHEMA');
      expect(err.message).toContain('cannot be read as');
    }
    expect(registry.calls.getSchema).toBe(1);
  });

  it('tells a cut-off body from a corrupt one', async () => {
    const cut = await failure(
      serde.decode('engagement.web-visit.v1', { key, value: encodeFrame(webId, body.subarray(0, 20)) }, now),
    );
    expect(cut.code).toBe('MESSAGE_TRUNCATED');
    const trailing = Buffer.concat([body, Buffer.from([1, 2, 3])]);
    const corrupt = await failure(
      serde.decode('engagement.web-visit.v1', { key, value: encodeFrame(webId, trailing) }, now),
    );
    expect(corrupt.code).toBe('MESSAGE_DECODE_FAILED');
  });

  it('validates after decoding and checks the key against the lead id', async () => {
    const bad = parseAvro(AVRO_SCHEMAS['engagement.web-visit.v1']).toBuffer({ ...webVisit, url: 'nope' });
    const invalid = await failure(
      serde.decode('engagement.web-visit.v1', { key, value: encodeFrame(webId, bad) }, now),
    );
    expect(invalid.code).toBe('MESSAGE_VALIDATION_FAILED');
    const mismatch = await failure(
      serde.decode(
        'engagement.web-visit.v1',
        { key: Buffer.from('lead-2'), value: encodeFrame(webId, body) },
        now,
      ),
    );
    expect(mismatch.code).toBe('MESSAGE_KEY_MISMATCH');
  });

  describe('decodeSync', () => {
    function outcome(run: () => unknown): unknown {
      try {
        return run();
      } catch (err) {
        const e = err as LeadScorerError;
        return { code: e.code, message: e.message, details: e.details };
      }
    }
    async function asyncOutcome(promise: Promise<unknown>): Promise<unknown> {
      return promise.then(
        (decoded) => decoded,
        (e: LeadScorerError) => ({ code: e.code, message: e.message, details: e.details }),
      );
    }

    it('returns undefined until the schema id has been read, then what decode returns', async () => {
      const message = { key, value: encodeFrame(webId, body) };
      expect(serde.decodeSync('engagement.web-visit.v1', message, now)).toBeUndefined();
      const decoded = await serde.decode('engagement.web-visit.v1', message, now);
      expect(serde.decodeSync('engagement.web-visit.v1', message, now)).toEqual(decoded);
      expect(registry.calls.getSchema).toBe(1);
    });

    it('does not remember a registry outage', async () => {
      registry.failWith = Object.assign(new Error('unavailable'), { status: 503 });
      const message = { key, value: encodeFrame(webId, body) };
      await failure(serde.decode('engagement.web-visit.v1', message, now));
      expect(serde.decodeSync('engagement.web-visit.v1', message, now)).toBeUndefined();
    });

    it('throws exactly what decode rejects with, once the schema id is known', async () => {
      const emailBody = parseAvro(AVRO_SCHEMAS['engagement.email.v1']).toBuffer(
        EXAMPLES['engagement.email.v1'],
      );
      const invalid = parseAvro(AVRO_SCHEMAS['engagement.web-visit.v1']).toBuffer({
        ...webVisit,
        url: 'nope',
      });
      const messages = [
        { key: null, value: encodeFrame(webId, body) },
        { key, value: Buffer.from('{}') },
        { key, value: encodeFrame(webId, body.subarray(0, 20)) },
        { key, value: encodeFrame(webId, Buffer.concat([body, Buffer.from([1])])) },
        { key, value: encodeFrame(webId, invalid) },
        { key: Buffer.from('lead-2'), value: encodeFrame(webId, body) },
        { key, value: encodeFrame(2, emailBody) },
        { key, value: encodeFrame(-5, body) },
        { key, value: encodeFrame(webId, body) },
      ];
      for (const m of messages) {
        const expected = await asyncOutcome(serde.decode('engagement.web-visit.v1', m, now));
        expect(outcome(() => serde.decodeSync('engagement.web-visit.v1', m, now))).toEqual(expected);
      }
      expect(outcome(() => serde.decodeSync('some.other.topic', messages[0]!, now))).toMatchObject({
        code: 'CONFIG_INVALID',
      });
    });
  });

  it('refuses a topic that is not in the catalogue as a configuration error', async () => {
    const err = await failure(
      serde.decode('some.other.topic', { key, value: encodeFrame(webId, body) }, now),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.poison).toBe(false);
  });
});
