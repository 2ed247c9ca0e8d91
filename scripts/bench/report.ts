import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CommitCeiling, ConsumeCeiling, EngineCeiling, StoreCeiling } from './ceilings.ts';
import type { DrainResult } from './drain.ts';
import type { KafkaFloor } from './kafka-floor.ts';
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
  ceilings: {
    consume?: ConsumeCeiling;
    engine?: EngineCeiling;
    commit?: CommitCeiling;
    store?: StoreCeiling;
  };
  drain?: Omit<DrainResult, 'samples'> & { samples?: DrainResult['samples'] };
  /** The same drain again with two instances of web-visits in its group: how it scales. */
  drainScaled?: Omit<DrainResult, 'samples'> & { samples?: DrainResult['samples'] };
  /** Redis bytes per lead after the drain: the services' own writes, the drain's mix. */
  drainMemory?: MemoryPoint;
  latency?: RateLatency[];
  /** Kafka alone at the same rates: the floor a stage change pays twice. */
  kafkaFloor?: KafkaFloor[];
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
  const drainedNote = d && !d.drained ? ' (did not drain in time)' : '';
  targets.push({
    name: 'Redis time per applied event during the drain (INFO commandstats) <= 6 µs',
    value: d ? `${n1(d.redis.usecPerAppliedEvent)} µs${drainedNote}` : 'not measured',
    met: d ? d.redis.usecPerAppliedEvent <= 6 : null,
  });
  targets.push({
    name: 'Redis busy through the drain < 50 %',
    value: d
      ? `${pct(d.redis.busyShare)} (Σ command time / wall; redis-server CPU ${pct(d.redis.cpuShare)})`
      : 'not measured',
    met: d ? d.redis.busyShare < 0.5 : null,
  });
  targets.push({
    name: 'drain >= 50,000 events/s, one instance per service',
    value: d ? `${n0(d.perSecond)} events/s${drainedNote}` : 'not measured',
    met: d ? d.drained && d.perSecond >= 50_000 : null,
  });
  const consume = r.ceilings.consume?.perSecond;
  targets.push({
    name: 'drain >= 10 % of the raw kafkajs consume ceiling',
    value: d && consume ? `${pct(d.perSecond / consume)} of ${n0(consume)} msg/s` : 'not measured',
    met: d && consume ? d.perSecond >= 0.1 * consume : null,
  });
  for (const [rate, limit] of [
    [5_000, 50],
    [10_000, 100],
    [20_000, undefined],
  ] as const) {
    const l = r.latency?.find((x) => x.rate === rate);
    targets.push({
      name:
        limit === undefined
          ? `p99 produce -> stage change received at ${n0(rate)} events/s (reported)`
          : `p99 produce -> stage change received < ${limit} ms at ${n0(rate)} events/s`,
      value: l
        ? `${n1(l.received.p99)} ms (${n0(l.received.count)} stage changes${l.complete ? '' : ', incomplete'})`
        : 'not measured',
      met: l && limit !== undefined ? l.complete && l.received.p99 < limit : null,
    });
  }
  const points = [...(r.memory ?? []), ...(r.drainMemory ? [r.drainMemory] : [])];
  const ten = points.filter((p) => p.eventsPerLead >= 9);
  targets.push({
    name: '<= 300 bytes of Redis memory per lead at 10 events per lead',
    value:
      points.length > 0
        ? points
            .map((p) => `${n0(p.bytesPerLead)} B at ${n0(p.leads)} leads, ${n1(p.eventsPerLead)} events/lead`)
            .join('; ')
        : 'not measured',
    met: ten.length > 0 ? ten.every((p) => p.bytesPerLead <= 300) : null,
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
  if (c.consume || c.engine || c.commit || c.store) {
    out.push('', '### Ceilings', '', '| ceiling | rate | detail |', '| --- | --- | --- |');
    if (c.consume) {
      out.push(
        `| raw consume, kafkajs eachBatch counting, \`${c.consume.topic}\` | ${n0(c.consume.perSecond)} msg/s | ${n0(c.consume.messages)} messages in ${n1(c.consume.seconds)} s after a ${n1(c.consume.joinSeconds)} s group join |`,
      );
    }
    if (c.engine) {
      out.push(
        `| the engine in process, one core (evaluateEvent, watermarks, applyEffect in place, nextChangeAt) | ${n0(c.engine.perSecond)} events/s | ${n0(c.engine.events)} of the drain's events over ${n0(c.engine.leads)} leads, states in memory, no I/O, no codec |`,
      );
    }
    if (c.commit) {
      out.push(
        `| the commit script, states precomputed | ${n0(c.commit.perSecond)} events/s | ${n0(c.commit.events)} events as ${n0(c.commit.leadWrites)} lead writes in ${n0(c.commit.calls)} calls; ${n0(c.commit.usecPerCall)} µs per call, ${n1(c.commit.usecPerEvent)} µs per event inside Redis |`,
      );
    }
    if (c.store) {
      out.push(
        `| one process through the store path (read, engine, codec, commit) | ${n0(c.store.perSecond)} events/s | ${n0(c.store.events)} of the drain's events in its order from an empty Redis, chunks of ${c.store.batch}, ${c.store.inflight} in flight, ${n0(c.store.conflicts)} conflicts; ${n1(c.store.redisUsecPerEvent)} µs of Redis time per applied event, ${n0(c.store.commitUsecPerCall)} µs per commit call |`,
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
    out.push(...drainTable(d), '', drainSummary(d, m.cores));
    if (c?.store) out.push('', outcomeCheck(d, c.store));
    if (r.drainScaled) {
      const x = r.drainScaled;
      out.push(
        '',
        `The same drain again with **two instances of web-visits** in its consumer group (the other services one each), from a flushed Redis and fresh groups: **${n0(x.perSecond)} events/s** overall (${pct(x.perSecond / d.perSecond)} of the one-instance run).`,
        '',
        ...drainTable(x),
        '',
        drainSummary(x, m.cores),
      );
    }
  }
  if (r.latency && r.latency.length > 0) {
    out.push(
      '',
      '### Latency, open loop (scheduled produce -> stage change received by a subscriber)',
      '',
      '| rate/s | achieved/s | stage changes (pairs) | p50 ms | p90 ms | p99 ms | max ms | p99 to emittedAt ms | services: event -> applied p50 / p99 ms | Redis round trip p50 / p99 ms | Redis busy | events per commit call | Kafka alone p50 / p99 ms |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...r.latency.map((l) => {
        const f = r.kafkaFloor?.find((x) => x.rate === l.rate);
        return `| ${n0(l.rate)} | ${n0(l.achievedRate)} | ${n0(l.stageChanges)} (${n0(l.pairChanges)}/${n0(l.pairs)}${l.complete ? '' : ', incomplete'}) | ${n1(l.received.p50)} | ${n1(l.received.p90)} | ${n1(l.received.p99)} | ${n1(l.received.max)} | ${n1(l.emitted.p99)} | ${n1(l.services.appliedP50)} / ${n1(l.services.appliedP99)} | ${n1(l.services.scriptP50)} / ${n1(l.services.scriptP99)} | ${pct(l.redis.busyShare)} | ${n1(l.redis.eventsPerCall)} | ${f ? `${n1(f.p50)} / ${n1(f.p99)}` : ''} |`;
      }),
      '',
      `Worst lag of the open-loop sender behind its schedule: ${r.latency.map((l) => `${n0(l.maxSendDelayMs)} ms at ${n0(l.rate)}/s`).join(', ')}; send errors: ${r.latency.reduce((a, l) => a + l.sendErrors, 0)}. Service-side columns are bucket estimates from the services' Prometheus histograms over the phase (all events, not only stage changes). "Kafka alone" is the same open loop into a scratch topic read by a bare consumer, right after the phase: a stage change crosses Kafka twice.`,
    );
  }
  const points = [...(r.memory ?? []), ...(r.drainMemory ? [r.drainMemory] : [])];
  if (points.length > 0) {
    out.push(
      '',
      '### Redis memory per lead',
      '',
      '| written by | leads | events/lead | bytes/lead | state string | due set | outbox | query indexes | keyspace + other | stage changes |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...points.map((p) => {
        const b = p.breakdown;
        const other = p.bytesPerLead - Object.values(b).reduce((a, x) => a + x, 0);
        const by = p.source === 'store' ? 'RedisScoreStore (memory phase)' : 'the services (after the drain)';
        return `| ${by} | ${n0(p.leads)} | ${n1(p.eventsPerLead)} | **${n0(p.bytesPerLead)}** | ${n0(b.state ?? 0)} | ${n0(b.due ?? 0)} | ${n0(b.outbox ?? 0)} | ${n0(b.index ?? 0)} | ${n0(other)} | ${n0(p.stageChanges)} |`;
      }),
      '',
      `used_memory delta / leads with state. The columns after it split that by structure (MEMORY USAGE of sampled keys, per lead); one lead record (state, offset watermarks, last stage changes, due time) with its key is ${points.map((p) => `${n0(p.meanStateKeyBytes)} B`).join(' / ')} (rows in order).`,
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

function drainTable(d: NonNullable<BenchResult['drain']>): string[] {
  return [
    '| service | events | seconds | events/s | CPU s | Redis round trip ms (mean) | Σ round trips / wall | conflicts | applied | dedup | filtered | dead-lettered | stage changes |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...d.services.map(
      (s) =>
        `| ${s.service} | ${n0(s.events)} | ${n1(s.seconds)} | ${n0(s.perSecond)} | ${n1(s.cpuSeconds)} | ${s.redisMeanMs.toFixed(2)} | ${pct(s.redisShareOfWall)} | ${n0(s.conflicts)} | ${n0(s.applied)} | ${n0(s.deduplicated)} | ${n0(s.filtered)} | ${n0(s.deadLettered)} | ${n0(s.stageChangesPublished)} |`,
    ),
    `| **all** | ${n0(d.events)} | ${n1(d.seconds)} | **${n0(d.perSecond)}** | | | | | | | | | |`,
  ];
}

/**
 * The drain's outcome counts beside the store path's on the same events: the services must
 * decide as one process does. Deduplicated far above the store path's means the services read
 * and applied events twice (the fenced-chunk bug of 2026-12-02 showed as 74 % deduplicated).
 */
function outcomeCheck(
  d: NonNullable<BenchResult['drain']>,
  store: NonNullable<BenchResult['ceilings']['store']>,
): string {
  const sum = (k: 'applied' | 'deduplicated' | 'filtered') => d.services.reduce((a, x) => a + x[k], 0);
  const total = sum('applied') + sum('deduplicated') + sum('filtered');
  const o = store.outcomes;
  const storeTotal = Object.values(o).reduce((a, b) => a + b, 0);
  const share = (n: number, of: number) => (of > 0 ? pct(n / of) : 'n/a');
  const dedup = sum('deduplicated') / (total || 1);
  const storeDedup = ((o.duplicate ?? 0) + (o.redelivered ?? 0)) / (storeTotal || 1);
  const verdict =
    Math.abs(dedup - storeDedup) <= 0.01
      ? 'the same decisions'
      : '**they differ: events were read twice or lost; the numbers above are not comparable**';
  return `Outcomes of the drain: applied ${share(sum('applied'), total)}, deduplicated ${share(sum('deduplicated'), total)}, filtered ${share(sum('filtered'), total)}; the store path on the same events: applied ${share(o.applied ?? 0, storeTotal)}, deduplicated ${pct(storeDedup)}, filtered ${share(o.filtered ?? 0, storeTotal)}: ${verdict}.`;
}

function drainSummary(d: NonNullable<BenchResult['drain']>, cores: number): string {
  return `Average CPU over the drain: ${n1(d.cpu.machineCores)} of ${cores} cores busy; services ${n1(d.cpu.services)}, Redis ${n1(d.cpu.redis)}, benchmark process ${n1(d.cpu.benchProcess)}, rest (Kafka, registry, others) ${n1(d.cpu.rest)}. Inside Redis: ${n1(d.redis.usecPerAppliedEvent)} µs of command time per applied event (${Object.entries(
    d.redis.byCommand ?? {},
  )
    .filter(([, v]) => v >= 0.05)
    .map(([k, v]) => `${k} ${n1(v)}`)
    .join(
      ', ',
    )}); ${n0(d.redis.commitCalls)} commit calls, ${n0(d.redis.commitUsecPerCall)} µs each; commands busy ${pct(d.redis.busyShare)} of the drain; redis-server CPU ${pct(d.redis.cpuShare)} of the drain, ${n1(d.redis.cpuUsecPerAppliedEvent ?? 0)} µs per applied event.`;
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
