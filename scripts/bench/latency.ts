import { setTimeout as sleep } from 'node:timers/promises';
import { HEADER_BYTES } from '@leadscorer/contracts';
import hdr from 'hdr-histogram-js';
import type { Message, Producer } from 'kafkajs';
import type { Deployment, Encoder } from './deployment.ts';
import { bucketQuantile, diffBuckets, histogramBuckets, type RunningProcess } from './services.ts';
import { type BenchRecord, prng, Workload } from './workload.ts';

/**
 * Open-loop latency: events are produced at a fixed rate on a wall-clock schedule, never waiting
 * for acks in the loop, so a slow system cannot slow the load down and hide its own latency
 * (coordinated omission). Each event's latency is measured from its *scheduled* send time.
 *
 * Traffic: 55 % web and 30 % email on the drained leads (background), 15 % trial activity on
 * fresh leads in pairs: usage_limit_hit (15 product points) then, >= 100 ms later,
 * checkout_started (20): 35 >= PQL's 25, so every pair's second event moves a lead to PQL, a
 * steady stream of stage changes (7.5 % of events). Background events that change a stage (an
 * unsubscribe, a lead crossing MQL) are measured too.
 */
export interface RateLatency {
  rate: number;
  sent: number;
  achievedRate: number;
  /** How far the send loop fell behind its schedule at worst, ms (the generator's own health). */
  maxSendDelayMs: number;
  sendErrors: number;
  pairs: number;
  stageChanges: number;
  /** Scheduled produce -> the stage change received by a subscriber (kafkajs consumer), ms. */
  received: Percentiles;
  /** Scheduled produce -> emittedAt stamped by the service when it published the change, ms. */
  emitted: Percentiles;
  /**
   * From the services' own histograms over the phase (bucket estimates, all events, ms): event
   * time (= scheduled produce) to applied in Redis, and one apply-events round trip.
   */
  services: { appliedP50: number; appliedP99: number; scriptP50: number; scriptP99: number };
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

/** Epoch milliseconds with sub-millisecond resolution (monotonic within the run). */
const clock = () => performance.timeOrigin + performance.now();

class LiveStream {
  private readonly w: Workload;
  private readonly rnd: () => number;
  private readonly pending: { leadN: number; firstAt: number }[] = [];
  private fresh: number;
  private readonly leads: number;
  pairs = 0;

  constructor(tag: string, leadTag: string, leads: number, freshBase: number, seed: number) {
    this.w = new Workload({ seed, events: 0, leads, now: 0, spanMs: 0, tag, leadTag });
    this.rnd = prng(seed);
    this.fresh = freshBase;
    this.leads = leads;
  }

