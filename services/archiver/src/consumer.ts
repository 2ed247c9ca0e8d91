import type { ArchiveWriter, MessageAcceptor, Verdict } from '@leadscorer/archive';
import { leadHash } from '@leadscorer/core';
import { isRetryable, type LeadScorerError } from '@leadscorer/errors';
import { backoffMs, type Logger, type Metrics } from '@leadscorer/runtime';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { ArchiveMetrics } from './metrics.ts';

/**
 * The archiver's Kafka side. The files are the source of truth for progress, not the group's
 * committed offsets: at every group join each assigned partition is sought to one past what is on
 * disk or held in memory (ArchiveWriter.next), and a message below that offset is dropped, so a
 * message is archived once whatever Kafka redelivers. Offsets are committed after their file is
 * on disk, for lag tools (kafka-consumer-groups.sh) only: a crash between the file's rename and
 * the commit costs nothing but a re-read.
 */
export interface ArchiveConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  writer: ArchiveWriter;
  acceptor: MessageAcceptor;
  /** Resolves once the writer schema of a registry id is known (the file header needs it). */
  learnSchema: (schemaId: number) => Promise<void>;
  log: Logger;
  metrics: Metrics;
  archive: ArchiveMetrics;
  partitionsConcurrently: number;
  sessionTimeoutMs: number;
  retry: { initialMs: number; maxMs: number };
  /** How often due files are written and offsets committed. */
  tickMs: number;
  /**
   * Erasure (docs/erasure.md): the physical name of lead.profile.v1, whose tombstones erase a
   * lead, and what removes a lead's records from the files on disk.
   */
  erasure: { profileTopic: string; erase: (leadId: string) => Promise<void> };
  onFatal: (err: unknown) => void;
}

const ABANDONED = Symbol('abandoned');

export class ArchiveConsumer {
  private readonly opts: ArchiveConsumerOptions;
  private readonly consumer: Consumer;
  private readonly active = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private joined = false;
  private crashed = false;
  private stopping = false;
  /** Hashes of the leads erased since the start: their records still arriving are not archived. */
  private readonly erased = new Set<string>();

