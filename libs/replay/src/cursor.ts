import { readFileSync } from 'node:fs';
import { BlockReader, type ContainerHeader, readHeader } from '@leadscorer/archive';
import {
  type CatalogueTopic,
  type InputTopicName,
  type LeadOutcome,
  mapToScoringEvent,
} from '@leadscorer/contracts';
import { type ApplyItem, sourceId, TYPE_CODES } from '@leadscorer/core';
import { type EventType, evaluateEvent, type Model, type ScoringEvent } from '@leadscorer/engine';
import { LeadScorerError } from '@leadscorer/errors';
import { type RecordReader, readerFor } from './readers.ts';

/**
 * One topic partition's history as a stream of records in offset order: its archive files, then
 * (when the replay also reads the topics) the files of what it fetched past the archive. Decodes
 * a block at a time into flat arrays, and evaluates the scored events' effects right away (the
 * stateless part of the engine), so the merge only compares numbers and the apply loop only
 * applies. The merge key is the record's "replay time": its Kafka timestamp, raised to the highest
 * timestamp seen before it in the partition, so that time never goes backwards within a
 * partition (producers' clocks differ; a live consumer processes a partition in offset order).
 */
export interface PartitionFiles {
  topic: CatalogueTopic;
  partition: number;
  /** Files in offset order. */
  files: string[];
  /** Where the partition's history ends: the next offset after everything in these files. */
  end: number;
}

/** Time spent, in nanoseconds, per phase (the benchmark prints them): read = files and inflating blocks. */
export interface PhaseClock {
  read: bigint;
  decode: bigint;
  evaluate: bigint;
}

export class PartitionCursor {
  readonly name: InputTopicName;
  /** The physical topic name (with the deployment's prefix). */
  readonly topic: string;
  readonly topicIndex: number;
  readonly partition: number;
  /** Whether the engine scores this topic (outcomes are not scored). */
  readonly scored: boolean;
  /** Offset-watermark source of its events ("w3"). */
  readonly source: string;
  readonly end: number;

  // The current block, decoded: replay times, offsets, and per record an ApplyItem and its
  // event (scored topics) or the outcome record (lead.outcome.v1).
  readonly times: number[] = [];
  readonly offsets: number[] = [];
  readonly items: ApplyItem[] = [];
  readonly events: ScoringEvent[] = [];
  readonly outcomes: LeadOutcome[] = [];
  size = 0;
  /** Index of the head record in the block. */
  at = 0;
  /** Records skipped because an earlier file already held their offset (overlapping files). */
  overlaps = 0;

  private readonly files: string[];
  private readonly model: Model;
  private readonly eventType: EventType | null;
  private readonly projectFor: Model | undefined;
  private readonly clock: PhaseClock;
  private readonly keep: ((leadId: string) => boolean) | undefined;
  private fileIndex = -1;
  private blocks: BlockReader | undefined;
  private reader: RecordReader | undefined;
  private file = '';
  private data: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Records of the current block not decoded yet. */
  private remaining = 0;
  private maxTime = Number.NEGATIVE_INFINITY;
  private lastOffset = -1;

  /**
   * `allFields`: decode every field of every record (the observer's events then carry every
   * property); by default only the fields the model's evaluation reads.
   */
  constructor(
    src: PartitionFiles,
    topicIndex: number,
    model: Model,
    clock: PhaseClock,
    allFields = false,
    /** Only the records of these leads (a replay split over threads by lead); default all. */
    keep?: (leadId: string) => boolean,
  ) {
    this.keep = keep;
    this.eventType = src.topic.eventType;
    this.projectFor = allFields ? undefined : model;
    this.name = src.topic.name as InputTopicName;
    this.topic = src.topic.topic;
    this.topicIndex = topicIndex;
    this.partition = src.partition;
    this.scored = src.topic.eventType !== null;
    this.source = this.scored ? sourceId(TYPE_CODES[src.topic.eventType!]!, src.partition) : '';
    this.end = src.end;
    this.files = src.files;
    this.model = model;
    this.clock = clock;
  }

