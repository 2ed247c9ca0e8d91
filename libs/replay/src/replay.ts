import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ArchiveFile, listArchive, nextOffset, type Position } from '@leadscorer/archive';
import type { Catalogue, CatalogueTopic, InputTopicName } from '@leadscorer/contracts';
import { HISTORY_LENGTH, type LeadRecord, type StageChangeRecord } from '@leadscorer/core';
import { fnv1a32, type Model } from '@leadscorer/engine';
import { PartitionCursor, type PartitionFiles, type PhaseClock } from './cursor.ts';
import { CursorHeap } from './heap.ts';
import { LeadTable } from './leads.ts';
import { type EventStep, type OutcomeStep, type ReplayObserver, steps } from './observer.ts';
import { type Gap, readTail, type TailResult, type TopicSource } from './tail.ts';

/**
 * Replays history through the engine in process: the archive, then (with `topics`) what the
 * topics hold beyond it; every input partition's records merged into one order (replay time,
 * topic, partition, offset: see cursor.ts), each event applied to its lead at `now` the way the
 * live services apply it, outcomes handed to the observer with the lead as it is then. See
 * docs/archive.md for the choices (which `now`, which order) and what they reproduce.
 */
export interface ReplayOptions {
  /** The model to score with (the current one, or a candidate). */
  model: Model;
  /** The topic catalogue of the deployment (its prefix names the archive's topic directories). */
  catalogue: Catalogue;
  archiveDir: string;
  /** Also read what the archive does not hold yet from the topics. Without it: the archive only. */
  topics?: TopicSource;
  /** What fetchTail read from the topics already (instead of `topics`): replays share one read. */
  fetched?: FetchedTail;
  /**
   * Replay only the leads of this part of a split by lead id (fnv1a32(id) % of === index): each
   * lead's events all land in one part, in the same order as in a whole replay, so the parts'
   * records are exactly the whole's. Positions then hold for this part's leads only (the whole's
   * are the lowest offset per partition over all parts).
   */
  part?: { index: number; of: number };
  /** Which input topics to replay (logical names); default every input, outcomes included. */
  inputs?: readonly InputTopicName[];
  /**
   * The `now` each event is applied at: by default its replay time (its Kafka timestamp, never
   * below an earlier one of its partition); a number applies everything at that one time (as a
   * service with CLOCK_FIXED_MS does); a function maps the replay time.
   */
  now?: number | ((replayTime: number) => number);
  /** Only records with replay time <= until (the positions then stop there). */
  until?: number;
  /**
   * Per partition (physical topic name), replay only the offsets below this one (the positions
   * then stop there): a rebuild stops where the live consumer groups are, so that they go on
   * from there and publish what they derive. Undefined: no limit.
   */
  stopAt?: (topic: string, partition: number) => number | undefined;
  /** Make the time-driven moves fading-leads makes (default true). */
  timeDriven?: boolean;
  /** At the end, make the time-driven moves due by this time (default: none; `due` says when). */
  finishAt?: number;
  historyLength?: number;
  observer?: ReplayObserver;
  /**
   * Decode every field of every record: the observer's events then carry every property. By
   * default fields no rule or filter of the model reads are skipped undecoded (faster), and the
   * events lack those properties.
   */
  allFields?: boolean;
}

export interface ReplayStats {
  events: number;
  outcomes: number;
  leads: number;
  stageChanges: number;
  files: number;
  /** Records skipped because an earlier file held their offset too (overlapping files). */
  overlaps: number;
  /** Messages read from the topics beyond the archive. */
  fromTopics: number;
  /** Nanoseconds: reading files, decoding records, evaluating effects, and the rest (merge + apply). */
  readNs: number;
  decodeNs: number;
  evaluateNs: number;
  applyNs: number;
}

export interface ReplayResult {
  /** Every lead's final record: state, offset watermarks, history, next time-driven change. */
  records: Map<string, LeadRecord>;
  /**
   * Per partition of the replayed topics, the next offset after what the replay covered: a live
   * consumer of the new states resumes there (Kafka's committed-offset convention).
   */
  positions: Position[];
  /** Offsets the replay could not read: neither archived nor still on the topic. */
  gaps: Gap[];
  stats: ReplayStats;
}

/** Yield to the event loop every this many records (a replay runs for minutes). */
const YIELD_EVERY = 1 << 16;

