import { LeadScorerError } from '@leadscorer/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAvro } from './compatibility.ts';
import { EXAMPLES } from './examples.ts';
import { AVRO_SCHEMAS } from './generated/index.ts';
import { type ContractsEnv, contractsEnv, createRegistryClient } from './int-support.ts';
import { createSerde, type Serde } from './serde.ts';
import { encodeFrame } from './wire.ts';

// Round trips and schema evolution against the real registry: every schema registered under a
// prefix of this test's own, as the deploy step does.
let env: ContractsEnv;
let serde: Serde;
const now = Date.now();

beforeAll(async () => {
  env = contractsEnv('serde');
  await env.registerAll();
  serde = createSerde({ registry: createRegistryClient(env.registryUrl), catalogue: env.catalogue });
});
afterAll(async () => {
  await env.cleanup();
});

async function failure(promise: Promise<unknown>): Promise<LeadScorerError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LeadScorerError);
  return err as LeadScorerError;
}

describe('every schema round-trips through the registry', () => {
  it.each(Object.keys(EXAMPLES) as Array<keyof typeof EXAMPLES>)('%s', async (name) => {
    const encoded = await serde.encode(name, EXAMPLES[name], now);
    expect(encoded.topic).toBe(env.prefix + name);
    expect(encoded.value[0]).toBe(0);
    const registered = await env.admin.version(env.catalogue.get(name).subject, 'latest');
    expect(encoded.value.readInt32BE(1)).toBe(registered.id);

    const decoded = await serde.decode(
      encoded.topic,
      { key: Buffer.from(encoded.key), value: encoded.value },
      now,
    );
    expect(decoded.record).toEqual(EXAMPLES[name]);
    expect(decoded.schemaId).toBe(registered.id);
  });
});

describe('schema evolution: writers and readers of different versions interoperate', () => {
  // The web-visit schema as it might have been before (no durationSeconds) and as it might
  // become (a new optional field). Both are BACKWARD compatible with today's.
  const current = AVRO_SCHEMAS['engagement.web-visit.v1'] as { fields: Array<{ name: string }> };
  const older = { ...current, fields: current.fields.filter((f) => f.name !== 'durationSeconds') };
  const newer = {
    ...current,
    fields: [
      ...current.fields,
      { name: 'utmCampaign', type: ['null', 'string'], default: null, doc: 'UTM campaign.' },
    ],
  };
  const visit = EXAMPLES['engagement.web-visit.v1'];

  it('decodes a message of an older writer into the current reader, filling defaults', async () => {
    // A subject of its own whose history is older -> current, like a topic that evolved.
    const evolving = contractsEnv('serde-old');
    try {
      const subject = evolving.catalogue.get('engagement.web-visit.v1').subject;
      const { id: oldId } = await evolving.admin.register(subject, JSON.stringify(older));
      await evolving.registerAll();
      const { durationSeconds: _dropped, ...oldRecord } = visit;
      const value = encodeFrame(oldId, parseAvro(older).toBuffer(oldRecord));
      const reader = createSerde({
        registry: createRegistryClient(evolving.registryUrl),
        catalogue: evolving.catalogue,
      });
      const decoded = await reader.decode(
        evolving.prefix + 'engagement.web-visit.v1',
        { key: Buffer.from(visit.leadId), value },
        now,
      );
      expect(decoded.schemaId).toBe(oldId);
      expect(decoded.record).toEqual({ ...visit, durationSeconds: null });
      expect(decoded.event?.props.durationSeconds).toBeNull();
    } finally {
      await evolving.cleanup();
    }
  });

  it('decodes a message of a newer writer into the current reader, ignoring the new field', async () => {
    const subject = env.catalogue.get('engagement.web-visit.v1').subject;
    const { id: newId } = await env.admin.register(subject, JSON.stringify(newer));
    const value = encodeFrame(newId, parseAvro(newer).toBuffer({ ...visit, utmCampaign: 'spring' }));
    const decoded = await serde.decode(
      env.prefix + 'engagement.web-visit.v1',
      { key: Buffer.from(visit.leadId), value },
      now,
    );
    expect(decoded.schemaId).toBe(newId);
    expect(decoded.record).toEqual(visit);
  });

  it('lets a consumer on the newer schema read what today’s producers write', async () => {
    const encoded = await serde.encode('engagement.web-visit.v1', visit, now);
    const newerReader = parseAvro(newer);
    const writer = parseAvro(JSON.stringify(AVRO_SCHEMAS['engagement.web-visit.v1']));
    const record = newerReader.fromBuffer(encoded.value.subarray(5), newerReader.createResolver(writer));
    expect(record).toEqual({ ...visit, utmCampaign: null });
  });
});

describe('registry faults', () => {
  it('classifies a schema id the registry does not know as poison', async () => {
    const value = encodeFrame(2_000_000_000, Buffer.from([2, 0x61]));
    const err = await failure(
      serde.decode(env.prefix + 'engagement.web-visit.v1', { key: Buffer.from('l'), value }, now),
    );
    expect(err.code).toBe('MESSAGE_UNKNOWN_SCHEMA');
  });

  it('classifies an unreachable registry as retryable, never poison', async () => {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    const offline = createSerde({
      registry: createRegistryClient('http://127.0.0.1:9'),
      catalogue: env.catalogue,
    });
    const value = encodeFrame(1, Buffer.from([2, 0x61]));
    const decodeErr = await failure(
      offline.decode(env.prefix + 'engagement.web-visit.v1', { key: Buffer.from('l'), value }, now),
    );
    expect(decodeErr.code).toBe('REGISTRY_UNAVAILABLE');
    expect(decodeErr.retryable).toBe(true);
    const encodeErr = await failure(
      offline.encode('engagement.web-visit.v1', EXAMPLES['engagement.web-visit.v1'], now),
    );
    expect(encodeErr.code).toBe('REGISTRY_UNAVAILABLE');
  });

  it('refuses to encode for a subject that was never registered', async () => {
    const unregistered = contractsEnv('serde-unreg');
    const s = createSerde({
      registry: createRegistryClient(unregistered.registryUrl),
      catalogue: unregistered.catalogue,
    });
    const err = await failure(s.encode('lead.outcome.v1', EXAMPLES['lead.outcome.v1'], now));
    expect(err.code).toBe('CONFIG_INVALID');
  });
});