  next(i: number, t: number): BenchRecord {
    const r = this.rnd();
    const eventTime = Math.floor(t);
    const lead = Math.floor(this.rnd() * this.leads);
    if (r < 0.55) return this.w.web(i, lead, eventTime);
    if (r < 0.85) return this.w.email(i, lead, eventTime);
    const head = this.pending[0];
    if (head && t - head.firstAt >= 100) {
      this.pending.shift();
      this.pairs++;
      return this.w.trial(i, head.leadN, eventTime, 'checkout_started');
    }
    const leadN = this.fresh++;
    this.pending.push({ leadN, firstAt: t });
    return this.w.trial(i, leadN, eventTime, 'usage_limit_hit');
  }
}

interface Sent {
  at: number;
  phase: number;
}

export async function runLatency(
  d: Deployment,
  encoder: Encoder,
  producer: Producer,
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
  const scrape = async () => {
    const texts = await Promise.all(o.procs.map((p) => p.metrics().catch(() => '')));
    const all = texts.join('\n');
    return {
      applied: histogramBuckets(all, 'leadscorer_event_to_applied_seconds'),
      script: histogramBuckets(all, 'leadscorer_redis_script_seconds'),
    };
  };
  const sent = new Map<string, Sent>();
  const received = o.rates.map(newHistogram);
  const emitted = o.rates.map(newHistogram);
  const changes = o.rates.map(() => 0);
  const outType = encoder.type('lead.stage-changed.v1');
  const consumer = d.kafka.consumer({ groupId: d.group('bench-latency'), maxWaitTimeInMs: 100 });
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
        const s = rec.triggeringEventId ? sent.get(rec.triggeringEventId) : undefined;
        if (!s) continue;
        changes[s.phase]!++;
        received[s.phase]!.recordValue(Math.max(1, Math.round((at - s.at) * 1000)));
        emitted[s.phase]!.recordValue(Math.max(1, Math.round((rec.emittedAt - s.at) * 1000)));
      }
    },
  });
  await joined;
  // kafkajs resolves "latest" on its first fetch after joining; give it that moment.
  await sleep(1_000);

  const results: RateLatency[] = [];
  for (const [phase, rate] of [-1, ...o.rates.keys()].map((k) => [k, o.rates[k] ?? o.rates[0]!] as const)) {
    // Phase -1 is a short warm-up at the first rate, not recorded.
    const seconds = phase < 0 ? 3 : o.seconds;
    const stream = new LiveStream(
      `${o.tag}p${phase + 1}`,
      o.leadTag,
      o.leads,
      10_000_000 * (phase + 2),
      phase + 7,
    );
    const total = Math.round(rate * seconds);
    const before = await scrape();
    let errors = 0;
    let maxDelay = 0;
    const inFlight: Promise<unknown>[] = [];
    const t0 = clock();
    let i = 0;
    while (i < total) {
      const now = clock();
      const due = Math.min(total, Math.floor(((now - t0) * rate) / 1000) + 1);
      const byTopic = new Map<string, Message[]>();
      for (; i < due; i++) {
        const at = t0 + (i * 1000) / rate;
        maxDelay = Math.max(maxDelay, now - at);
        const rec = stream.next(i, at);
        if (phase >= 0) sent.set(rec.record.eventId, { at, phase });
        const m = encoder.encode(rec);
        const list = byTopic.get(m.topic) ?? [];
        list.push({ key: m.key, value: m.value });
        byTopic.set(m.topic, list);
      }
      if (byTopic.size > 0) {
        const p = producer
          .sendBatch({
            acks: -1,
            topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
          })
          .catch(() => {
            errors++;
          });
        inFlight.push(p);
      }
      await sleep(1);
    }
    const elapsed = (clock() - t0) / 1000;
    await Promise.all(inFlight);
    // Let the last stage changes arrive: until none came for a second (at most 10 s).
    for (let quiet = 0, last = -1, waited = 0; quiet < 1_000 && waited < 10_000; waited += 200) {
      await sleep(200);
      const now = phase >= 0 ? changes[phase]! : 0;
      quiet = now === last ? quiet + 200 : 0;
      last = now;
    }
    if (phase < 0) continue;
    const after = await scrape();
    const applied = diffBuckets(after.applied, before.applied);
    const script = diffBuckets(after.script, before.script);
    const ms = (sec: number) => Math.round(sec * 10_000) / 10;
    const r: RateLatency = {
      rate,
      sent: total,
      achievedRate: total / elapsed,
      maxSendDelayMs: Math.round(maxDelay),
      sendErrors: errors,
      pairs: stream.pairs,
      stageChanges: changes[phase]!,
      received: percentiles(received[phase]!),
      emitted: percentiles(emitted[phase]!),
      services: {
        appliedP50: ms(bucketQuantile(applied, 0.5)),
        appliedP99: ms(bucketQuantile(applied, 0.99)),
        scriptP50: ms(bucketQuantile(script, 0.5)),
        scriptP99: ms(bucketQuantile(script, 0.99)),
      },
    };
    o.log(
      `  ${rate}/s: ${r.stageChanges} stage changes, p50 ${r.received.p50} ms, p99 ${r.received.p99} ms, max ${r.received.max} ms`,
    );
    results.push(r);
  }
  await consumer.disconnect();
  return results;
}
