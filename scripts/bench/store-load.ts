import { mapToScoringEvent } from '@leadscorer/contracts';
import { evaluateEvent, type Model } from '@leadscorer/engine';
import { type ApplyItem, fnv1a32, type RedisScoreStore, sourceId } from '@leadscorer/store';
import type { BenchRecord, Workload } from './workload.ts';

/**
 * Drives RedisScoreStore.applyBatch directly, the way the consumer processor does after decoding
 * (libs/scoring-service/src/processor.ts): contracts mapping -> engine evaluateEvent -> one
 * ApplyItem per message. Kafka is emulated only as far as the script cares: a lead always maps to
 * the same partition, and each (type, partition) source gets increasing offsets, so the offset
 * watermarks behave as in production (no message is mistaken for a redelivery).
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
  store: RedisScoreStore;
  /** Events per applyBatch call (a consumer chunk, APPLY_CHUNK_SIZE). */
  batch: number;
  /** applyBatch calls in flight at once on the one connection (pipelining). */
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

/** Applies pre-evaluated items with `inflight` pipelined batches; returns the achieved rate. */
export async function applyItems(items: ApplyItem[], o: ApplyRunOptions): Promise<ApplyRunResult> {
  let next = 0;
  let changes = 0;
  const outcomes: Record<string, number> = {};
  const started = performance.now();
  const deadline = o.budgetMs === undefined ? Number.POSITIVE_INFINITY : started + o.budgetMs;
  const worker = async (): Promise<void> => {
    while (next < items.length && performance.now() < deadline) {
      const chunk = items.slice(next, next + o.batch);
      next += chunk.length;
      const r = await o.store.applyBatch(chunk, o.now);
      for (const x of r.outcomes) outcomes[x] = (outcomes[x] ?? 0) + 1;
      changes += r.changes.length;
      if (o.ackOutbox && r.changes.length > 0) await o.store.ackOutbox(r.changes);
    }
  };
  await Promise.all(Array.from({ length: o.inflight }, worker));
  const events = Object.values(outcomes).reduce((a, b) => a + b, 0);
  return { events, seconds: (performance.now() - started) / 1000, changes, outcomes };
}
