import type { Codec } from './container.ts';
import { type WrittenFile, writeSegment } from './files.ts';
import { listArchive, nextOffset } from './layout.ts';
import { PartitionLog, type Segment, type SegmentLimits } from './segment.ts';

/**
 * The archive's write side for a set of topics: a PartitionLog per partition, started at one past
 * the highest offset found on disk, and the writing of their segments as files. Kafka-agnostic:
 * the archiver feeds it consumed messages, the replay engine its catch-up of the topics.
 *
 * Invariants that make the archive exactly-once:
 * - a partition's files are written one after another, in offset order (one chain per partition),
 *   so the files on disk always form a prefix of the partition: the highest `last` on disk is
 *   the position to resume from, with nothing missing below it;
 * - a PartitionLog refuses offsets below its next one, so nothing is archived twice;
 * - one writer per directory (the archiver is a single-replica StatefulSet): positions are read
 *   from disk once, at construction, and then kept in memory.
 */
export interface ArchiveWriterOptions {
  root: string;
  /** Physical topic names whose positions are read from disk. */
  topics: readonly string[];
  codec: Codec;
  limits: SegmentLimits;
  /** Bytes of records held in memory over all partitions; above it the largest segment is written. */
  maxPendingBytes: number;
  /** The value schema of a segment's records (null: a segment without records, any schema of the topic). */
  schemaOf: (topic: string, schemaId: number | null) => Record<string, unknown>;
  clock: () => number;
  onWritten?: (seg: Segment, file: WrittenFile, seconds: number) => void;
}

export interface Position {
  topic: string;
  partition: number;
  /** The next offset to read: everything below it is archived. */
  offset: number;
}

export class ArchiveWriter {
  private readonly opts: ArchiveWriterOptions;
  private readonly onDisk = new Map<string, number>();
  private readonly logs = new Map<string, PartitionLog>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly written = new Map<string, Position>();
  private pending = 0;

  constructor(opts: ArchiveWriterOptions) {
    this.opts = opts;
    for (const [topic, partitions] of listArchive(opts.root, new Set(opts.topics))) {
      for (const [partition, files] of partitions) this.onDisk.set(key(topic, partition), nextOffset(files));
    }
  }

  /** The next offset to consume for a partition: past what is on disk or held in memory. */
  next(topic: string, partition: number): number {
    return this.log(topic, partition).next;
  }

  /** The next offset past what is on disk (what a restart would resume from). */
  archived(topic: string, partition: number): number {
    return this.written.get(key(topic, partition))?.offset ?? this.onDisk.get(key(topic, partition)) ?? 0;
  }

  pendingBytes(): number {
    return this.pending;
  }

  pendingMessages(): number {
    let n = 0;
    for (const log of this.logs.values()) n += log.pending();
    return n;
  }

  /** Adds an archivable message; resolves once whatever it made due is on disk. */
  async add(topic: string, partition: number, offset: number, ts: number, schemaId: number, body: Buffer) {
    const log = this.log(topic, partition);
    const before = log.bytes();
    const finished = log.add(offset, ts, schemaId, body, this.opts.clock());
    this.pending += log.bytes() - before + (finished?.bytes ?? 0);
    if (finished) await this.write(finished);
    await this.writeDue(log);
  }

  /** A message that is not archived (its offset still counts as done once the range is written). */
  async skip(topic: string, partition: number, offset: number, ts: number): Promise<void> {
    const log = this.log(topic, partition);
    log.skip(offset, ts, this.opts.clock());
    await this.writeDue(log);
  }

  /** Writes every segment due by age, or with `force` every open one; resolves when all are on disk. */
  async flush(force = false): Promise<void> {
    const now = this.opts.clock();
    const writes: Promise<void>[] = [];
    for (const log of this.logs.values()) {
      const seg = log.take(this.opts.limits, now, force);
      if (seg) writes.push(this.write(seg));
    }
    await Promise.all(writes);
    await Promise.all(this.chains.values());
  }

  /** Positions whose files were written since the last call: what may be committed to Kafka. */
  takeWritten(): Position[] {
    const out = [...this.written.values()];
    this.written.clear();
    for (const p of out) this.onDisk.set(key(p.topic, p.partition), p.offset);
    return out;
  }

  private log(topic: string, partition: number): PartitionLog {
    const k = key(topic, partition);
    let log = this.logs.get(k);
    if (!log) {
      log = new PartitionLog(topic, partition, this.onDisk.get(k) ?? 0);
      this.logs.set(k, log);
    }
    return log;
  }

  private async writeDue(log: PartitionLog): Promise<void> {
    const seg = log.take(this.opts.limits, this.opts.clock());
    if (seg) await this.write(seg);
    while (this.pending > this.opts.maxPendingBytes) {
      let largest: PartitionLog | undefined;
      for (const l of this.logs.values()) if (!largest || l.bytes() > largest.bytes()) largest = l;
      const big = largest?.take(this.opts.limits, 0, true);
      if (!big) break;
      await this.write(big);
    }
  }

  /** Queues a segment behind its partition's earlier ones: files land in offset order. */
  private write(seg: Segment): Promise<void> {
    this.pending -= seg.bytes;
    const k = key(seg.topic, seg.partition);
    const run = async () => {
      const started = process.hrtime.bigint();
      const file = await writeSegment(
        this.opts.root,
        seg,
        this.opts.schemaOf(seg.topic, seg.schemaId),
        this.opts.codec,
      );
      this.written.set(k, { topic: seg.topic, partition: seg.partition, offset: seg.last + 1 });
      this.opts.onWritten?.(seg, file, Number(process.hrtime.bigint() - started) / 1e9);
    };
    const chain = (this.chains.get(k) ?? Promise.resolve()).then(run);
    this.chains.set(k, chain);
    // A failed write fails every later one of the partition: nothing is written past a gap.
    return chain;
  }
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