  constructor(opts: ArchiveConsumerOptions) {
    this.opts = opts;
    this.consumer = opts.kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: opts.sessionTimeoutMs,
      heartbeatInterval: Math.min(3_000, Math.floor(opts.sessionTimeoutMs / 3)),
      maxBytesPerPartition: 1_048_576,
      retry: { retries: 10 },
    });
    const { GROUP_JOIN, CRASH, STOP, DISCONNECT } = this.consumer.events;
    // Synchronous on purpose: the seeks must be set before the first fetch of the new generation.
    this.consumer.on(GROUP_JOIN, (e) => {
      this.joined = true;
      opts.metrics.consumerLag.reset();
      const assignment = e.payload.memberAssignment;
      for (const [topic, partitions] of Object.entries(assignment)) {
        for (const partition of partitions) {
          const offset = opts.writer.next(topic, partition);
          this.consumer.seek({ topic, partition, offset: String(offset) });
        }
      }
      opts.log.info({ assignment }, 'joined consumer group; partitions sought to the archive positions');
    });
    this.consumer.on(CRASH, (e) => {
      this.joined = false;
      if (!e.payload.restart) this.fail(e.payload.error);
    });
    this.consumer.on(STOP, () => {
      this.joined = false;
    });
    this.consumer.on(DISCONNECT, () => {
      this.joined = false;
    });
  }

  isReady(): boolean {
    return this.joined && !this.crashed;
  }

  isLive(): boolean {
    return !this.crashed;
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.opts.topics, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConcurrently,
      eachBatch: (payload) => this.track(this.onBatch(payload)),
    });
    this.timer = setInterval(() => {
      this.tick(false).catch((err: unknown) => this.fail(err));
    }, this.opts.tickMs);
  }

  /** Stops fetching, finishes the batches in hand, writes every open file, commits, leaves. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    try {
      this.consumer.pause(this.opts.topics.map((topic) => ({ topic })));
    } catch {
      // Not running (a failed start): nothing to pause.
    }
    await Promise.allSettled([...this.active]);
    if (!this.crashed) await this.tick(true);
    await this.consumer.disconnect();
  }

  /** Writes what is due (all with `force`), then commits what is on disk. */
  private async tick(force: boolean): Promise<void> {
    await this.opts.writer.flush(force);
    this.updatePending();
    const done = this.opts.writer.takeWritten();
    if (done.length === 0) return;
    try {
      await this.consumer.commitOffsets(done.map((p) => ({ ...p, offset: String(p.offset) })));
    } catch (err) {
      // A convenience for lag tools: the archive's progress is on disk already.
      this.opts.log.warn(
        { err },
        'committing archived offsets failed; they are committed with the next file',
      );
    }
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    const { writer, metrics } = this.opts;
    let consumed = 0;
    try {
      for (const m of batch.messages) {
        if (this.stopping || !isRunning() || isStale()) return;
        const offset = Number(m.offset);
        // Below the position: archived (on disk or in memory) before this redelivery.
        if (offset >= writer.next(topic, partition)) {
          const timestamp = Number(m.timestamp);
          const erasure = this.opts.erasure;
          if (m.key !== null && (m.value === null ? topic === erasure.profileTopic : this.erased.size > 0)) {
            const leadId = m.key.toString('utf8');
            if (m.value === null) {
              // The lead is erased: what is held in memory goes to disk first, then every file is
              // rewritten without the lead's records.
              this.erased.add(leadHash(leadId));
              await writer.flush(true);
              await erasure.erase(leadId);
            }
            if (m.value === null || this.erased.has(leadHash(leadId))) {
              this.opts.archive.skipped.inc({ topic, reason: m.value === null ? 'erasure' : 'erased-lead' });
              consumed++;
              await writer.skip(topic, partition, offset, timestamp);
              resolveOffset(m.offset);
              continue;
            }
          }
          const verdict = await this.accept(topic, { key: m.key, value: m.value, timestamp }, payload);
          if (verdict === ABANDONED) return;
          consumed++;
          if (verdict.ok)
            await writer.add(topic, partition, offset, timestamp, verdict.schemaId, verdict.body);
          else {
            this.opts.archive.skipped.inc({ topic, reason: verdict.code });
            await writer.skip(topic, partition, offset, timestamp);
          }
        }
        // Only moves kafkajs' fetch position (autoCommit is off): the commit follows the file.
        resolveOffset(m.offset);
      }
      metrics.consumerLag.set(
        { topic, partition: String(partition) },
        Math.max(0, Number(batch.highWatermark) - writer.next(topic, partition)),
      );
      this.updatePending();
      await heartbeat();
    } catch (err) {
      this.fail(err);
      throw err;
    } finally {
      if (consumed > 0) metrics.consumed.inc({ topic }, consumed);
    }
  }

  /** Classifies a message, retrying transient faults (registry down) without skipping it. */
  private async accept(
    topic: string,
    message: { key: Buffer | null; value: Buffer | null; timestamp: number },
    payload: EachBatchPayload,
  ): Promise<Verdict | typeof ABANDONED> {
    const { retry, metrics, log } = this.opts;
    for (let attempt = 0; ; attempt++) {
      try {
        const verdict = await this.opts.acceptor.accept(topic, message);
        if (verdict.ok) await this.opts.learnSchema(verdict.schemaId);
        return verdict;
      } catch (err) {
        if (!isRetryable(err)) throw err;
        const code = (err as LeadScorerError).code;
        metrics.retries.inc({ code });
        const wait = backoffMs(attempt, retry.initialMs, retry.maxMs);
        log.warn({ code, attempt, waitMs: wait, topic, err }, 'transient fault: retrying the same message');
        await new Promise((r) => setTimeout(r, wait));
        if (this.stopping || !payload.isRunning() || payload.isStale()) return ABANDONED;
        try {
          await payload.heartbeat();
        } catch {
          return ABANDONED; // a rebalance: the partition's next owner reads it again
        }
      }
    }
  }

  private updatePending(): void {
    this.opts.archive.pendingMessages.set(this.opts.writer.pendingMessages());
    this.opts.archive.pendingBytes.set(this.opts.writer.pendingBytes());
  }

  private track(p: Promise<void>): Promise<void> {
    this.active.add(p);
    return p.finally(() => this.active.delete(p));
  }

  /** A failed write or a bug: the process must exit; the files on disk say where to resume. */
  private fail(err: unknown): void {
    if (this.crashed) return;
    this.crashed = true;
    this.opts.onFatal(err);
  }
}
