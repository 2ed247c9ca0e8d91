import type { Message, Producer } from 'kafkajs';
import type { Encoder } from './deployment.ts';
import type { Workload } from './workload.ts';

export interface PrefillResult {
  events: number;
  /** Physical topic -> messages written. */
  byTopic: Record<string, number>;
  seconds: number;
  distinctLeads: number;
}

/**
 * Writes the whole workload to the input topics before any consumer runs, as fast as kafkajs
 * allows: large multi-topic batches, a few requests in flight (acks=all, as production does).
 * Keyed by lead id with kafkajs' default partitioner, exactly as a producer using the contracts'
 * serde would, so each lead's events stay in order in one partition.
 */
export async function prefill(
  producer: Producer,
  workload: Workload,
  encoder: Encoder,
  o: { batch: number; inflight: number; onProgress?: (done: number) => void },
): Promise<PrefillResult> {
  const byTopic: Record<string, number> = {};
  const leads = new Set<string>();
  const started = performance.now();
  let events = 0;
  let done = false;
  const nextBatch = (): Map<string, Message[]> | undefined => {
    if (done) return undefined;
    const batch = new Map<string, Message[]>();
    for (let n = 0; n < o.batch; n++) {
      const rec = workload.next();
      if (rec === undefined) {
        done = true;
        break;
      }
      const m = encoder.encode(rec);
      leads.add(m.key);
      const list = batch.get(m.topic);
      if (list) list.push({ key: m.key, value: m.value });
      else batch.set(m.topic, [{ key: m.key, value: m.value }]);
      byTopic[m.topic] = (byTopic[m.topic] ?? 0) + 1;
      events++;
    }
    return batch.size > 0 ? batch : undefined;
  };
  const worker = async (): Promise<void> => {
    for (let batch = nextBatch(); batch; batch = nextBatch()) {
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...batch].map(([topic, messages]) => ({ topic, messages })),
      });
      o.onProgress?.(events);
    }
  };
  await Promise.all(Array.from({ length: o.inflight }, worker));
  return { events, byTopic, seconds: (performance.now() - started) / 1000, distinctLeads: leads.size };
}
