import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './redis-server.ts';

/**
 * The consumer services under test, each as its own process started exactly as a deployment
 * does (`node services/<name>/src/main.ts`, configured by environment only), one instance each.
 */
export const CONSUMER_SERVICES = [
  'web-visits',
  'email-engagement',
  'trial-activity',
  'lead-context',
] as const;
export type ServiceName = (typeof CONSUMER_SERVICES)[number];

export interface RunningProcess {
  /** Unique per process: the service name, with `#2`, `#3` for further instances of it. */
  name: string;
  service: ServiceName;
  child: ChildProcess;
  port: number;
  group: string;
  /** Peak resident set so far (VmHWM), bytes; 0 once the process is gone. */
  peakRss(): number;
  /** user + system CPU seconds so far. */
  cpuSeconds(): number;
  metrics(): Promise<string>;
  stop(): Promise<number | null>;
}

export interface SpawnOptions {
  root: string;
  logDir: string;
  env: Record<string, string>;
  group: (service: ServiceName) => string;
  /** When set, services run with --cpu-prof and their profiles end up here as <service>.cpuprofile. */
  profDir?: string;
  /** NODE_OPTIONS for the services (V8 flags a deployment sets, e.g. heap sizes). */
  nodeOptions?: string;
  /** Instances per service, in one consumer group (default 1 each). */
  instances?: Partial<Record<ServiceName, number>>;
}

export async function spawnServices(o: SpawnOptions): Promise<RunningProcess[]> {
  mkdirSync(o.logDir, { recursive: true });
  const out: RunningProcess[] = [];
  const plan = CONSUMER_SERVICES.flatMap((service) =>
    Array.from({ length: o.instances?.[service] ?? 1 }, (_, i) => ({
      service,
      name: i === 0 ? service : `${service}#${i + 1}`,
    })),
  );
  for (const { service, name } of plan) {
    const port = await freePort();
    const group = o.group(service);
    const log = createWriteStream(join(o.logDir, `${name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, [join(o.root, 'services', service, 'src/main.ts')], {
      cwd: o.root,
      env: {
        PATH: process.env.PATH,
        ...o.env,
        CONSUMER_GROUP: group,
        HTTP_PORT: String(port),
        ...(o.nodeOptions || o.profDir
          ? {
              NODE_OPTIONS: [o.nodeOptions, o.profDir ? `--cpu-prof --cpu-prof-dir=${o.profDir}` : '']
                .filter(Boolean)
                .join(' '),
            }
          : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    out.push({
      name,
      service,
      child,
      port,
      group,
      peakRss: () => procStatusKb(child.pid!, 'VmHWM') * 1024,
      cpuSeconds: () => procCpuSeconds(child.pid!),
      metrics: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        // Graceful stop commits offsets and leaves the group (and writes a --cpu-prof profile).
        const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout' as const)]);
        if (code === 'timeout') {
          child.kill('SIGKILL');
          return exited;
        }
        if (o.profDir) nameProfile(o.profDir, child.pid!, name);
        return code;
      },
    });
  }
  return out;
}

/** V8 names profiles CPU.<date>.<time>.<pid>.<n>.cpuprofile; name it after the service instead. */
function nameProfile(dir: string, pid: number, name: string): void {
  const file = readdirSync(dir).find((f) => f.includes(`.${pid}.`) && f.endsWith('.cpuprofile'));
  if (file) renameSync(join(dir, file), join(dir, `${name}.cpuprofile`));
}

/** Waits until every service answers /readyz (connected and joined its consumer group). */
export async function waitReady(procs: RunningProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(procs);
  while (pending.size > 0) {
    for (const p of [...pending]) {
      if (p.child.exitCode !== null) throw new Error(`${p.name} exited with ${p.child.exitCode} on start`);
      const ok = await fetch(`http://127.0.0.1:${p.port}/readyz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) pending.delete(p);
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`not ready after ${timeoutMs / 1000}s: ${[...pending].map((p) => p.name).join(', ')}`);
    }
    await sleep(50);
  }
}

/** A field of /proc/<pid>/status in kB (VmHWM, VmRSS), 0 when the process is gone. */
export function procStatusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** utime + stime of a process from /proc/<pid>/stat, in seconds (USER_HZ is 100 on Linux). */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name, which may itself contain spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return 0;
  }
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Sum of a Prometheus metric's samples (all label sets) in an exposition text. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(' ').pop());
  }
  return sum;
}

/** Cumulative bucket counts of a Prometheus histogram, summed over all label sets, by `le`. */
export function histogramBuckets(text: string, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + Number(line.split(' ').pop()));
  }
  return out;
}

/** after - before, bucket by bucket: what was observed in between. */
export function diffBuckets(after: Map<number, number>, before: Map<number, number>): Map<number, number> {
  return new Map([...after].map(([le, n]) => [le, n - (before.get(le) ?? 0)]));
}

/**
 * A quantile estimated from cumulative buckets, interpolating linearly inside the bucket as
 * Prometheus' histogram_quantile does; coarse (bucket bounds), but it splits time by stage.
 */
export function bucketQuantile(buckets: Map<number, number>, q: number): number {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return 0;
  const rank = q * total;
  let prevLe = 0;
  let prevN = 0;
  for (const [le, n] of sorted) {
    if (n >= rank) {
      if (!Number.isFinite(le)) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevN)) / Math.max(1, n - prevN);
    }
    prevLe = le;
    prevN = n;
  }
  return prevLe;
}
