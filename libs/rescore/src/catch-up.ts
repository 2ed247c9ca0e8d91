import type { Catalogue, Serde } from '@leadscorer/contracts';
import type { DeadLetterSink } from '@leadscorer/core';
import { type BatchProcessor, KafkajsSource, type Logger, type Metrics } from '@leadscorer/runtime';
import {
  createScoringProcessor,
  PartitionTracker,
  type ProcessorGeneration,
  StateGuard,
} from '@leadscorer/scoring-service';
import type { Kafka } from 'kafkajs';

/** A Kafka position: the next offset to read of a topic's partition. */
export interface Position {
  topic: string;
  partition: number;
  offset: number;
}

/**
 * The rescore's own consumer: applies what the input topics hold beyond the replay to the new
 * generation with the live services' own processor (same decoding, same engine calls, same
 * watermarks), while the live services keep applying to the old one. It starts at the replay's
 * positions (committed for its fresh group before it joins), and says how far it got; stage
 * changes it records stay in the new generation's outbox, which the rescore clears (they are
 * recomputed against what was published, at the switch).
 */
export class CatchUp {
  private readonly source: KafkajsSource;
  private readonly kafka: Kafka;
  private readonly groupId: string;
  private readonly topics: string[];
  /** Per `topic/partition`, the next offset to apply. */
  private readonly next = new Map<string, number>();
  /** Leads the catch-up wrote. */
  readonly touched = new Set<string>();
  private failure: unknown;

  constructor(o: {
    kafka: Kafka;
    catalogue: Catalogue;
    serde: Serde;
    generation: ProcessorGeneration;
    epoch: string;
    groupId: string;
    log: Logger;
    metrics: Metrics;
    clock: () => number;
    chunkSize: number;
    /** The erased leads: their events on the topics are skipped, as the services do. */
    erased?: { has(leadId: string): boolean };
  }) {
    this.kafka = o.kafka;
    this.groupId = o.groupId;
    this.topics = o.catalogue.inputs.map((t) => t.topic);
    const store = () => o.generation.store;
    const state = new StateGuard({ store, log: o.log, metrics: o.metrics });
    const processor = createScoringProcessor({
      serde: o.serde,
      generation: { current: () => o.generation, refresh: async () => false },
      // The live services dead-letter poison and publish changes; the catch-up does neither.
      deadLetters: { send: async () => undefined } satisfies DeadLetterSink,
      publishInline: async () => undefined,
      metrics: o.metrics,
      log: o.log,
      clock: o.clock,
      partitions: new PartitionTracker({
        store,
        group: o.groupId,
        log: o.log,
        metrics: o.metrics,
        clock: o.clock,
      }),
      state,
      erasure: o.erased && {
        erased: o.erased,
        profileTopic: o.catalogue.get('lead.profile.v1').topic,
      },
    });
    const tracked: BatchProcessor = async (messages) => {
      await processor(messages);
      const last = messages[messages.length - 1]!;
      this.next.set(`${last.topic}/${last.partition}`, Number(last.offset) + 1);
      for (const m of messages) if (m.key) this.touched.add(m.key.toString());
    };
    this.source = new KafkajsSource({
      kafka: o.kafka,
      groupId: o.groupId,
      topics: this.topics,
      log: o.log,
      metrics: o.metrics,
      chunkSize: o.chunkSize,
      partitionsConcurrently: 3,
      retry: { initialMs: 100, maxMs: 2_000 },
      onFatal: (err) => {
        this.failure = err;
      },
    });
    this.tracked = tracked;
  }

  private readonly tracked: BatchProcessor;

  /** Commits the start positions for the fresh group, then joins and consumes. */
  async start(positions: readonly Position[]): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      for (const topic of this.topics) {
        const partitions = positions
          .filter((p) => p.topic === topic)
          .map((p) => ({ partition: p.partition, offset: String(p.offset) }));
        if (partitions.length > 0) await admin.setOffsets({ groupId: this.groupId, topic, partitions });
        for (const p of partitions) this.next.set(`${topic}/${p.partition}`, Number(p.offset));
      }
    } finally {
      await admin.disconnect();
    }
    await this.source.start(this.tracked);
  }

  /** How many messages the topics hold beyond what the catch-up applied, now. */
  async lag(): Promise<number> {
    if (this.failure) throw this.failure;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      let lag = 0;
      for (const topic of this.topics) {
        for (const p of await admin.fetchTopicOffsets(topic)) {
          const next = this.next.get(`${topic}/${p.partition}`) ?? Number(p.low);
          lag += Math.max(0, Number(p.high) - Math.max(next, Number(p.low)));
        }
      }
      return lag;
    } finally {
      await admin.disconnect();
    }
  }

  /** Waits until the lag is at most `within` messages (checked every `pollMs`). */
  async until(within: number, pollMs = 200, onLag?: (lag: number) => void): Promise<void> {
    for (;;) {
      const lag = await this.lag();
      onLag?.(lag);
      if (lag <= within) return;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** Leaves the group. */
  async stop(): Promise<void> {
    await this.source.stop();
  }

  /** Deletes the group (it was the rescore's alone), once stopped. */
  async forget(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.deleteGroups([this.groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
