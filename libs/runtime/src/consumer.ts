import { isRetryable, type LeadScorerError } from '@leadscorer/errors';
import type { Consumer, EachBatchPayload, IHeaders, Kafka } from 'kafkajs';
import { backoffMs } from './backoff.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

/** A raw Kafka message as the processing pipeline sees it, independent of the client library. */
export interface InboundMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  /** Broker/producer timestamp, epoch ms as a string (Kafka's own representation). */
  timestamp: string;
}

/**
 * Applies a chunk of messages from one partition, in order. Contract:
 * - resolve only when every message is applied or dead-lettered (then its offset is committed);
 * - throw a retryable LeadScorerError for a transient fault: the same chunk is retried, never skipped;
 * - anything else thrown is a bug: the process crashes loudly.
 * It must be idempotent: after a crash the chunk may be delivered again.
 */
export type BatchProcessor = (messages: InboundMessage[]) => Promise<void>;

/** The port the services run on; the kafkajs adapter below is one implementation. */
export interface MessageSource {
  start(processor: BatchProcessor): Promise<void>;
  stop(): Promise<void>;
  isReady(): boolean;
  isLive(): boolean;
}

export interface KafkajsSourceOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  log: Logger;
  metrics: Metrics;
  /** Messages applied per pipelined Redis round trip. */
  chunkSize: number;
  retry: { initialMs: number; maxMs: number };
  /** Partitions processed at once by this instance (each partition stays in order). */
  partitionsConcurrently: number;
  /** Called with a bug-class error; main.ts logs it and exits non-zero. */
  onFatal: (err: unknown) => void;
  /** Called when this member (re)joins its group: partitions may have moved. */
  onGroupJoin?: () => void;
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  random?: () => number;
}

const APPLIED = Symbol('applied');
const ABANDONED = Symbol('abandoned');

export class KafkajsSource implements MessageSource {
  private readonly opts: KafkajsSourceOptions;
  private readonly consumer: Consumer;
  private joined = false;
  private crashed = false;

  constructor(opts: KafkajsSourceOptions) {
    this.opts = opts;
    this.consumer = opts.kafka.consumer({
      groupId: opts.groupId,
      // Offsets are resolved only after a chunk is applied; kafkajs commits resolved offsets
      // every second, after each batch and when leaving the group.
      sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.min(3_000, Math.floor((opts.sessionTimeoutMs ?? 30_000) / 3)),
      maxBytesPerPartition: 1_048_576,
      retry: { retries: 10 },
    });
    const { GROUP_JOIN, CRASH, STOP, DISCONNECT } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => {
      this.joined = true;
      // Partitions may have moved: drop lag series of partitions this instance no longer owns.
      opts.metrics.consumerLag.reset();
      opts.onGroupJoin?.();
      opts.log.info({ assignment: e.payload.memberAssignment }, 'joined consumer group');
    });
    this.consumer.on(CRASH, (e) => {
      this.joined = false;
      // kafkajs restarts on retriable crashes itself; a non-retriable one is fatal for us.
      if (!e.payload.restart) {
        this.crashed = true;
        opts.onFatal(e.payload.error);
      }
    });
    this.consumer.on(STOP, () => {
      this.joined = false;
    });
    this.consumer.on(DISCONNECT, () => {
      this.joined = false;
    });
  }

  isReady(): boolean {
    return this.joined;
  }

  isLive(): boolean {
    return !this.crashed;
  }

  async start(processor: BatchProcessor): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: this.opts.topics,
      fromBeginning: this.opts.fromBeginning ?? true,
    });
    await this.consumer.run({
      autoCommit: true,
      autoCommitInterval: 1_000,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConcurrently,
      eachBatch: (payload) => this.onBatch(payload, processor),
    });
  }

  /** Reads a partition this instance owns from `offset` again, from its next fetch on. */
  seek(topic: string, partition: number, offset: number): void {
    this.consumer.seek({ topic, partition, offset: String(offset) });
  }

  async stop(): Promise<void> {
    // disconnect() waits for the batch in hand, commits resolved offsets and leaves the group.
    await this.consumer.disconnect();
  }

  private async onBatch(payload: EachBatchPayload, processor: BatchProcessor): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const { chunkSize, metrics } = this.opts;
    const { topic, partition } = batch;
    const total = batch.messages.length;
    for (let i = 0; i < total; i += chunkSize) {
      if (!isRunning() || isStale()) return;
      // Built chunk by chunk: a fetch can hold thousands of messages and stop part-way.
      const chunk: InboundMessage[] = [];
      for (let j = i; j < total && j < i + chunkSize; j++) {
        const m = batch.messages[j]!;
        chunk.push({
          topic,
          partition,
          offset: m.offset,
          key: m.key,
          value: m.value,
          headers: m.headers ?? {},
          timestamp: m.timestamp,
        });
      }
      const outcome = await this.applyWithRetry(chunk, processor, heartbeat, isRunning, isStale);
      if (outcome === ABANDONED) return;
      const last = chunk[chunk.length - 1]!;
      resolveOffset(last.offset);
      metrics.consumerLag.set(
        { topic: batch.topic, partition: String(batch.partition) },
        Math.max(0, Number(batch.highWatermark) - Number(last.offset) - 1),
      );
      await commitOffsetsIfNecessary();
      await heartbeat();
    }
  }

  /** Retries transient faults with backoff, keeping the group membership alive meanwhile. */
  private async applyWithRetry(
    chunk: InboundMessage[],
    processor: BatchProcessor,
    heartbeat: () => Promise<void>,
    isRunning: () => boolean,
    isStale: () => boolean,
  ): Promise<typeof APPLIED | typeof ABANDONED> {
    for (let attempt = 0; ; attempt++) {
      try {
        await processor(chunk);
        return APPLIED;
      } catch (err) {
        const seek = seekTarget(err);
        if (seek !== undefined) {
          // The processor says where this partition must be read from: seek there and drop the
          // rest of this fetch; the consumer fetches again from that offset.
          const { topic, partition } = chunk[0]!;
          this.consumer.seek({ topic, partition, offset: String(seek) });
          return ABANDONED;
        }
        if (!isRetryable(err)) {
          this.crashed = true;
          this.opts.onFatal(err);
          // Never resolve: the chunk must not be committed after a bug.
          throw err;
        }
        const code = (err as LeadScorerError).code;
        this.opts.metrics.retries.inc({ code });
        const wait = backoffMs(attempt, this.opts.retry.initialMs, this.opts.retry.maxMs, this.opts.random);
        this.opts.log.warn(
          // A known transient fault: its message says what; a stack would only repeat itself.
          {
            code,
            attempt,
            waitMs: wait,
            topic: chunk[0]?.topic,
            partition: chunk[0]?.partition,
            reason: (err as Error).message,
          },
          'transient fault: retrying the same messages',
        );
        await new Promise((r) => setTimeout(r, wait));
        if (!isRunning() || isStale()) return ABANDONED;
        try {
          await heartbeat();
        } catch {
          // Rebalance in progress: these partitions may move; the new owner re-reads them.
          return ABANDONED;
        }
      }
    }
  }
}

/** A PARTITION_FENCED error that names the offset to read from again (details.seek). */
function seekTarget(err: unknown): number | undefined {
  const e = err as LeadScorerError;
  return e?.code === 'PARTITION_FENCED' && typeof e.details?.seek === 'number' ? e.details.seek : undefined;
}
