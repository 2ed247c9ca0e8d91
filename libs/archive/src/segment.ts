import { LeadScorerError } from '@leadscorer/errors';
import { encodeMeta } from './archived-record.ts';
import { dayOf } from './layout.ts';

/**
 * What the archiver holds in memory for one topic partition: the next offset it expects and the
 * open segment, the messages of the file it will write next. Pure bookkeeping, no I/O: the
 * archiver decides when to write a segment (files.ts) and only then moves its Kafka position.
 *
 * A segment is one file: one partition, one UTC day (of the Kafka timestamps), one writer schema,
 * a contiguous range of offsets. Offsets that are not archivable (a message that cannot be decoded)
 * still belong to the range, so the range of the last file always tells where to resume.
 */
export interface Segment {
  topic: string;
  partition: number;
  date: string;
  /** Registry id of the records' writer schema; null when the segment holds no record. */
  schemaId: number | null;
  first: number;
  last: number;
  /** Per record: its Kafka coordinates' encoding, then the value's Avro body. */
  records: Buffer[][];
  bytes: number;
  /** Clock time of the first message, for the age limit. */
  openedAt: number;
}

export interface SegmentLimits {
  records: number;
  bytes: number;
  ageMs: number;
}

export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to archive: everything below is on disk or in the open segment. */
  next: number;
  private open: Segment | undefined;

  constructor(topic: string, partition: number, next: number) {
    this.topic = topic;
    this.partition = partition;
    this.next = next;
  }

  /** Offsets held in memory and not yet on disk. */
  pending(): number {
    return this.open ? this.open.last - this.open.first + 1 : 0;
  }

  /** Bytes of records held in memory, not yet on disk. */
  bytes(): number {
    return this.open?.bytes ?? 0;
  }

  /**
   * Adds an archivable message (offset >= next). Returns the open segment, finished, when this
   * message cannot join it (another day or writer schema): write that one first.
   */
  add(offset: number, timestamp: number, schemaId: number, body: Buffer, now: number): Segment | undefined {
    this.check(offset);
    const date = dayOf(timestamp);
    let finished: Segment | undefined;
    const open = this.open;
    if (open && open.records.length > 0 && (open.date !== date || open.schemaId !== schemaId)) {
      finished = open;
      this.open = undefined;
    }
    const seg = this.open ?? this.start(offset, date, now);
    // A segment of skipped offsets only takes the day and schema of its first record.
    if (seg.records.length === 0) {
      seg.date = date;
      seg.schemaId = schemaId;
    }
    const meta = encodeMeta(this.partition, offset, timestamp);
    seg.records.push([meta, body]);
    seg.bytes += meta.length + body.length;
    seg.last = offset;
    this.next = offset + 1;
    return finished;
  }

  /** A message that is not archived: its offset still belongs to the range written next. */
  skip(offset: number, timestamp: number, now: number): void {
    this.check(offset);
    const seg = this.open ?? this.start(offset, dayOf(timestamp), now);
    seg.last = offset;
    this.next = offset + 1;
  }

  /** The open segment if it is due by a limit (or with `force`, if any); it is then closed. */
  take(limits: SegmentLimits, now: number, force = false): Segment | undefined {
    const seg = this.open;
    if (!seg) return undefined;
    const due =
      force ||
      seg.records.length >= limits.records ||
      seg.bytes >= limits.bytes ||
      now - seg.openedAt >= limits.ageMs;
    if (!due) return undefined;
    this.open = undefined;
    return seg;
  }

  private start(offset: number, date: string, now: number): Segment {
    const seg: Segment = {
      topic: this.topic,
      partition: this.partition,
      date,
      schemaId: null,
      first: offset,
      last: offset,
      records: [],
      bytes: 0,
      openedAt: now,
    };
    this.open = seg;
    return seg;
  }

  private check(offset: number): void {
    if (offset < this.next)
      throw new LeadScorerError(
        'INVARIANT_VIOLATED',
        `offset ${offset} of ${this.topic}/${this.partition} is below the next one, ${this.next}`,
      );
  }
}
