import { setTimeout as sleep } from 'node:timers/promises';
import hdr from 'hdr-histogram-js';
import { Partitioners } from 'kafkajs';
import type { Deployment } from './deployment.ts';
import { clock } from './open-loop.ts';

/**
 * The latency floor of this machine's Kafka at a rate: an open loop like the latency phase's
 * (messages scheduled by wall clock, sent in one batch per millisecond tick, acks=all) into a
 * scratch topic with the same partition count, read back by a consumer that does nothing else;
 * scheduled send -> received. A stage change crosses Kafka twice (the input event, then the
 * change), so twice this is what any scorer on this machine pays before doing any work.
 */
export interface KafkaFloor {
  rate: number;
  messages: number;
  p50: number;
  p99: number;
  max: number;
}

export async function kafkaFloor(
  d: Deployment,
  o: { rate: number; seconds: number; partitions: number },
): Promise<KafkaFloor> {
  const topic = `${d.prefix}floor-${o.rate}`;
  const admin = d.kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: o.partitions }], waitForLeaders: true });
  const producer = d.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = d.kafka.consumer({ groupId: d.group(`floor-${o.rate}`), maxWaitTimeInMs: 100 });
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
    await consumer.run({
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch }) => {
        const at = clock();
        for (const m of batch.messages) h.recordValue(Math.max(1, Math.round((at - Number(m.value)) * 1000)));
      },
    });
    await joined;
    await sleep(1000);
    const start = clock();
    let sent = 0;
    while (clock() - start < o.seconds * 1000) {
      const due = Math.floor(((clock() - start) / 1000) * o.rate);
      const messages: { key: string; value: string }[] = [];
      for (; sent < due; sent++)
        messages.push({ key: `lead-${sent % 10_000}`, value: String(start + (sent / o.rate) * 1000) });
      if (messages.length > 0) void producer.send({ topic, acks: -1, messages }).catch(() => undefined);
      await sleep(1);
    }
    for (let waited = 0; h.totalCount < sent && waited < 10_000; waited += 100) await sleep(100);
    const ms = (us: number) => Math.round(us / 10) / 100;
    return {
      rate: o.rate,
      messages: h.totalCount,
      p50: ms(h.getValueAtPercentile(50)),
      p99: ms(h.getValueAtPercentile(99)),
      max: ms(h.maxValue),
    };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}