/** What the topics hold beyond the archive, read once into a directory (fetchTail). */
export interface FetchedTail extends TailResult {
  dir: string;
  /**
   * The archive's files as listed right before the topics were read: the replays that share this
   * tail read exactly these, so they all see the same history (the archiver goes on writing).
   */
  archived: Map<string, Map<number, ArchiveFile[]>>;
}

function inputsOf(opts: Pick<ReplayOptions, 'catalogue' | 'inputs'>): CatalogueTopic[] {
  return opts.catalogue.inputs.filter((t) => !opts.inputs || opts.inputs.includes(t.name as InputTopicName));
}

/**
 * Reads what the topics hold beyond the archive into a temporary directory, for replays that
 * share it (`fetched`); `remove()` deletes the directory.
 */
export async function fetchTail(
  opts: Pick<ReplayOptions, 'catalogue' | 'inputs' | 'archiveDir'> & { topics: TopicSource },
): Promise<FetchedTail & { remove(): void }> {
  const inputs = inputsOf(opts);
  const archived = listArchive(opts.archiveDir, new Set(inputs.map((t) => t.topic)));
  const dir = mkdtempSync(join(tmpdir(), 'leadscorer-replay-'));
  try {
    const archiveEnd = (topic: string, partition: number) => nextOffset(archived.get(topic)?.get(partition));
    const tail = await readTail(opts.topics, opts.catalogue, inputs, archiveEnd, dir);
    return { ...tail, dir, archived, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  const { model } = opts;
  const inputs = inputsOf(opts);
  const physical = new Set(inputs.map((t) => t.topic));
  const own = opts.topics && !opts.fetched ? await fetchTail({ ...opts, topics: opts.topics }) : undefined;
  const fetched = opts.fetched ?? own;
  const archived = fetched?.archived ?? listArchive(opts.archiveDir, physical);
  try {
    const tail = fetched ?? { ends: [], gaps: [], messages: 0 };
    const sources = partitionFiles(
      inputs,
      archived,
      fetched ? listArchive(fetched.dir, physical) : new Map(),
      tail.ends,
    );
    const clock: PhaseClock = { read: 0n, decode: 0n, evaluate: 0n };
    const part = opts.part;
    const keep =
      part && part.of > 1 ? (leadId: string) => fnv1a32(leadId) % part.of === part.index : undefined;
    const cursors = sources.map(
      (s) => new PartitionCursor(s, inputs.indexOf(s.topic), model, clock, opts.allFields ?? false, keep),
    );
    const started = process.hrtime.bigint();
    const result = await run(opts, cursors);
    const total = process.hrtime.bigint() - started;
    const stats = result.stats;
    stats.files = sources.reduce((n, s) => n + s.files.length, 0);
    stats.fromTopics = tail.messages;
    stats.readNs = Number(clock.read);
    stats.decodeNs = Number(clock.decode);
    stats.evaluateNs = Number(clock.evaluate);
    stats.applyNs = Number(total - clock.read - clock.decode - clock.evaluate);
    stats.overlaps = cursors.reduce((n, c) => n + c.overlaps, 0);
    const positions = result.positions.map((p) => ({ ...p, topic: inputs[p.topicIndex]!.topic }));
    return {
      records: result.records,
      positions: positions.map(({ topicIndex: _, ...p }) => p),
      gaps: tail.gaps,
      stats,
    };
  } finally {
    own?.remove();
  }
}

/** Each partition's files (archive, then the topic's tail) and where its history ends. */
function partitionFiles(
  inputs: readonly CatalogueTopic[],
  archived: Map<string, Map<number, ArchiveFile[]>>,
  fetched: Map<string, Map<number, ArchiveFile[]>>,
  ends: readonly Position[],
): PartitionFiles[] {
  const out: PartitionFiles[] = [];
  for (const topic of inputs) {
    const partitions = new Set([
      ...(archived.get(topic.topic)?.keys() ?? []),
      ...(fetched.get(topic.topic)?.keys() ?? []),
      ...ends.filter((e) => e.topic === topic.topic).map((e) => e.partition),
    ]);
    for (const partition of [...partitions].sort((a, b) => a - b)) {
      const a = archived.get(topic.topic)?.get(partition) ?? [];
      const f = fetched.get(topic.topic)?.get(partition) ?? [];
      const end = ends.find((e) => e.topic === topic.topic && e.partition === partition)?.offset ?? 0;
      out.push({
        topic,
        partition,
        files: [...a, ...f].map((x) => x.path),
        end: Math.max(nextOffset(a), nextOffset(f), end),
      });
    }
  }
  return out;
}

async function run(
  opts: ReplayOptions,
  cursors: PartitionCursor[],
): Promise<{
  records: Map<string, LeadRecord>;
  positions: (Omit<Position, 'topic'> & { topicIndex: number })[];
  stats: ReplayStats;
}> {
  const { model, observer } = opts;
  const stats: ReplayStats = {
    events: 0,
    outcomes: 0,
    leads: 0,
    stageChanges: 0,
    files: 0,
    overlaps: 0,
    fromTopics: 0,
    readNs: 0,
    decodeNs: 0,
    evaluateNs: 0,
    applyNs: 0,
  };
  const onChange = (change: StageChangeRecord, record: LeadRecord) => {
    stats.stageChanges++;
    observer?.stageChange?.(change, record);
  };
  const leads = new LeadTable(model, opts.historyLength ?? HISTORY_LENGTH, opts.timeDriven ?? true, onChange);
  const until = opts.until ?? Number.POSITIVE_INFINITY;
  const fixedNow = typeof opts.now === 'number' ? opts.now : undefined;
  const mapNow = typeof opts.now === 'function' ? opts.now : undefined;

  const positions: (Omit<Position, 'topic'> & { topicIndex: number })[] = [];
  const heap = new CursorHeap();
  const stops = new Map<PartitionCursor, number>();
  for (const c of cursors) {
    const stop = opts.stopAt?.(c.topic, c.partition) ?? Number.POSITIVE_INFINITY;
    stops.set(c, stop);
    if (c.load() && c.offsets[c.at]! < stop) heap.push(c);
    else positions.push({ topicIndex: c.topicIndex, partition: c.partition, offset: Math.min(c.end, stop) });
  }
  const { event: eventStep, outcome: outcomeStep } = steps();
  let sinceYield = 0;
  while (heap.size > 0) {
    const c = heap.top();
    const i = c.at;
    const time = c.times[i]!;
    if (time > until || c.offsets[i]! >= stops.get(c)!) {
      positions.push({ topicIndex: c.topicIndex, partition: c.partition, offset: c.offsets[i]! });
      heap.pop();
      continue;
    }
    const now = fixedNow ?? (mapNow ? mapNow(time) : time);
    if (c.scored) {
      const item = c.items[i]!;
      const outcome = leads.apply(item, now);
      stats.events++;
      if (observer?.event) observer.event(fill(eventStep, c, i, now, outcome, leads.record!));
    } else {
      const o = c.outcomes[i]!;
      const record = leads.at(o.leadId, now);
      stats.outcomes++;
      if (observer?.outcome) observer.outcome(fillOutcome(outcomeStep, c, i, now, record));
    }
    if (c.advance()) heap.siftTop();
    else {
      positions.push({ topicIndex: c.topicIndex, partition: c.partition, offset: c.end });
      heap.pop();
    }
    if (++sinceYield === YIELD_EVERY) {
      sinceYield = 0;
      await new Promise((r) => setImmediate(r));
    }
  }
  const records = leads.finish(opts.finishAt);
  stats.leads = records.size;
  return { records, positions, stats };
}

function fill(
  s: EventStep,
  c: PartitionCursor,
  i: number,
  now: number,
  outcome: EventStep['outcome'],
  record: LeadRecord,
): EventStep {
  const item = c.items[i]!;
  s.leadId = item.leadId;
  s.topic = c.name;
  s.partition = c.partition;
  s.offset = c.offsets[i]!;
  s.time = c.times[i]!;
  s.now = now;
  s.event = c.events[i]!;
  s.effect = item.effect;
  s.outcome = outcome;
  s.record = record;
  return s;
}

function fillOutcome(
  s: OutcomeStep,
  c: PartitionCursor,
  i: number,
  now: number,
  record: LeadRecord | undefined,
): OutcomeStep {
  const o = c.outcomes[i]!;
  s.leadId = o.leadId;
  s.partition = c.partition;
  s.offset = c.offsets[i]!;
  s.time = c.times[i]!;
  s.now = now;
  s.outcome = o;
  s.record = record;
  return s;
}
