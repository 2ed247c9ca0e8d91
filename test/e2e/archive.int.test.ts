import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listArchive, nextOffset } from '@leadscorer/archive';
import type { RunningService } from '@leadscorer/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { startArchiver } from '../../services/archiver/src/service.ts';
import {
  eventMessage,
  type InputMessage,
  inputProducer,
  type Located,
  locatedKey,
  outcomeMessage,
  poisonMessages,
  produceMessages,
  readArchive,
  readTopics,
} from '../support/archive.ts';
import { generateEvents, prng } from '../support/event-gen.ts';
import { type ServiceProcess, spawnService } from '../support/processes.ts';
import { eventually, type ScorerEnv, scorerEnv } from '../support/scorer.ts';

const DAY = 86_400_000;
const KILLS = 16;

/** A mixed history over the last four days: every input topic, outcomes, some poison. */
function history(seed: number, events: number, prefix: string): InputMessage[] {
  const start = Date.now() - 4 * DAY;
  const generated = generateEvents({
    seed,
    leads: 60,
    events,
    start,
    stepMs: Math.floor((4 * DAY) / events),
    maxLagMs: 3_600_000,
    leadPrefix: prefix,
  });
  const msgs = generated.map((g) => eventMessage(g.event, g.arrival));
  const rnd = prng(seed);
  for (let i = 0; i < events / 20; i++) {
    const t = start + Math.floor(rnd() * 4 * DAY);
    msgs.push(outcomeMessage(`${prefix}-out-${i}`, `${prefix}-${i % 60}`, t, rnd() < 0.3));
  }
  msgs.push(...poisonMessages(seed, 12, start + DAY));
  return msgs;
}

