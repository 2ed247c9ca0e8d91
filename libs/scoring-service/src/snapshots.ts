import { randomBytes } from 'node:crypto';
import { type Serde, toStageSnapshotRecord } from '@leadscorer/contracts';
import type { StageChangeRecord } from '@leadscorer/core';
import { transitionId } from '@leadscorer/engine';
import { LeadScorerError } from '@leadscorer/errors';
import type { Logger, Metrics } from '@leadscorer/runtime';
import type { RedisScoreStore } from '@leadscorer/store';
import { type Kafka, Partitioners, type Producer } from 'kafkajs';

/**
 * Writes lead.stage.v1, the compacted snapshot topic: the latest stage of every lead.
 *
 * Every commit that records a stage change also queues it in its shard's snapshot stream
 * (`{NN}#snap`, in commit order, so a lead's changes in sequence order); erasure queues a
 * tombstone there (RedisScoreStore.removeFromIndexes). This writer, run by the outbox relay, takes
 * a shard's lease, writes the shard's entries in stream order with an idempotent producer (one
 * request in flight: no reordering on retry), and removes them only after the broker's ack and
 * only while it still holds the lease. So a lead's records reach its partition in sequence order
 * and compaction keeps the newest: an older stage is never written after a newer one, whatever
 * crashes. A crash between the ack and the removal writes the same records again, in the same
 * order: harmless on a compacted topic. Entries wait the publish hold like the outbox's (a Redis
 * that goes back in time cannot take back a snapshot the world has seen).
 *
 * Why not the inline path: two processes (a consumer and the relay) writing the same lead could
 * land an older record after a newer one, and compaction would then keep the older one for good.
 * The residual risk is a writer stalled longer than its lease (LEASE_MS) between reading the
 * lease and the broker writing its request; the lease is renewed before every batch.
 */
export interface StageSnapshotWriterOptions {
  current: () => { store: RedisScoreStore };
  serde: Serde;
  /** The physical lead.stage.v1 topic (catalogue). */
  topic: string;
  /** An idempotent producer (snapshotProducer), connected. */
  producer: Producer;
  log: Logger;
  /** Sets leadscorer_snapshot_queue_depth after each pass. */
  metrics?: Metrics;
  intervalMs: number;
  /** Entries younger than this wait (the publish hold). */
  minAgeMs: number;
  batchSize?: number;
  leaseMs?: number;
}

export const LEASE_MS = 30_000;

export class StageSnapshotWriter {
  private readonly opts: StageSnapshotWriterOptions;
  private readonly token = randomBytes(8).toString('hex');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private healthy = true;

  constructor(opts: StageSnapshotWriterOptions) {
    this.opts = opts;
  }

  setMinAge(ms: number): void {
    this.opts.minAgeMs = ms;
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  start(): void {
    const tick = async (): Promise<void> => {
      this.running = this.pass().catch(() => undefined);
      await this.running;
      this.running = undefined;
      if (!this.stopped) this.timer = setTimeout(tick, this.opts.intervalMs);
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One sweep over the shards whose lease this writer holds or takes; returns records written. */
  async pass(): Promise<number> {
    const { store } = this.opts.current();
    const batch = this.opts.batchSize ?? 500;
    const leaseMs = this.opts.leaseMs ?? LEASE_MS;
    let written = 0;
    try {
      for (let shard = 0; shard < store.shards && !this.stopped; shard++) {
        // A rescore switched generations meanwhile: the next pass works on the new one.
        if (this.opts.current().store !== store) break;
        for (;;) {
          if (!(await store.snapshotLease(shard, this.token, leaseMs))) break;
          const pending = await store.pendingSnapshots(shard, batch, this.opts.minAgeMs, Date.now());
          if (pending.length === 0) break;
          await this.write(pending);
          written += pending.length;
          if (
            !(await store.ackSnapshots(
              shard,
              this.token,
              pending.map((p) => p.id),
            ))
          )
            break;
          if (pending.length < batch) break;
        }
      }
      this.opts.metrics?.snapshotQueueDepth.set(await store.snapshotDepth());
      this.healthy = true;
      if (written > 0) this.opts.log.debug({ written }, 'lead.stage.v1 snapshots written');
    } catch (err) {
      this.healthy = false;
      this.opts.log.warn({ err }, 'writing lead.stage.v1 snapshots failed; will retry');
    }
    return written;
  }

  private async write(pending: readonly { lead: string; change: StageChangeRecord | null }[]): Promise<void> {
    const { serde, producer } = this.opts;
    const messages = await Promise.all(
      pending.map(async ({ lead, change }) => {
        if (!change) return { key: lead, value: null };
        const record = toStageSnapshotRecord(change, {
          leadId: lead,
          eventId: transitionId(lead, change.seq, change.from, change.to, change.epoch),
          recordedAt: change.at,
          modelVersion: change.modelVersion,
        });
        const m = await serde.encode('lead.stage.v1', record, change.at);
        return { key: m.key, value: m.value };
      }),
    );
    await sendInOrder(producer, this.opts.topic, messages);
  }
}

/**
 * Tombstones (null values) for leads on lead.stage.v1, written directly: for erasing a lead that
 * has nothing queued any more. While the lead may still have snapshots queued in Redis, erase
 * through RedisScoreStore.removeFromIndexes instead, which queues the tombstone behind them.
 */
export async function sendStageTombstones(
  producer: Producer,
  topic: string,
  leadIds: readonly string[],
): Promise<void> {
  await sendInOrder(
    producer,
    topic,
    leadIds.map((id) => ({ key: id, value: null })),
  );
}

async function sendInOrder(
  producer: Producer,
  topic: string,
  messages: { key: string | Buffer; value: Buffer | null }[],
): Promise<void> {
  if (messages.length === 0) return;
  try {
    await producer.send({ topic, acks: -1, messages });
  } catch (err) {
    throw new LeadScorerError('BROKER_UNAVAILABLE', `writing lead.stage.v1: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * The producer lead.stage.v1 needs: idempotent with one request in flight, so a retried request
 * can neither duplicate nor overtake the one after it (a lead's records stay in sequence order).
 */
export function snapshotProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // Murmur2 on the key, as the Java client and our contract require (docs/contracts.md).
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}
