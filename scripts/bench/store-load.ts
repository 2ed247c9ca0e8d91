import { mapToScoringEvent } from '@leadscorer/contracts';
import { type ApplyItem, applyChunk, type ScorerOptions, type ScoreStore, sourceId } from '@leadscorer/core';
import { evaluateEvent, fnv1a32, type Model } from '@leadscorer/engine';
import type { BenchRecord, Workload } from './workload.ts';

/**
 * Drives the scoring core directly, the way the consumer processor does after decoding
 * (libs/scoring-service/src/processor.ts): contracts mapping -> engine evaluateEvent -> one
 * ApplyItem per message -> applyChunk (read, engine, compare-and-set commit). Kafka is emulated
 * only as far as the records care: a lead always maps to the same partition, and each
 * (type, partition) source gets increasing offsets, so the offset watermarks behave as in
 * production (no message is mistaken for a redelivery).
 */
const TYPE_CODE: Record<string, string> = { web: 'w', email: 'e', trial: 't', profile: 'p', sales: 's' };
const PARTITIONS = 6;

export class ItemMaker {
  private readonly model: Model;
  private readonly offsets = new Map<string, number>();

  constructor(model: Model) {
    this.model = model;
  }

  make(rec: BenchRecord): ApplyItem {
    const event = mapToScoringEvent(rec.name, rec.record);
    if (!event) throw new Error(`${rec.name} is not scored`);
    const source = sourceId(TYPE_CODE[event.type]!, fnv1a32(event.leadId) % PARTITIONS);
    const offset = this.offsets.get(source) ?? 0;
    this.offsets.set(source, offset + 1);
    return { leadId: event.leadId, source, offset, effect: evaluateEvent(this.model, event) };
  }
}

/** Reads up to `n` items from the workload, evaluated. */
export function takeItems(workload: Workload, maker: ItemMaker, n: number): ApplyItem[] {
  const out: ApplyItem[] = [];
  while (out.length < n) {
    const rec = workload.next();
    if (rec === undefined) break;
    out.push(maker.make(rec));
  }
  return out;
}

export interface ApplyRunOptions {
  store: ScoreStore;
  scorer: ScorerOptions;
  /** Events per applyChunk call (a consumer chunk, APPLY_CHUNK_SIZE). */
  batch: number;
  /** applyChunk calls in flight at once on the one connection (as partitions in flight do). */
  inflight: number;
  now: number;
  /** Empties the outbox after each batch as the publisher does, so memory is steady-state. */
  ackOutbox: boolean;
  /** Stops early after this long (ms). */
  budgetMs?: number;
}

export interface ApplyRunResult {
  events: number;
  seconds: number;
  changes: number;
  outcomes: Record<string, number>;
}

/**
 * Applies pre-evaluated items, `inflight` chunks at once; returns the achieved rate. Like the
 * partitions a service consumes at once, the in-flight streams never share a lead: each lead's
 * items go to one stream (by its hash), in order.
 */
export async function applyItems(items: ApplyItem[], o: ApplyRunOptions): Promise<ApplyRunResult> {
  let changes = 0;
  const outcomes: Record<string, number> = {};
  const started = performance.now();
  const deadline = o.budgetMs === undefined ? Number.POSITIVE_INFINITY : started + o.budgetMs;
  const streams: ApplyItem[][] = Array.from({ length: o.inflight }, () => []);
  for (const item of items) streams[fnv1a32(item.leadId) % o.inflight]!.push(item);
  const worker = async (stream: ApplyItem[]): Promise<void> => {
    for (let next = 0; next < stream.length && performance.now() < deadline; next += o.batch) {
      const r = await applyChunk(o.store, stream.slice(next, next + o.batch), o.now, o.scorer);
      for (const x of r.outcomes) outcomes[x] = (outcomes[x] ?? 0) + 1;
      changes += r.recorded.length;
      if (o.ackOutbox && r.recorded.length > 0) await o.store.ackOutbox(r.recorded);
    }
  };
  await Promise.all(streams.map(worker));
  const events = Object.values(outcomes).reduce((a, b) => a + b, 0);
  return { events, seconds: (performance.now() - started) / 1000, changes, outcomes };
}