/** Exactly once: the archive holds every message of the topics but the poison, once, nothing else. */
function expectExactlyOnce(topics: Located[], root: string): void {
  const { records, files } = readArchive(root);
  const archived = records.map(locatedKey);
  expect(new Set(archived).size, 'a message archived twice').toBe(archived.length);
  const wanted = topics.filter((m) => m.eventId !== undefined).map(locatedKey);
  expect(topics.length - wanted.length, 'the poison messages are on the topics').toBe(12);
  expect(new Set(archived)).toEqual(new Set(wanted));
  // Each partition's files tile its offsets: disjoint ranges, in order, up to the end.
  const byPartition = new Map<string, typeof files>();
  for (const f of files) {
    const k = `${f.topic}/${f.partition}`;
    byPartition.set(k, [...(byPartition.get(k) ?? []), f]);
  }
  for (const [k, list] of byPartition) {
    list.sort((a, b) => a.first - b.first);
    for (let i = 1; i < list.length; i++) expect(list[i]!.first, k).toBe(list[i - 1]!.last + 1);
    for (const f of list)
      expect(
        f.days.every((d) => d === f.date),
        `${k} ${f.first}: one day per file`,
      ).toBe(true);
    const end = Math.max(...topics.filter((m) => `${m.topic}/${m.partition}` === k).map((m) => m.offset));
    expect(list[list.length - 1]!.last, k).toBe(end);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function fileCount(root: string): number {
  let n = 0;
  for (const partitions of listArchive(root).values())
    for (const files of partitions.values()) n += files.length;
  return n;
}

/** True once the files on disk reach the end of every partition the topics hold. */
function archiveComplete(root: string, topics: Located[]): boolean {
  const ends = new Map<string, number>();
  for (const m of topics)
    ends.set(`${m.topic}/${m.partition}`, Math.max(ends.get(`${m.topic}/${m.partition}`) ?? 0, m.offset + 1));
  const listed = listArchive(root);
  return [...ends].every(([k, end]) => {
    const [topic, partition] = [k.slice(0, k.lastIndexOf('/')), Number(k.slice(k.lastIndexOf('/') + 1))];
    return nextOffset(listed.get(topic)?.get(partition)) === end;
  });
}

describe('archiver', () => {
  const envs: ScorerEnv[] = [];
  const dirs: string[] = [];
  const procs: ServiceProcess[] = [];
  const running: RunningService[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await Promise.all(running.map((s) => s.stop()));
    for (const e of envs) await e.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const setUp = async (label: string) => {
    const env = await scorerEnv(label, 3);
    envs.push(env);
    const dir = mkdtempSync(join(tmpdir(), `leadscorer-${label}-`));
    dirs.push(dir);
    const inputs = env.contracts.catalogue.inputs.map((t) => t.topic);
    return { env, dir, inputs };
  };

  it(`SIGKILLed ${KILLS} times while events arrive: every message archived exactly once`, {
    timeout: 300_000,
  }, async () => {
    const { env, dir, inputs } = await setUp('archive-crash');
    const archiverEnv = env.env({
      ARCHIVE_DIR: dir,
      CONSUMER_GROUP: env.contracts.group(`${env.contracts.prefix}archiver`),
      // Small files, written often: many writes for the kills to land in.
      ARCHIVE_FLUSH_RECORDS: '37',
      ARCHIVE_FLUSH_INTERVAL_MS: '250',
      ARCHIVE_MAX_PENDING_BYTES: '20000',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      PARTITIONS_CONCURRENTLY: '3',
    });
    const msgs = history(11, 6000, 'arc');
    // In time order, as producers publish: a partition's files roll over at each UTC midnight.
    msgs.sort((a, b) => a.timestamp - b.timestamp);
    const rnd = prng(5);
    // Producers publish all along, 20 messages every 300 ms, while the archiver is killed.
    const producer = await inputProducer(env.contracts.kafka, env.contracts.catalogue);
    let published = 0;
    const publishing = (async () => {
      for (; published < msgs.length; published += 20) {
        await producer.send(msgs.slice(published, published + 20));
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    let proc = spawnService('archiver', archiverEnv, 'archive-crash-0');
    procs.push(proc);
    let kills = 0;
    while (kills < KILLS || published < msgs.length) {
      // This instance is working (it wrote a file since it started) when it dies, at a random moment.
      const before = fileCount(dir);
      await eventually(`archiver ${kills} writing`, async () => fileCount(dir) > before, 60_000);
      await new Promise((r) => setTimeout(r, Math.floor(rnd() * 600)));
      await proc.kill('SIGKILL');
      kills++;
      proc = spawnService('archiver', archiverEnv, `archive-crash-${kills}`);
      procs.push(proc);
    }
    await publishing;
    await producer.close();
    // The last instance (on a known port) must be up before it is asked to stop gracefully.
    await proc.kill('SIGKILL');
    const port = await freePort();
    proc = spawnService(
      'archiver',
      { ...archiverEnv, HTTP_PORT: String(port) },
      `archive-crash-${kills + 1}`,
    );
    procs.push(proc);
    await eventually('the last archiver ready', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      return res?.status === 200;
    });
    const topics = await readTopics(
      env.contracts.kafka,
      inputs,
      env.contracts.group(`${env.contracts.prefix}truth`),
    );
    expect(topics.length).toBe(msgs.length);
    await eventually(
      'the archive to reach the end of every partition',
      async () => archiveComplete(dir, topics),
      120_000,
    );
    expect(await proc.kill('SIGTERM'), 'graceful stop exit code').toBe(0);
    expectExactlyOnce(topics, dir);
    const { files } = readArchive(dir);
    console.log(`archive crash test: ${kills} kills, ${topics.length} messages, ${files.length} files`);
  });

  it('writes what it holds at a graceful stop, and resumes from its files after a restart', async () => {
    const { env, dir, inputs } = await setUp('archive-stop');
    const group = env.contracts.group(`${env.contracts.prefix}archiver`);
    // Files would only be written after an hour: what is on disk comes from the stop.
    const archiverEnv = env.env({
      ARCHIVE_DIR: dir,
      CONSUMER_GROUP: group,
      ARCHIVE_FLUSH_INTERVAL_MS: '3600000',
    });
    const first = history(12, 300, 'stop');
    await produceMessages(env.contracts.kafka, env.contracts.catalogue, first);
    const svc = await startArchiver(
      archiverEnv,
      (e) => {
        throw e;
      },
      0,
    );
    running.push(svc);
    const consumed = async () => (await svc.metrics.consumed.get()).values.reduce((n, v) => n + v.value, 0);
    await eventually('every message consumed', async () => (await consumed()) === first.length, 60_000);
    let topics = await readTopics(
      env.contracts.kafka,
      inputs,
      env.contracts.group(`${env.contracts.prefix}t1`),
    );
    // Only a day's change closed files so far: each partition's last one is still in memory.
    expect(archiveComplete(dir, topics)).toBe(false);
    await svc.stop();
    running.pop();
    expectExactlyOnce(topics, dir);

    // More messages, a restart with the group's offsets deleted: the files say where to resume.
    const admin = env.contracts.kafka.admin();
    await admin.connect();
    await admin.deleteGroups([group]);
    await admin.disconnect();
    await produceMessages(
      env.contracts.kafka,
      env.contracts.catalogue,
      history(13, 200, 'more').filter((m) => !Buffer.isBuffer(m.record)),
    );
    const again = await startArchiver(
      { ...archiverEnv, ARCHIVE_FLUSH_INTERVAL_MS: '200' },
      (e) => {
        throw e;
      },
      0,
    );
    running.push(again);
    topics = await readTopics(env.contracts.kafka, inputs, env.contracts.group(`${env.contracts.prefix}t2`));
    await eventually(
      'the archive to reach the end of every partition',
      async () => archiveComplete(dir, topics),
      60_000,
    );
    await again.stop();
    running.pop();
    expectExactlyOnce(topics, dir);
  });
});