  /** Moves to the next record; false when the partition is exhausted. */
  advance(): boolean {
    if (++this.at < this.size) return true;
    return this.load();
  }

  /** Decodes the next records (and blocks, and files) until some are there; false when none are left. */
  load(): boolean {
    this.at = 0;
    this.size = 0;
    while (this.size === 0) {
      if (this.remaining > 0) {
        this.decode(Math.min(CHUNK, this.remaining));
        continue;
      }
      const t0 = process.hrtime.bigint();
      const more = this.blocks?.next() ?? false;
      this.clock.read += process.hrtime.bigint() - t0;
      if (!more) {
        if (!this.openNext()) return false;
        continue;
      }
      this.data = this.blocks!.data;
      this.pos = 0;
      this.remaining = this.blocks!.count;
    }
    return true;
  }

  private openNext(): boolean {
    if (++this.fileIndex >= this.files.length) return false;
    const t0 = process.hrtime.bigint();
    this.file = this.files[this.fileIndex]!;
    const buf = readFileSync(this.file);
    const header: ContainerHeader = readHeader(buf, this.file);
    this.reader = readerFor(this.name, this.eventType, this.projectFor, header.schema, this.file);
    this.blocks = new BlockReader(buf, header, this.file);
    this.clock.read += process.hrtime.bigint() - t0;
    return true;
  }

  /** Decodes `count` records of the current block, then evaluates the scored ones' effects. */
  private decode(count: number): void {
    const t0 = process.hrtime.bigint();
    const { type, resolver } = this.reader!;
    const { times, offsets, items, events, outcomes, scored, name, data, keep } = this;
    let pos = this.pos;
    let n = 0;
    for (let k = 0; k < count; k++) {
      const r = type.decode(data, pos, resolver) as { value: Archived | undefined; offset: number };
      if (r.offset < 0 || r.value === undefined)
        throw invalidBlock(this.file, this.blocks!.at, 'a record is truncated');
      pos = r.offset;
      const w = r.value;
      if (w.offset <= this.lastOffset) {
        this.overlaps++;
        continue;
      }
      this.lastOffset = w.offset;
      if (w.timestamp > this.maxTime) this.maxTime = w.timestamp;
      if (scored) {
        const e = mapToScoringEvent(name, w.value as never)!;
        if (keep && !keep(e.leadId)) continue;
        events[n] = e;
      } else {
        const o = w.value as LeadOutcome;
        if (keep && !keep(o.leadId)) continue;
        outcomes[n] = o;
      }
      times[n] = this.maxTime;
      offsets[n] = w.offset;
      n++;
    }
    this.pos = pos;
    this.remaining -= count;
    if (this.remaining === 0 && pos !== data.length)
      throw invalidBlock(this.file, this.blocks!.at, 'bytes after the last record of the block');
    const t1 = process.hrtime.bigint();
    this.clock.decode += t1 - t0;
    if (scored) {
      const { model, source } = this;
      for (let k = 0; k < n; k++) {
        const e = events[k]!;
        items[k] = { leadId: e.leadId, source, offset: offsets[k]!, effect: evaluateEvent(model, e) };
      }
      this.clock.evaluate += process.hrtime.bigint() - t1;
    }
    this.size = n;
  }
}

/**
 * Records decoded at a time. Small on purpose: the merge keeps every partition's decoded records
 * alive until it reaches them, and a few dozen per partition die young (cheap to collect) where
 * a whole block's would be promoted to the old generation first.
 */
const CHUNK = 32;

interface Archived {
  partition: number;
  offset: number;
  timestamp: number;
  value: unknown;
}

function invalidBlock(file: string, at: number, why: string): LeadScorerError {
  return new LeadScorerError('ARCHIVE_INVALID', `${file}: byte ${at}: ${why}`, {
    details: { file, byte: at },
  });
}
