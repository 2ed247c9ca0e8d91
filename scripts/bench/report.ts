import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ConsumeCeiling, ScriptCeiling } from './ceilings.ts';
import type { DrainResult } from './drain.ts';
import type { RateLatency } from './latency.ts';
import type { MemoryPoint } from './memory.ts';
import type { PrefillResult } from './produce.ts';

export interface Machine {
  /** Commit (and uncommitted library changes) the numbers are of. */
  code: string;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine. */
  loadAverage: number[];
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  kafka: string;
  registry: string;
  redis: string;
}

export interface BenchResult {
  startedAt: string;
  finishedAt: string;
  command: string;
  machine: Machine;
  config: { chunk: number; partitionsConcurrently: number; partitions: number; prefix: string };
  prefill?: PrefillResult & { perSecond: number };
  ceilings: { consume?: ConsumeCeiling; script?: ScriptCeiling };
  drain?: Omit<DrainResult, 'samples'> & { samples?: DrainResult['samples'] };
  /** Redis bytes per lead after the drain: the services' own writes, the drain's mix. */
  drainMemory?: MemoryPoint;
  latency?: RateLatency[];
  memory?: MemoryPoint[];
  peakRssBytes?: Record<string, number>;
  targets: Target[];
  cleanup: string[];
}

export interface Target {
  name: string;
  value: string;
  met: boolean | null;
}

const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
const n1 = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
const pct = (x: number) => `${Math.round(x * 100)} %`;

export function evaluateTargets(r: Omit<BenchResult, 'targets'>): Target[] {
  const targets: Target[] = [];
  const d = r.drain;
  targets.push({
    name: 'drain >= 25,000 events/s end to end, one instance per service',
    value: d ? `${n0(d.perSecond)} events/s${d.drained ? '' : ' (did not drain in time)'}` : 'not measured',
    met: d ? d.drained && d.perSecond >= 25_000 : null,
  });
  const ceilings = [r.ceilings.consume?.perSecond, r.ceilings.script?.perSecond].filter(
    (x): x is number => x !== undefined && x > 0,
  );
  const smaller = ceilings.length > 0 ? Math.min(...ceilings) : undefined;
  targets.push({
    name: 'drain >= 60 % of the smaller ceiling',
    value:
      d && smaller !== undefined
        ? `${pct(d.perSecond / smaller)} of ${n0(smaller)} events/s (${smaller === r.ceilings.script?.perSecond ? 'Redis script' : 'raw consume'})`
        : 'not measured',
    met: d && smaller !== undefined ? d.perSecond >= 0.6 * smaller : null,
  });
  const at5k = r.latency?.find((l) => l.rate === 5_000);
  targets.push({
    name: 'p99 produce -> stage change < 250 ms at 5,000 events/s',
    value: at5k ? `${n1(at5k.received.p99)} ms (${n0(at5k.received.count)} stage changes)` : 'not measured',
    met: at5k ? at5k.received.count > 0 && at5k.received.p99 < 250 : null,
  });
  const points = [...(r.memory ?? []), ...(r.drainMemory ? [r.drainMemory] : [])];
  targets.push({
    name: '<= 300 bytes of Redis memory per lead',
    value:
      points.length > 0
        ? points
            .map((p) => `${n0(p.bytesPerLead)} B at ${n0(p.leads)} leads, ${n1(p.eventsPerLead)} events/lead`)
            .join('; ')
        : 'not measured',
    met: points.length > 0 ? points.every((p) => p.bytesPerLead <= 300) : null,
  });
  return targets;
}

const yes = (m: boolean | null) => (m === null ? 'n/a' : m ? 'yes' : '**no**');

