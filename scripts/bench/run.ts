import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadModel } from '@leadscorer/engine';
import type { Producer } from 'kafkajs';
import { infraConfigFromEnv } from '../infra/config.ts';
import { down, up } from '../infra/stack.ts';
import { commitCeiling, consumeCeiling, engineCeiling, storeCeiling } from './ceilings.ts';
import { createDeployment, type Deployment, Encoder } from './deployment.ts';
import { runDrain } from './drain.ts';
import { kafkaFloor } from './kafka-floor.ts';
import { runLatency } from './latency.ts';
import { describeMachine } from './machine.ts';
import { measureMemory, memoryPoint } from './memory.ts';
import { parseOptions, USAGE } from './options.ts';
import { prefill } from './produce.ts';
import { type DedicatedRedis, startDedicatedRedis } from './redis-server.ts';
import { type BenchResult, evaluateTargets, markdown, writeDocs } from './report.ts';
import { type RunningProcess, spawnServices, waitReady } from './services.ts';
import { Workload } from './workload.ts';

/**
 * `npm run bench`: ceilings, drain, latency and memory of the lead scorer on this machine's
 * stack, in one bounded run. Phases run one after the other so they do not steal each other's
 * cores; everything the run creates (topics, groups, subjects, processes, its Redis) is removed
 * at the end, also on Ctrl-C or failure.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const MODEL_FILE = join(ROOT, 'models/default.yaml');
const log = (s: string) => console.log(`[bench] ${s}`);

// kafkajs 2.2.4's request queue arms a timer with a negative delay on Node 24, which warns
// (TimeoutNegativeWarning) and is harmless: Node runs it after 1 ms. Other warnings still print.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'TimeoutNegativeWarning') console.warn(w);
});

async function main(): Promise<number> {
  let opts: ReturnType<typeof parseOptions>;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    console.log(USAGE);
    return 0;
  }
  const o = opts;
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const outDir = join(ROOT, '.infra/bench');
  mkdirSync(outDir, { recursive: true });
  const cfg = infraConfigFromEnv(process.env, ROOT);
  // Like the tests' global setup: what this run starts (Kafka, the registry) it stops again at
  // the end, unless KEEP_INFRA=1; a stack that was already running is left as it was.
  const keepInfra = process.env['KEEP_INFRA'] === '1';
  let startedInfra = false;
  const stack = await up(cfg, (line) => {
    if (line.includes('starting')) startedInfra = true;
    log(line);
  });
  const model = loadModel(readFileSync(MODEL_FILE, 'utf8'), MODEL_FILE);

  let redis: DedicatedRedis | undefined;
  let deployment: Deployment | undefined;
  let producer: Producer | undefined;
  let procs: RunningProcess[] = [];
  const cleanupProblems: string[] = [];
  // One cleanup, shared: Ctrl-C and the normal end (or a phase failing because Ctrl-C already
  // deleted its topics) all wait for the same run of it.
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      log('cleaning up: services, topics, consumer groups, subjects, dedicated Redis');
      await Promise.all(procs.map((p) => p.stop()));
      await producer?.disconnect().catch(() => undefined);
      if (deployment) cleanupProblems.push(...(await deployment.cleanup().catch((e) => [String(e)])));
      await redis?.stop();
      if (startedInfra && !keepInfra) await down(cfg, log);
    })());
  process.once('SIGINT', () => {
    interrupted = true;
    log('interrupted');
    void cleanup().finally(() => process.exit(130));
  });

  try {
    redis = await startDedicatedRedis();
    log(`dedicated redis-server on ${redis.url} (pid ${redis.pid})`);
    const machine = await describeMachine({
      kafkaVersion: cfg.kafka.version,
      registryUrl: stack.registryUrl,
      redisVersion: (await redis.info('server')).redis_version ?? 'unknown',
    });
    deployment = await createDeployment({
      prefix: `bench-${id}.`,
      brokers: stack.kafkaBrokers.split(','),
      registryUrl: stack.registryUrl,
    });
    const d = deployment;
    log(`topics and schemas under prefix ${d.prefix}`);
    const encoder = new Encoder(d);
    producer = d.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const now = Date.now();
    const drainWorkload = () =>
      new Workload({ seed: 1, events: o.events, leads: o.leads, now, spanMs: 7 * 86_400_000, tag: `${id}` });
    const result: Omit<BenchResult, 'targets' | 'finishedAt'> = {
      startedAt: startedAt.toISOString(),
      command: `npm run bench${o.argv.length > 0 ? ` -- ${o.argv.join(' ')}` : ''}`,
      machine,
      config: {
        chunk: o.chunk,
        partitionsConcurrently: o.partitionsConcurrently,
        partitions: 6,
        prefix: d.prefix,
      },
      ceilings: {},
      cleanup: cleanupProblems,
    };

    if (!o.skipMemory) {
      result.memory = [];
      for (const leads of o.memoryLeads) {
        log(`memory: ${leads} leads, ${o.memoryEventsPerLead} events per lead through the store`);
        const p = await measureMemory(redis, model, {
          leads,
          eventsPerLead: o.memoryEventsPerLead,
          now,
          tag: id,
          log,
        });
        log(
          `  ${Math.round(p.bytesPerLead)} bytes per lead (${p.leads} leads, ${p.applySeconds.toFixed(1)} s)`,
        );
        result.memory.push(p);
      }
      await redis.client.flushall();
    }

    const serviceEnv: Record<string, string> = {
      KAFKA_BROKERS: stack.kafkaBrokers,
      SCHEMA_REGISTRY_URL: stack.registryUrl,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'ls', // the default: key names are part of the bytes per lead
      TOPIC_PREFIX: d.prefix,
      MODEL_FILE,
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ENSURE_TOPICS: 'false',
      APPLY_CHUNK_SIZE: String(o.chunk),
      PARTITIONS_CONCURRENTLY: String(o.partitionsConcurrently),
    };
    const spawnOpts = {
      root: ROOT,
      logDir: join(outDir, `logs-${stamp}`),
      env: serviceEnv,
      group: (s: string) => d.group(`scorer.${s}`),
      ...(process.env.BENCH_NODE_OPTIONS ? { nodeOptions: process.env.BENCH_NODE_OPTIONS } : {}),
      ...(o.cpuProf ? { profDir: join(outDir, `prof-${stamp}`) } : {}),
    };

    if (!o.skipDrain) {
      log(`engine ceiling: ${Math.min(o.events, 300_000)} of the drain's events in process, one core`);
      result.ceilings.engine = engineCeiling(model, drainWorkload(), {
        events: Math.min(o.events, 300_000),
        now,
        batch: o.chunk,
      });
      log(`  ${Math.round(result.ceilings.engine.perSecond)} events/s`);
      log(
        `commit ceiling: ${Math.min(o.events, 500_000)} events' states precomputed, only the commit calls timed`,
      );
      result.ceilings.commit = await commitCeiling(redis, model, drainWorkload(), {
        batch: o.chunk,
        inflight: 4,
        now,
        events: Math.min(o.events, 500_000),
      });
      log(
        `  ${Math.round(result.ceilings.commit.perSecond)} events/s, ${result.ceilings.commit.usecPerEvent.toFixed(1)} µs per event in Redis`,
      );
      log(
        `store ceiling: the drain's ${o.events} events through applyChunk on RedisScoreStore, chunks of ${o.chunk}`,
      );
      result.ceilings.store = await storeCeiling(redis, model, drainWorkload(), {
        batch: o.chunk,
        inflight: o.partitionsConcurrently,
        now,
        budgetMs: 150_000,
      });
      log(`  ${Math.round(result.ceilings.store.perSecond)} events/s`);

      log(`pre-filling ${o.events} events over ${o.leads} leads`);
      const pf = await prefill(producer, drainWorkload(), encoder, { batch: 10_000, inflight: 3 });
      result.prefill = { ...pf, perSecond: pf.events / pf.seconds };
      log(`  ${pf.events} events in ${pf.seconds.toFixed(1)} s: ${JSON.stringify(pf.byTopic)}`);

      const web = d.topic('engagement.web-visit.v1');
      log(`consume ceiling: kafkajs eachBatch counting on ${web}`);
      result.ceilings.consume = await consumeCeiling(d, {
        topic: web,
        group: d.group('bench-raw-consume'),
        expected: pf.byTopic[web] ?? 0,
        partitionsConcurrently: o.partitionsConcurrently,
        timeoutMs: 120_000,
      });
      log(`  ${Math.round(result.ceilings.consume.perSecond)} messages/s`);

      if (o.scaleDrain) {
        // First, so that the one-instance services stay up for the latency phase afterwards.
        await redis.client.flushall();
        log('drain with two instances of web-visits in its group (the others one each)');
        const scaled = await runDrain(
          d,
          redis,
          { ...spawnOpts, group: (s: string) => d.group(`scaled.${s}`), instances: { 'web-visits': 2 } },
          {
            timeoutMs: o.drainTimeoutS * 1000,
            log,
            spawned: (p) => {
              procs = p;
            },
          },
        );
        result.drainScaled = scaled.result;
        log(`  ${Math.round(scaled.result.perSecond)} events/s in ${scaled.result.seconds.toFixed(1)} s`);
        await Promise.all(scaled.procs.map((p) => p.stop()));
        procs = [];
      }

      await redis.client.flushall();
      const before = Number((await redis.info('memory')).used_memory);
      log('drain: one instance of each consumer service');
      const drained = await runDrain(d, redis, spawnOpts, {
        timeoutMs: o.drainTimeoutS * 1000,
        log,
        spawned: (p) => {
          procs = p;
        },
      });
      procs = drained.procs;
      result.drain = drained.result;
      result.drainMemory = await memoryPoint(redis, 'ls', {
        source: 'services',
        before,
        events: pf.events,
        applySeconds: drained.result.seconds,
        stageChanges: drained.result.services.reduce((a, s) => a + s.stageChangesPublished, 0),
      });
      log(`  ${Math.round(drained.result.perSecond)} events/s in ${drained.result.seconds.toFixed(1)} s`);
    }

    if (!o.skipLatency && result.drain && !result.drain.drained) {
      // A backlog still draining would be measured as latency: the numbers would mean nothing.
      log('latency: skipped, the drain did not finish within --drain-timeout');
    } else if (!o.skipLatency) {
      if (procs.length === 0) {
        procs = await spawnServices(spawnOpts);
        await waitReady(procs, 60_000);
      }
      log(`latency: open loop at ${o.rates.join(', ')} events/s, ${o.rateSeconds} s each`);
      result.latency = await runLatency(d, encoder, producer, redis, {
        rates: o.rates,
        seconds: o.rateSeconds,
        tag: `${id}l`,
        leadTag: id,
        leads: o.leads,
        procs,
        log,
      });
      log('kafka floor: the same open loop through Kafka alone (a scratch topic and a bare consumer)');
      result.kafkaFloor = [];
      for (const rate of o.rates) {
        const f = await kafkaFloor(d, { rate, seconds: Math.min(o.rateSeconds, 10), partitions: 6 });
        log(`  ${rate}/s: p50 ${f.p50} ms, p99 ${f.p99} ms, max ${f.max} ms`);
        result.kafkaFloor.push(f);
      }
    }

    if (procs.length > 0) result.peakRssBytes = Object.fromEntries(procs.map((p) => [p.name, p.peakRss()]));
    await cleanup();
    const final = { ...result, finishedAt: new Date().toISOString() };
    const full: BenchResult = { ...final, targets: evaluateTargets(final) };
    const file = join(outDir, `result-${stamp}.json`);
    writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`);
    const md = markdown(full);
    if (o.docs) writeDocs(join(ROOT, 'docs/benchmarks.md'), md);
    console.log(`\n${md}\n`);
    log(`result: ${file}${o.docs ? ', docs/benchmarks.md updated' : ''}`);
    if (cleanupProblems.length > 0) log(`cleanup problems: ${cleanupProblems.join('; ')}`);
    return 0;
  } finally {
    await cleanup();
  }
}

/** Set on Ctrl-C: a phase then fails on its deleted topics, which is no error worth printing. */
let interrupted = false;

main().then(
  (code) => process.exit(interrupted ? 130 : code),
  (err: unknown) => {
    if (!interrupted) console.error(err);
    process.exit(interrupted ? 130 : 1);
  },
);
