import { setTimeout as sleep } from 'node:timers/promises';
import type { Message, Producer } from 'kafkajs';
import type { Encoder } from './deployment.ts';
import { type BenchRecord, prng, Workload } from './workload.ts';

/** Epoch milliseconds with sub-millisecond resolution (monotonic within the run). */
export const clock = (): number => performance.timeOrigin + performance.now();

/**
 * Live traffic for the latency phase: 55 % web and 30 % email on the drained leads (background
 * load), 15 % trial activity on fresh leads in pairs: usage_limit_hit (15 product points) then,
 * at least 100 ms later, checkout_started (20). 35 >= PQL's entry threshold of 25 while the first
 * event alone stays below it, so every pair's second event moves one lead to PQL: a steady,
 * countable stream of stage changes (7.5 % of events).
 */
export class LiveStream {
  private readonly w: Workload;
  private readonly rnd: () => number;
  private readonly pending: { leadN: number; firstAt: number }[] = [];
  private readonly leads: number;
  private fresh: number;
  pairs = 0;

  constructor(o: { tag: string; leadTag: string; leads: number; freshBase: number; seed: number }) {
    this.w = new Workload({
      seed: o.seed,
      events: 0,
      leads: o.leads,
      now: 0,
      spanMs: 0,
      tag: o.tag,
      leadTag: o.leadTag,
    });
    this.rnd = prng(o.seed);
    this.fresh = o.freshBase;
    this.leads = o.leads;
  }

  /** The i-th event, scheduled at `t`; `pairEnd` marks the events that must change a stage. */
  next(i: number, t: number): { rec: BenchRecord; pairEnd: boolean } {
    const r = this.rnd();
    const eventTime = Math.floor(t);
    const lead = Math.floor(this.rnd() * this.leads);
    if (r < 0.55) return { rec: this.w.web(i, lead, eventTime), pairEnd: false };
    if (r < 0.85) return { rec: this.w.email(i, lead, eventTime), pairEnd: false };
    const head = this.pending[0];
    if (head && t - head.firstAt >= 100) {
      this.pending.shift();
      this.pairs++;
      return { rec: this.w.trial(i, head.leadN, eventTime, 'checkout_started'), pairEnd: true };
    }
    const leadN = this.fresh++;
    this.pending.push({ leadN, firstAt: t });
    return { rec: this.w.trial(i, leadN, eventTime, 'usage_limit_hit'), pairEnd: false };
  }
}

export interface OpenLoopResult {
  sent: number;
  seconds: number;
  /** How far the send loop fell behind its schedule at worst, ms: the generator's own health. */
  maxSendDelayMs: number;
  sendErrors: number;
}

/**
 * Sends `rate * seconds` events on a wall-clock schedule: event i is due at t0 + i / rate, and
 * every millisecond whatever is due goes out in one batch. Sends are never awaited in the loop,
 * so a slow broker or consumer cannot slow the load down and hide its own latency (coordinated
 * omission); `onSent` gets each event's index and *scheduled* time, the latency's starting point.
 */
export async function sendOpenLoop(
  producer: Producer,
  encoder: Encoder,
  stream: LiveStream,
  o: { rate: number; seconds: number; onSent: (i: number, at: number, pairEnd: boolean) => void },
): Promise<OpenLoopResult> {
  const total = Math.round(o.rate * o.seconds);
  let errors = 0;
  let maxDelay = 0;
  const inFlight: Promise<unknown>[] = [];
  const t0 = clock();
  for (let i = 0; i < total; ) {
    const now = clock();
    const due = Math.min(total, Math.floor(((now - t0) * o.rate) / 1000) + 1);
    const byTopic = new Map<string, Message[]>();
    for (; i < due; i++) {
      const at = t0 + (i * 1000) / o.rate;
      maxDelay = Math.max(maxDelay, now - at);
      const { rec, pairEnd } = stream.next(i, at);
      o.onSent(i, at, pairEnd);
      const m = encoder.encode(rec);
      const list = byTopic.get(m.topic);
      if (list) list.push({ key: m.key, value: m.value });
      else byTopic.set(m.topic, [{ key: m.key, value: m.value }]);
    }
    if (byTopic.size > 0) {
      const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
      inFlight.push(
        producer.sendBatch({ acks: -1, topicMessages }).catch(() => {
          errors++;
        }),
      );
    }
    await sleep(1);
  }
  const seconds = (clock() - t0) / 1000;
  await Promise.all(inFlight);
  return { sent: total, seconds, maxSendDelayMs: Math.round(maxDelay), sendErrors: errors };
}
