import { setTimeout as sleep } from 'node:timers/promises';
import { HEADER_BYTES } from '@leadscorer/contracts';
import hdr from 'hdr-histogram-js';
import type { Producer } from 'kafkajs';
import { commandStats } from './ceilings.ts';
import type { Deployment, Encoder } from './deployment.ts';
import { clock, LiveStream, sendOpenLoop } from './open-loop.ts';
import type { DedicatedRedis } from './redis-server.ts';
import { bucketQuantile, diffBuckets, histogramBuckets, type RunningProcess } from './services.ts';

/**
 * Open-loop latency at fixed rates with the services running: for every event that changes a
 * stage, scheduled produce time -> the stage change as a subscriber receives it from
 * lead.stage-changed.v1 (matched by triggeringEventId), in an HDR histogram per rate. The
 * services' own histograms and Redis' command stats over the same phase say where it went.
 */
export interface RateLatency {
  rate: number;
  sent: number;
  achievedRate: number;
  maxSendDelayMs: number;
  sendErrors: number;
  /** Pairs sent, pairs whose stage change arrived, and all stage changes matched. */
  pairs: number;
  pairChanges: number;
  stageChanges: number;
  /** Every pair's stage change arrived before the wait gave up (else p99/max are lower bounds). */
  complete: boolean;
  /** Scheduled produce -> the stage change received by a subscriber (kafkajs consumer), ms. */
  received: Percentiles;
  /** Scheduled produce -> emittedAt stamped by the service when it published the change, ms. */
  emitted: Percentiles;
  /**
   * The services' histograms over the phase (bucket estimates, every event, ms): event time
   * (= scheduled produce) to applied in Redis, and one Redis round trip (read or commit) as seen
   * from Node.
   */
  services: { appliedP50: number; appliedP99: number; scriptP50: number; scriptP99: number };
  /** Redis over the phase: commit calls, events per commit call, every command's time / wall. */
  redis: { calls: number; eventsPerCall: number; usecPerCall: number; busyShare: number };
}

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

const newHistogram = () =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
type Histogram = ReturnType<typeof newHistogram>;

/** Recorded in microseconds, reported in milliseconds. */
function percentiles(h: Histogram): Percentiles {
  const ms = (us: number) => Math.round(us / 10) / 100;
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
  };
}

interface Phase {
  received: Histogram;
  emitted: Histogram;
  changes: number;
  pairChanges: number;
}

