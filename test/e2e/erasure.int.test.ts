import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { leadHash } from '@leadscorer/core';
import type { ScoringEvent } from '@leadscorer/engine';
import {
  consumerSpec,
  erasedKey,
  erasureAuditKey,
  type ScoringService,
  startConsumerService,
  startRelayService,
} from '@leadscorer/scoring-service';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startArchiver } from '../../services/archiver/src/service.ts';
import { readArchive } from '../support/archive.ts';
import { testInfra } from '../support/infra.ts';
import { eventually, type ScorerEnv, scorerEnv } from '../support/scorer.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const NODE = process.execPath;

/** Every byte Redis holds under a prefix: key names and values, read by type. */
async function bytesUnder(redis: Redis, prefix: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scanBuffer(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = String(next);
    for (const key of keys) {
      parts.push(key);
      const type = await redis.type(key);
      if (type === 'string') parts.push((await redis.getBuffer(key)) ?? Buffer.alloc(0));
      else if (type === 'hash')
        for (const [k, v] of Object.entries(await redis.hgetallBuffer(key))) parts.push(Buffer.from(k), v);
      else if (type === 'zset') parts.push(...(await redis.zrangeBuffer(key, 0, -1)));
      else if (type === 'set') parts.push(...(await redis.smembersBuffer(key)));
      else if (type === 'list') parts.push(...(await redis.lrangeBuffer(key, 0, -1)));
      else if (type === 'stream')
        for (const [, fields] of (await redis.xrangeBuffer(key, '-', '+')) as [Buffer, Buffer[]][])
          parts.push(...fields);
      else throw new Error(`unexpected key type ${type}`);
    }
  } while (cursor !== '0');
  return Buffer.concat(parts);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('erasure', () => {
  const envs: ScorerEnv[] = [];
  const stops: { stop(): Promise<void> }[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const s of stops.reverse()) await s.stop().catch(() => undefined);
    for (const e of envs) await e.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('by the CLI, a request on lead.erasure-requests.v1 and a tombstone on lead.profile.v1: no stored byte keeps the lead, its later events are dropped, the audit keeps a hash', {
    timeout: 180_000,
  }, async () => {
    const e = await scorerEnv('erase', 2);
    envs.push(e);
    const archive = mkdtempSync(join(tmpdir(), 'leadscorer-erase-'));
    dirs.push(archive);
    const now = Date.now();
    const tag = e.keyPrefix.slice(2, 10);
    // Ids and data distinctive enough to search the stored bytes for.
    const lead = (n: string) => `erase-${tag}-${n}`;
    const [viaCli, viaRequest, viaTombstone, kept] = ['cli', 'request', 'tombstone', 'kept'].map(lead) as [
      string,
      string,
      string,
      string,
    ];
    const title = (id: string) => `Chief Erasable Officer ${id.slice(-4)}`;
    const events = (id: string, from: number): ScoringEvent[] => [
      {
        eventId: `${id}-p`,
        leadId: id,
        eventTime: now - 60_000,
        type: 'profile',
        props: {
          jobTitle: title(id),
          seniority: 'cxo',
          companySize: 800,
          industry: 'software',
          country: 'DE',
        },
      },
      ...Array.from({ length: 6 }, (_, i) => ({
        eventId: `${id}-w${from + i}`,
        leadId: id,
        eventTime: now - 50_000 + i,
        type: 'web' as const,
        props: { url: 'https://example.com/pricing', path: '/pricing', userAgent: 'Mozilla/5.0' },
      })),
    ];
    const all = [viaCli, viaRequest, viaTombstone, kept];
    const services: ScoringService[] = [];
    for (const name of ['web-visits', 'lead-context'] as const) {
      const groupId = e.contracts.group(`${e.contracts.prefix}${name}`);
      const s = await startConsumerService(
        consumerSpec(name, (err) => expect(err).toBeUndefined()),
        e.env({ CONSUMER_GROUP: groupId, ERASURE_POLL_MS: '200' }),
      );
      services.push(s);
      stops.push(s);
    }
    // The relay writes lead.stage.v1, the erasures' tombstones there included.
    stops.push(
      await startRelayService(
        { service: 'outbox-relay', defaultPort: 0 },
        e.env({ RELAY_INTERVAL_MS: '200', RELAY_MIN_AGE_MS: '500' }),
      ),
    );
    stops.push(
      await startArchiver(
        e.env({
          ARCHIVE_DIR: archive,
          ARCHIVE_CODEC: 'null', // uncompressed, so the bytes can be searched
          CONSUMER_GROUP: e.contracts.group(`${e.contracts.prefix}archiver`),
          ARCHIVE_FLUSH_INTERVAL_MS: '300',
        }),
        (err) => expect(err).toBeUndefined(),
        0,
      ),
    );
    await e.produce(all.flatMap((id) => events(id, 0)));
    const model = services[0]!.wiring.configuredModel;
    await eventually('every lead scored', async () => (await e.records(all, model)).size === 4, 60_000);
    // Event ids start with their lead's id.
    const archivedLeads = () => {
      const ids = readArchive(archive).records.map((r) => r.eventId ?? '');
      return { has: (lead: string) => ids.some((id) => id.startsWith(`${lead}-`)) };
    };
    await eventually('every lead archived', async () => all.every((id) => archivedLeads().has(id)), 60_000);

    // Three ways in.
    const env = e.env({ LOG_LEVEL: 'warn' });
    const cli = await run(
      NODE,
      [join(ROOT, 'libs/scoring-service/src/cli/erase.ts'), viaCli, '--by', 'DSR-1'],
      {
        env: { ...process.env, ...env },
        cwd: ROOT,
      },
    );
    expect(cli.stdout).toContain(`erased lead sha256:${leadHash(viaCli)} (state removed`);
    expect(cli.stdout).not.toContain(viaCli);
    const producer = e.contracts.kafka.producer();
    await producer.connect();
    const { serde } = services[1]!.wiring;
    await producer.send({
      topic: e.contracts.catalogue.get('lead.erasure-requests.v1').topic,
      messages: [
        await serde.encode(
          'lead.erasure-requests.v1',
          { eventId: 'dsr-2', leadId: viaRequest, eventTime: Date.now(), requestedBy: 'DSR-2' },
          Date.now(),
        ),
      ],
    });
    await producer.send({
      topic: e.contracts.catalogue.get('lead.profile.v1').topic,
      messages: [{ key: viaTombstone, value: null }],
    });
    const gone = [viaCli, viaRequest, viaTombstone];
    await eventually('the three leads erased', async () => {
      const left = await e.records(all, model);
      return gone.every((id) => !left.has(id)) && left.has(kept);
    });
    await eventually('the archive without them', async () => {
      const ids = archivedLeads();
      return gone.every((id) => !ids.has(id)) && ids.has(kept);
    });

    // Later events of an erased lead are dropped; the others' still count.
    const before = (await e.records([kept], model)).get(kept)!.offsets;
    await e.produce([...events(viaCli, 100).slice(1), ...events(kept, 100).slice(1)]);
    await eventually('the kept lead moved on', async () => {
      const r = (await e.records([kept], model)).get(kept);
      return r !== undefined && JSON.stringify([...r.offsets]) !== JSON.stringify([...before]);
    });
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await e.records([viaCli], model)).has(viaCli), 'an erased lead came back').toBe(false);
    const dropped = (await services[0]!.wiring.metrics.filtered.get()).values.find(
      (v) => v.labels.reason === 'erased-lead',
    );
    expect(dropped?.value).toBe(6);

    // No stored byte holds an erased lead's id or data: Redis (every key of the deployment) and
    // the archive files.
    const redis = new Redis(testInfra().redisUrl);
    try {
      await eventually('the archive files settled', async () => !archivedLeads().has(viaCli), 30_000);
      // The lead.stage.v1 tombstones wait in Redis (with the id) until the relay has written them.
      await eventually('the snapshot tombstones written', async () => {
        const bytes = await bytesUnder(redis, e.keyPrefix);
        return gone.every((id) => !bytes.includes(id));
      }).catch(async (err) => {
        for (const k of await redis.keys(`${e.keyPrefix}*`)) {
          const b = await bytesUnder(redis, k);
          if (gone.some((id) => b.includes(id)))
            console.log('DEBUG key', k, await redis.type(k), b.toString().slice(0, 300));
        }
        throw err;
      });
      const stored = await bytesUnder(redis, e.keyPrefix);
      const files = Buffer.concat(filesUnder(archive).map((f) => readFileSync(f)));
      for (const id of gone) {
        expect(stored.includes(id), `${id} in Redis`).toBe(false);
        expect(stored.includes(title(id)), `${id}'s data in Redis`).toBe(false);
        expect(files.includes(id), `${id} in the archive`).toBe(false);
        expect(files.includes(title(id)), `${id}'s data in the archive`).toBe(false);
      }
      expect(stored.includes(kept), 'the kept lead is stored').toBe(true);
      expect(files.includes(title(kept)), 'the kept lead is archived').toBe(true);

      // The audit: one record per erasure, a hash and how, never the id.
      const audit = await redis.xrange(erasureAuditKey(e.keyPrefix), '-', '+');
      const records = audit.map(([, f]) =>
        Object.fromEntries(f.flatMap((_, i) => (i % 2 ? [] : [[f[i], f[i + 1]]]))),
      );
      expect(records.map((r) => [r.lead, r.source, r.by]).sort()).toEqual(
        [
          [leadHash(viaCli), 'cli', 'DSR-1'],
          [leadHash(viaRequest), 'request', 'DSR-2'],
          [leadHash(viaTombstone), 'profile-tombstone', ''],
        ].sort(),
      );
      expect(records.every((r) => r.record === '1')).toBe(true);
      expect(new Set(await redis.zrange(erasedKey(e.keyPrefix), 0, -1))).toEqual(new Set(gone.map(leadHash)));
    } finally {
      redis.disconnect();
    }

    // Tombstones on lead.profile.v1 for the CLI's and the request's erasures; nothing dead-lettered.
    const tombstones = await tombstonesOn(
      e,
      e.contracts.catalogue.get('lead.profile.v1').topic,
      e.contracts.group(`${e.contracts.prefix}check`),
    );
    expect(new Set(tombstones)).toEqual(new Set(gone));
    // And on the snapshot topic, so subscribers that rebuild from it drop the leads too.
    const stageTombstones = await tombstonesOn(
      e,
      e.contracts.catalogue.get('lead.stage.v1').topic,
      e.contracts.group(`${e.contracts.prefix}check-stage`),
    );
    expect(new Set(stageTombstones)).toEqual(new Set(gone));
    const deadLettered = (await services[1]!.wiring.metrics.deadLettered.get()).values;
    expect(deadLettered).toEqual([]);
    await producer.disconnect();
  });
});

/** The keys of the tombstones a topic holds now. */
async function tombstonesOn(e: ScorerEnv, topic: string, groupId: string): Promise<string[]> {
  const admin = e.contracts.kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  await admin.disconnect();
  const left = new Set([...ends].filter(([, end]) => end > 0).map(([p]) => p));
  const keys: string[] = [];
  const consumer = e.contracts.kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (message.value === null) keys.push(message.key!.toString());
        if (Number(message.offset) === ends.get(partition)! - 1) left.delete(partition);
        if (left.size === 0) resolve();
      },
    });
  });
  await consumer.disconnect();
  return keys;
}
