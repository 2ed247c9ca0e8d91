import { setTimeout as sleep } from 'node:timers/promises';
import { commandStats } from './ceilings.ts';
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
  /** The process: the service name, `#2` for a second instance in the same group. */
  service: string;
  events: number;
  drained: boolean;
  seconds: number;
  perSecond: number;
  readyAfterSeconds: number;
  cpuSeconds: number;
  /** Mean Redis round trip (read or commit) as the service saw it, and their share of wall time. */
  redisMeanMs: number;
  redisShareOfWall: number;
  /** Lead commits redone because another writer changed the lead first. */
  conflicts: number;
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
  redis: {
    /** Every command's time inside Redis (INFO commandstats) per applied event, µs. */
    usecPerAppliedEvent: number;
    commitCalls: number;
    commitUsecPerCall: number;
    /** Σ command time / wall: how busy Redis' command thread was. */
    busyShare: number;
    /** The redis-server process' CPU / wall (command thread, I/O, everything). */
    cpuShare: number;
    /** The redis-server process' CPU per applied event, µs (everything it did, I/O included). */
    cpuUsecPerAppliedEvent: number;
    /** Command time per applied event by command, µs. */
    byCommand: Record<string, number>;
    usedMemoryBytes: number;
  };
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
      const g = await groupProgress(admin, p.group, topicsOf(p.service), ends);
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
  const stats = commandStats(await redis.client.info('commandstats'));
  const redisCpu1 = procCpuSeconds(redis.pid);
  const usedMemory = Number((await redis.info('memory')).used_memory);
  await admin.disconnect();

  const firstReady = Math.min(...readyAt.values());
  const wall = (end - firstReady) / 1000;
  const services: ServiceDrain[] = [];
  for (const [i, p] of procs.entries()) {
    const m = await p.metrics().catch(() => '');
    const ready = readyAt.get(p.name) ?? spawned;
    const seconds = ((doneAt.get(p.name) ?? end) - ready) / 1000;
    const redisSum = metricSum(m, 'leadscorer_redis_script_seconds_sum');
    const redisCount = metricSum(m, 'leadscorer_redis_script_seconds_count');
    // A second instance shares its group's events: each process is credited with what it consumed.
    const shared = procs.filter((q) => q.service === p.service).length > 1;
    const drained = doneAt.has(p.name);
    const consumedHere = metricSum(m, 'leadscorer_events_consumed_total');
    const events = shared ? consumedHere : totalOf(p.service);
    const consumed = drained ? events : consumedHere;
    services.push({
      service: p.name,
      events,
      drained,
      seconds,
      perSecond: consumed / seconds,
      readyAfterSeconds: (ready - spawned) / 1000,
      cpuSeconds: cpuServices[i]!,
      redisMeanMs: redisCount > 0 ? (redisSum / redisCount) * 1000 : 0,
      redisShareOfWall: redisSum / seconds,
      conflicts: metricSum(m, 'leadscorer_commit_conflicts_total'),
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
  const redisCpu = (redisCpu1 - redisCpu0) / window;
  const benchCpu = (bench1.user + bench1.system) / 1e6 / window;
  const applied = services.reduce((a, s) => a + s.applied, 0);
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
        usecPerAppliedEvent: applied > 0 ? stats.usec / applied : 0,
        commitCalls: stats.scriptCalls,
        commitUsecPerCall: stats.scriptCalls > 0 ? stats.scriptUsec / stats.scriptCalls : 0,
        busyShare: stats.usec / 1e6 / wall,
        cpuShare: (redisCpu1 - redisCpu0) / wall,
        cpuUsecPerAppliedEvent: applied > 0 ? ((redisCpu1 - redisCpu0) * 1e6) / applied : 0,
        byCommand: Object.fromEntries(
          Object.entries(stats.byCommand)
            .sort((a, b) => b[1] - a[1])
            .map(([k, v]) => [k, applied > 0 ? v / applied : 0]),
        ),
        usedMemoryBytes: usedMemory,
      },
      samples,
    },
  };
}
