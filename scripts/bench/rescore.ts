/**
 * The rebuild benchmark of the rescore (issue: "1,000,000 leads with 10 events each rebuilt on
 * this machine in under 2 minutes"): a seeded archive of `leads` x 10 events is written to a
 * temporary directory (or BENCH_RESCORE_DIR, kept between runs), then `rescore` rebuilds every
 * lead from it into an empty Redis of its own (the path after Redis lost its data; a rescore
 * under a new model adds the catch-up and the rebase, which the integration test covers) with
 * the local Kafka and registry, and prints the time of each phase and the total. Asserts
 * nothing.
 *
 *   npm run bench:rescore -- [leads=1000000] [eventsPerLead=10] [threads=one per core]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { listArchive } from '@leadscorer/archive';
import { rescore } from '@leadscorer/rescore';
import { createLogger } from '@leadscorer/runtime';
import { loadScoringEnv, readModelFile } from '@leadscorer/scoring-service';
import { writeArchive } from '../../libs/replay/src/test-support.ts';
import { infraConfigFromEnv } from '../infra/config.ts';
import { down, up } from '../infra/stack.ts';
import { createDeployment } from './deployment.ts';
import { seededHistory } from './history.ts';
import { startDedicatedRedis } from './redis-server.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const LEADS = Number(process.argv[2] ?? 1_000_000);
const PER_LEAD = Number(process.argv[3] ?? 10);
/** Threads that replay and load (default: the rescore's, one per core). */
const THREADS = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
const EVENTS = LEADS * PER_LEAD;
// A fixed prefix: an archive kept in BENCH_RESCORE_DIR names its topics with it.
const PREFIX = 'bench-rescore.';
const log = (line: string) => console.log(`[bench:rescore] ${line}`);

const cfg = infraConfigFromEnv(process.env, ROOT);
let startedInfra = false;
const stack = await up(cfg, (line) => {
  if (line.includes('starting')) startedInfra = true;
});
const redis = await startDedicatedRedis();
const deployment = await createDeployment({
  prefix: PREFIX,
  brokers: stack.kafkaBrokers.split(','),
  registryUrl: stack.registryUrl,
});
const kept = process.env.BENCH_RESCORE_DIR;
const dir = kept ?? mkdtempSync(join(tmpdir(), 'leadscorer-bench-rescore-'));
try {
  const t0 = performance.now();
  if (listArchive(dir).size === 0) {
    await writeArchive(dir, deployment.catalogue, seededHistory(EVENTS, LEADS), {
      partitions: 6,
      recordsPerFile: 100_000,
      collect: false,
    });
    log(
      `archive of ${EVENTS.toLocaleString('en-US')} messages over ${LEADS.toLocaleString('en-US')} leads written in ${secs(performance.now() - t0)}`,
    );
  }
  const env = loadScoringEnv({
    KAFKA_BROKERS: stack.kafkaBrokers,
    SCHEMA_REGISTRY_URL: stack.registryUrl,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'bench',
    TOPIC_PREFIX: PREFIX,
    MODEL_FILE: join(ROOT, 'models/default.yaml'),
    LOG_LEVEL: 'warn',
    PUBLISH_HOLD_MS: '0',
  });
  const heap0 = process.memoryUsage().rss;
  const started = performance.now();
  const report = await rescore({
    env,
    model: readModelFile(join(ROOT, 'models/default.yaml')),
    archiveDir: dir,
    log: createLogger('rescore', 'warn'),
    graceMs: 0,
    ...(THREADS !== undefined ? { threads: THREADS } : {}),
    progress: log,
  });
  const total = performance.now() - started;
  const memory = await redis.info('memory');
  log(
    `rebuilt ${report.leads.toLocaleString('en-US')} leads from ${report.events.toLocaleString('en-US')} events in ${secs(total)} (target: under 120 s); phases (s): ${Object.entries(
      report.seconds,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  log(
    `${Math.round(report.events / (total / 1000)).toLocaleString('en-US')} events/s end to end; process RSS grew ${((process.memoryUsage().rss - heap0) / 1e9).toFixed(2)} GB; Redis used_memory ${(Number(memory.used_memory) / 1e6).toFixed(0)} MB (${(Number(memory.used_memory) / report.leads).toFixed(0)} B per lead)`,
  );
} finally {
  if (!kept) rmSync(dir, { recursive: true, force: true });
  await deployment.cleanup();
  await redis.stop();
  if (startedInfra) await down(cfg, () => undefined);
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