export function markdown(r: BenchResult): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(
    `Run ${r.finishedAt.slice(0, 16).replace('T', ' ')} UTC on ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.os};`,
    `Node ${m.node}, Kafka ${m.kafka}, Apicurio Registry ${m.registry}, Redis ${m.redis}. Broker, registry, Redis and`,
    `services all share the machine. One instance per consumer service, ${r.config.partitions} partitions per topic,`,
    `APPLY_CHUNK_SIZE=${r.config.chunk}, PARTITIONS_CONCURRENTLY=${r.config.partitionsConcurrently}. Code: ${m.code}.`,
    `Load average when the run started: ${m.loadAverage.join(' / ')} (1 / 5 / 15 min; other work on the machine).`,
    '',
    `Reproduce: \`${r.command}\``,
    '',
    '| target | result | met |',
    '| --- | --- | --- |',
    ...r.targets.map((t) => `| ${t.name} | ${t.value} | ${yes(t.met)} |`),
  );
  const c = r.ceilings;
  if (c.consume || c.script) {
    out.push('', '### Ceilings', '', '| ceiling | rate | detail |', '| --- | --- | --- |');
    if (c.consume) {
      out.push(
        `| raw consume, kafkajs eachBatch counting, \`${c.consume.topic}\` | ${n0(c.consume.perSecond)} msg/s | ${n0(c.consume.messages)} messages in ${n1(c.consume.seconds)} s after a ${n1(c.consume.joinSeconds)} s group join |`,
      );
    }
    if (c.script) {
      out.push(
        `| apply-events script via RedisScoreStore.applyBatch, one process | ${n0(c.script.perSecond)} events/s | ${n0(c.script.events)} of the drain's events in its order from an empty Redis, batches of ${c.script.batch}, ${c.script.inflight} in flight; ${n0(c.script.calls)} script calls, ${n0(c.script.usecPerCall)} µs per call, ${n1(c.script.usecPerEvent)} µs per event inside Redis |`,
      );
    }
  }
  const d = r.drain;
  if (d) {
    out.push('', '### Drain', '');
    if (r.prefill) {
      out.push(
        `Pre-filled ${n0(r.prefill.events)} events over ${n0(r.prefill.distinctLeads)} leads in ${n1(r.prefill.seconds)} s (${n0(r.prefill.perSecond)} events/s produced).`,
        '',
      );
    }
    out.push(
      '| service | events | seconds | events/s | CPU s | script ms (mean) | Σ script time / wall | applied | dedup | filtered | dead-lettered | stage changes |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...d.services.map(
        (s) =>
          `| ${s.service} | ${n0(s.events)} | ${n1(s.seconds)} | ${n0(s.perSecond)} | ${n1(s.cpuSeconds)} | ${s.scriptMeanMs.toFixed(2)} | ${pct(s.scriptShareOfWall)} | ${n0(s.applied)} | ${n0(s.deduplicated)} | ${n0(s.filtered)} | ${n0(s.deadLettered)} | ${n0(s.stageChangesPublished)} |`,
      ),
      `| **all** | ${n0(d.events)} | ${n1(d.seconds)} | **${n0(d.perSecond)}** | | | | | | | | |`,
      '',
      `Average CPU over the drain: ${n1(d.cpu.machineCores)} of ${m.cores} cores busy; services ${n1(d.cpu.services)}, Redis ${n1(d.cpu.redis)}, benchmark process ${n1(d.cpu.benchProcess)}, rest (Kafka, registry, others) ${n1(d.cpu.rest)}. Redis ran apply-events ${n0(d.redis.evalshaCalls)} times, ${n0(d.redis.usecPerCall)} µs per call, busy ${pct(d.redis.busyShare)} of the drain.`,
    );
  }
  if (r.latency && r.latency.length > 0) {
    out.push(
      '',
      '### Latency, open loop (scheduled produce -> stage change received by a subscriber)',
      '',
      '| rate/s | achieved/s | stage changes (pairs) | p50 ms | p90 ms | p99 ms | max ms | p99 to emittedAt ms | services: event -> applied p50 / p99 ms | script round trip p50 / p99 ms | Redis busy | events per script call |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...r.latency.map(
        (l) =>
          `| ${n0(l.rate)} | ${n0(l.achievedRate)} | ${n0(l.stageChanges)} (${n0(l.pairChanges)}/${n0(l.pairs)}${l.complete ? '' : ', incomplete'}) | ${n1(l.received.p50)} | ${n1(l.received.p90)} | ${n1(l.received.p99)} | ${n1(l.received.max)} | ${n1(l.emitted.p99)} | ${n1(l.services.appliedP50)} / ${n1(l.services.appliedP99)} | ${n1(l.services.scriptP50)} / ${n1(l.services.scriptP99)} | ${pct(l.redis.busyShare)} | ${n1(l.redis.eventsPerCall)} |`,
      ),
      '',
      `Worst lag of the open-loop sender behind its schedule: ${r.latency.map((l) => `${n0(l.maxSendDelayMs)} ms at ${n0(l.rate)}/s`).join(', ')}; send errors: ${r.latency.reduce((a, l) => a + l.sendErrors, 0)}. Service-side columns are bucket estimates from the services' Prometheus histograms over the phase (all events, not only stage changes).`,
    );
  }
  const points = [...(r.memory ?? []), ...(r.drainMemory ? [r.drainMemory] : [])];
  if (points.length > 0) {
    out.push(
      '',
      '### Redis memory per lead',
      '',
      '| written by | leads | events/lead | bytes/lead | state string | due set | outbox | keyspace + other | stage changes |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...points.map((p) => {
        const b = p.breakdown;
        const other = p.bytesPerLead - Object.values(b).reduce((a, x) => a + x, 0);
        const by = p.source === 'store' ? 'RedisScoreStore (memory phase)' : 'the services (after the drain)';
        return `| ${by} | ${n0(p.leads)} | ${n1(p.eventsPerLead)} | **${n0(p.bytesPerLead)}** | ${n0(b.state ?? 0)} | ${n0(b.due ?? 0)} | ${n0(b.outbox ?? 0)} | ${n0(other)} | ${n0(p.stageChanges)} |`;
      }),
      '',
      `used_memory delta / leads with state. The columns after it split that by structure (MEMORY USAGE of sampled keys, per lead); one state string (state, offset watermarks and last stage changes) with its key is ${points.map((p) => `${n0(p.meanStateKeyBytes)} B`).join(' / ')} (rows in order).`,
    );
  }
  if (r.peakRssBytes) {
    out.push(
      '',
      '### Peak RSS of the services (VmHWM)',
      '',
      '| service | MiB |',
      '| --- | ---: |',
      ...Object.entries(r.peakRssBytes).map(([s, b]) => `| ${s} | ${n0(b / 1_048_576)} |`),
    );
  }
  return out.join('\n');
}

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

/**
 * Replaces the generated block of docs/benchmarks.md and keeps the hand-written analysis around
 * it, so a re-run refreshes the numbers without erasing the explanation of them.
 */
export function writeDocs(file: string, body: string): void {
  const block = `${START}\n${body}\n${END}`;
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8');
    const a = text.indexOf(START);
    const b = text.indexOf(END);
    if (a >= 0 && b > a) {
      writeFileSync(file, text.slice(0, a) + block + text.slice(b + END.length));
      return;
    }
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `# Benchmarks\n\nGenerated by \`npm run bench\`.\n\n## Latest results\n\n${block}\n`);
}