export async function runLatency(
  d: Deployment,
  encoder: Encoder,
  producer: Producer,
  redis: DedicatedRedis,
  o: {
    rates: number[];
    seconds: number;
    tag: string;
    leadTag: string;
    leads: number;
    procs: RunningProcess[];
    log: (s: string) => void;
  },
): Promise<RateLatency[]> {
  // Scheduled send times by phase tag and event index, in flat typed arrays: a map entry per
  // event sent (hundreds of thousands) made this process' own GC pauses part of the tail it
  // measures.
  const phases = new Map<string, { phase: Phase; at: Float64Array; pairEnd: Uint8Array }>();
  const lookup = (eventId: string) => {
    const cut = eventId.lastIndexOf('-e');
    const p = cut > 0 ? phases.get(eventId.slice(0, cut)) : undefined;
    const i = Number(eventId.slice(cut + 2));
    if (!p || !(i >= 0 && i < p.at.length) || p.at[i] === 0) return undefined;
    return { phase: p.phase, at: p.at[i]!, pairEnd: p.pairEnd[i] === 1 };
  };
  const outType = encoder.type('lead.stage-changed.v1');
  const consumer = d.kafka.consumer({ groupId: d.group('bench-latency'), maxWaitTimeInMs: 100 });
  d.closeOnCleanup(() => consumer.disconnect());
  const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
  await consumer.connect();
  await consumer.subscribe({ topics: [d.topic('lead.stage-changed.v1')], fromBeginning: false });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const at = clock();
      for (const m of batch.messages) {
        if (!m.value) continue;
        const rec = outType.fromBuffer(m.value.subarray(HEADER_BYTES)) as {
          triggeringEventId: string | null;
          emittedAt: number;
        };
        const s = rec.triggeringEventId ? lookup(rec.triggeringEventId) : undefined;
        if (!s) continue;
        s.phase.changes++;
        if (s.pairEnd) s.phase.pairChanges++;
        s.phase.received.recordValue(Math.max(1, Math.round((at - s.at) * 1000)));
        s.phase.emitted.recordValue(Math.max(1, Math.round((rec.emittedAt - s.at) * 1000)));
      }
    },
  });
  await joined;
  // kafkajs resolves "latest" on its first fetch after joining; give it that moment.
  await sleep(1_000);
  const scrape = async () => {
    const all = (await Promise.all(o.procs.map((p) => p.metrics().catch(() => '')))).join('\n');
    return {
      applied: histogramBuckets(all, 'leadscorer_event_to_applied_seconds'),
      script: histogramBuckets(all, 'leadscorer_redis_script_seconds'),
    };
  };

  const results: RateLatency[] = [];
  // A short unrecorded warm-up at the first rate, then each rate in turn.
  const plan = [
    { rate: o.rates[0]!, seconds: 3, warmUp: true },
    ...o.rates.map((rate) => ({ rate, seconds: o.seconds, warmUp: false })),
  ];
  for (const [n, step] of plan.entries()) {
    const phase: Phase = { received: newHistogram(), emitted: newHistogram(), changes: 0, pairChanges: 0 };
    const stream = new LiveStream({
      tag: `${o.tag}p${n}`,
      leadTag: o.leadTag,
      leads: o.leads,
      freshBase: 10_000_000 * (n + 1),
      seed: 7 + n,
    });
    const total = Math.round(step.rate * step.seconds);
    const slots = { phase, at: new Float64Array(total), pairEnd: new Uint8Array(total) };
    if (!step.warmUp) phases.set(`${o.tag}p${n}`, slots);
    const before = await scrape();
    await redis.client.config('RESETSTAT');
    const started = clock();
    const loop = await sendOpenLoop(producer, encoder, stream, {
      rate: step.rate,
      seconds: step.seconds,
      onSent: (i, at, pairEnd) => {
        if (step.warmUp) return;
        slots.at[i] = at;
        slots.pairEnd[i] = pairEnd ? 1 : 0;
      },
    });
    // Every pair's change must arrive (then a quiet second for stragglers), or 60 s pass: a
    // backlog is part of the latency, and stopping early would cut off the worst cases.
    const deadline = clock() + 60_000;
    for (let quiet = 0, last = -1; clock() < deadline && !step.warmUp; ) {
      await sleep(200);
      quiet = phase.changes === last ? quiet + 200 : 0;
      last = phase.changes;
      if (phase.pairChanges >= stream.pairs && quiet >= 1_000) break;
    }
    if (step.warmUp) continue;
    const wall = (clock() - started) / 1000;
    const stats = commandStats(await redis.client.info('commandstats'));
    const after = await scrape();
    const applied = diffBuckets(after.applied, before.applied);
    const script = diffBuckets(after.script, before.script);
    const ms = (sec: number) => Math.round(sec * 10_000) / 10;
    const r: RateLatency = {
      rate: step.rate,
      sent: loop.sent,
      achievedRate: loop.sent / loop.seconds,
      maxSendDelayMs: loop.maxSendDelayMs,
      sendErrors: loop.sendErrors,
      pairs: stream.pairs,
      pairChanges: phase.pairChanges,
      stageChanges: phase.changes,
      complete: phase.pairChanges >= stream.pairs,
      received: percentiles(phase.received),
      emitted: percentiles(phase.emitted),
      services: {
        appliedP50: ms(bucketQuantile(applied, 0.5)),
        appliedP99: ms(bucketQuantile(applied, 0.99)),
        scriptP50: ms(bucketQuantile(script, 0.5)),
        scriptP99: ms(bucketQuantile(script, 0.99)),
      },
      redis: {
        calls: stats.scriptCalls,
        eventsPerCall: stats.scriptCalls > 0 ? loop.sent / stats.scriptCalls : 0,
        usecPerCall: stats.scriptCalls > 0 ? stats.scriptUsec / stats.scriptCalls : 0,
        busyShare: stats.usec / 1e6 / wall,
      },
    };
    o.log(
      `  ${step.rate}/s: ${r.stageChanges} stage changes (${r.pairChanges}/${r.pairs} pairs), p50 ${r.received.p50} ms, p99 ${r.received.p99} ms, max ${r.received.max} ms; Redis ${Math.round(r.redis.busyShare * 100)} % busy, ${r.redis.eventsPerCall.toFixed(1)} events per commit call`,
    );
    results.push(r);
  }
  await consumer.disconnect();
  return results;
}
