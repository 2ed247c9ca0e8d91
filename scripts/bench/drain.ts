import { setTimeout as sleep } from 'node:timers/promises';
import { evalStats } from './ceilings.ts';
import { CONSUMED_TOPICS, type Deployment } from './deployment.ts';
import { groupProgress, topicEnds } from './lag.ts';
import type { DedicatedRedis } from './redis-server.ts';
import {
  machineCpu,
  metricSum,
  procCpuSeconds,
  type RunningProcess,
  type SpawnOptions,
  spawnServices,
} from './services.ts';

/**
 * Drain: the input topics are full before any service starts; one instance of each consumer
 * service is started and the clock runs until every group's committed offsets reach the end.
 * Each service's rate is timed from its own readiness (joined its group), the overall rate
 * from the first readiness to the last group drained. CPU of every process and of the machine
 * is sampled over the same window, so the report can say where the cores went.
 */
export interface ServiceDrain {
  service: string;
  events: number;
  drained: boolean;
  seconds: number;
  perSecond: number;
  readyAfterSeconds: number;
  cpuSeconds: number;
  /** Mean Redis round trip of apply-events as the service saw it, and its share of wall time. */
  scriptMeanMs: number;
  scriptShareOfWall: number;
  applied: number;
  deduplicated: number;
  filtered: number;
  deadLettered: number;
  stageChangesPublished: number;
}

export interface DrainResult {
  events: number;
  drained: boolean;
  seconds: number;
  perSecond: number;
  services: ServiceDrain[];
  cpu: { machineCores: number; services: number; redis: number; benchProcess: number; rest: number };
  redis: { evalshaCalls: number; usecPerCall: number; busyShare: number; usedMemoryBytes: number };
  samples: { t: number; committed: Record<string, number> }[];
}

export async function runDrain(
  d: Deployment,
  redis: DedicatedRedis,
  spawn: SpawnOptions,
  o: {
    timeoutMs: number;
    log: (s: string) => void;
    /** Hands the processes over as soon as they exist, so an interrupted run can stop them. */
    spawned: (procs: RunningProcess[]) => void;
  },
): Promise<{ result: DrainResult; procs: RunningProcess[] }> {
  const admin = d.kafka.admin();
  await admin.connect();
  const topicsOf = (s: string) => CONSUMED_TOPICS[s]!.map((t) => d.topic(t));
  const ends = await topicEnds(admin, Object.values(CONSUMED_TOPICS).flat().map(d.topic));
  const totalOf = (s: string) =>
    topicsOf(s).reduce((a, t) => a + [...(ends.get(t)?.values() ?? [])].reduce((x, y) => x + y, 0), 0);
  await redis.client.config('RESETSTAT');
  const redisCpu0 = procCpuSeconds(redis.pid);
  const machine0 = machineCpu();
  const bench0 = process.cpuUsage();

  const spawned = performance.now();
  const procs = await spawnServices(spawn);
  o.spawned(procs);
  const readyAt = new Map<string, number>();
  const doneAt = new Map<string, number>();
  const samples: DrainResult['samples'] = [];
  const deadline = spawned + o.timeoutMs;
  let lastLog = 0;
  while (doneAt.size < procs.length && performance.now() < deadline) {
    for (const p of procs) {
      if (!readyAt.has(p.name)) {
        const ok = await fetch(`http://127.0.0.1:${p.port}/readyz`)
          .then((r) => r.ok)
          .catch(() => false);
        if (ok) readyAt.set(p.name, performance.now());
      }
      if (p.child.exitCode !== null)
        throw new Error(`${p.name} exited with ${p.child.exitCode} while draining`);
    }
    const t = performance.now();
    const committed: Record<string, number> = {};
    for (const p of procs) {
      if (doneAt.has(p.name)) continue;
      const g = await groupProgress(admin, p.group, topicsOf(p.name), ends);
      committed[p.name] = g.committed;
      if (g.lag === 0) doneAt.set(p.name, t);
    }
    samples.push({ t: (t - spawned) / 1000, committed });
    if (t - lastLog > 10_000) {
      lastLog = t;
      o.log(`  drain ${((t - spawned) / 1000).toFixed(0)}s: ${JSON.stringify(committed)}`);
    }
    await sleep(200);
  }
  const end = performance.now();
  const cpuServices = procs.map((p) => p.cpuSeconds());
  const machine1 = machineCpu();
  const bench1 = process.cpuUsage(bench0);
  const stats = evalStats(await redis.client.info('commandstats'));
  const usedMemory = Number((await redis.info('memory')).used_memory);
  await admin.disconnect();

  const firstReady = Math.min(...readyAt.values());
  const wall = (end - firstReady) / 1000;
  const services: ServiceDrain[] = [];
  for (const [i, p] of procs.entries()) {
    const m = await p.metrics().catch(() => '');
    const ready = readyAt.get(p.name) ?? spawned;
    const seconds = ((doneAt.get(p.name) ?? end) - ready) / 1000;
    const scriptSum = metricSum(m, 'leadscorer_redis_script_seconds_sum');
    const scriptCount = metricSum(m, 'leadscorer_redis_script_seconds_count');
    const events = totalOf(p.name);
    const drained = doneAt.has(p.name);
    const consumed = drained ? events : metricSum(m, 'leadscorer_events_consumed_total');
    services.push({
      service: p.name,
      events,
      drained,
      seconds,
      perSecond: consumed / seconds,
      readyAfterSeconds: (ready - spawned) / 1000,
      cpuSeconds: cpuServices[i]!,
      scriptMeanMs: scriptCount > 0 ? (scriptSum / scriptCount) * 1000 : 0,
      scriptShareOfWall: scriptSum / seconds,
      applied: metricSum(m, 'leadscorer_events_applied_total'),
      deduplicated: metricSum(m, 'leadscorer_events_deduplicated_total'),
      filtered: metricSum(m, 'leadscorer_events_filtered_total'),
      deadLettered: metricSum(m, 'leadscorer_events_dead_lettered_total'),
      stageChangesPublished: metricSum(m, 'leadscorer_stage_changes_published_total'),
    });
  }
  const events = services.reduce((a, s) => a + s.events, 0);
  const drained = services.every((s) => s.drained);
  const consumed = services.reduce((a, s) => a + (s.drained ? s.events : s.perSecond * s.seconds), 0);
  const jiffies = machine1.total - machine0.total;
  const window = (end - spawned) / 1000;
  const cores = (machine1.busy - machine0.busy) / (jiffies > 0 ? jiffies : 1);
  const ncpu = jiffies / 100 / window;
  const servicesCpu = cpuServices.reduce((a, b) => a + b, 0) / window;
  const redisCpu = (procCpuSeconds(redis.pid) - redisCpu0) / window;
  const benchCpu = (bench1.user + bench1.system) / 1e6 / window;
  const { usec, calls } = stats;
  return {
    procs,
    result: {
      events,
      drained,
      seconds: wall,
      perSecond: consumed / wall,
      services,
      cpu: {
        machineCores: cores * ncpu,
        services: servicesCpu,
        redis: redisCpu,
        benchProcess: benchCpu,
        rest: Math.max(0, cores * ncpu - servicesCpu - redisCpu - benchCpu),
      },
      redis: {
        evalshaCalls: calls,
        usecPerCall: calls > 0 ? usec / calls : 0,
        busyShare: usec / 1e6 / wall,
        usedMemoryBytes: usedMemory,
      },
      samples,
    },
  };
}
