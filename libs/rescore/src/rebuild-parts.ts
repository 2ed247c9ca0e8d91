import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { createCatalogue } from '@leadscorer/contracts';
import { type LeadRecord, leadHash } from '@leadscorer/core';
import { loadModel, type Model } from '@leadscorer/engine';
import { LeadScorerError } from '@leadscorer/errors';
import { type FetchedTail, type Position, type ReplayStats, replay } from '@leadscorer/replay';
import { createRedis } from '@leadscorer/runtime';
import type { ScoringEnv } from '@leadscorer/scoring-service';
import { RedisScoreStore, SHARDS } from '@leadscorer/store';

/**
 * The rescore's replay and load, split by lead over threads: each thread replays the leads of its
 * part of the history (libs/replay `part`: every event of a lead in one part, in the whole
 * replay's order, so the records are exactly a whole replay's) and loads them into the new
 * generation itself. Nothing but lead ids, positions and counts comes back: records never cross a
 * thread. On one thread (threads = 1, or one core) the same work runs in the calling thread.
 */
export interface PartTask {
  env: ScoringEnv;
  model: { text: string; file: string };
  archiveDir: string;
  /** What the topics hold beyond the archive, read once by the caller (fetchTail). */
  fetched?: FetchedTail;
  /** Per `topic/partition`, the offset the replay stops before (a rebuild). */
  stops?: [string, number][];
  now?: number;
  finishAt: number;
  /** The new generation's key prefix, and the time its records are written at. */
  prefix: string;
  loadNow: number;
  /** Leads not to load: the hashes (core leadHash) of the erased. */
  erased: string[];
  part: { index: number; of: number };
}

/** What a part says, and what replayAndLoad says of all of them together. */
export interface PartsResult {
  /** Every replayed lead, erased ones included (the caller erases those again before the switch). */
  ids: string[];
  /** Per partition, where the replay ended (the lowest over the parts). */
  positions: Position[];
  stats: ReplayStats;
  /** Erased leads left out of the load. */
  leftOut: number;
  /** Seconds: the (slowest part's) replay, and from then to the (last part's) load done. */
  replaySeconds: number;
  loadSeconds: number;
}

/** How many threads by default: one per core, at most four. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** Replays and loads one part (in whichever thread calls it). */
export async function replayAndLoadPart(task: PartTask, loaded?: Model): Promise<PartsResult> {
  const model = loaded ?? loadModel(task.model.text, task.model.file);
  const catalogue = createCatalogue({ prefix: task.env.TOPIC_PREFIX });
  const stops = task.stops ? new Map(task.stops) : undefined;
  const started = performance.now();
  const replayed = await replay({
    model,
    catalogue,
    archiveDir: task.archiveDir,
    ...(task.fetched ? { fetched: task.fetched } : {}),
    ...(task.now !== undefined ? { now: task.now } : {}),
    ...(stops ? { stopAt: (topic: string, partition: number) => stops.get(`${topic}/${partition}`) } : {}),
    finishAt: task.finishAt,
    part: task.part,
  });
  const replaySeconds = (performance.now() - started) / 1000;
  const erased = new Set(task.erased);
  const records: (readonly [string, LeadRecord])[] = [];
  for (const entry of replayed.records)
    if (erased.size === 0 || !erased.has(leadHash(entry[0]))) records.push(entry);
  const redis = createRedis(task.env, 'lead-scorer.rescore-load');
  await redis.connect();
  try {
    const store = new RedisScoreStore({
      client: redis,
      keys: { prefix: task.prefix, shards: SHARDS },
      model,
    });
    for (let i = 0; i < records.length; i += 20_000)
      await store.load(records.slice(i, i + 20_000), task.loadNow);
  } finally {
    redis.disconnect();
  }
  return {
    ids: [...replayed.records.keys()],
    positions: replayed.positions,
    stats: replayed.stats,
    leftOut: replayed.records.size - records.length,
    replaySeconds,
    loadSeconds: (performance.now() - started) / 1000 - replaySeconds,
  };
}

/** Runs the parts, in worker threads when there are several; merges what they say. */
export async function replayAndLoad(
  task: Omit<PartTask, 'part'>,
  threads: number,
  model: Model,
): Promise<PartsResult> {
  const parts =
    threads <= 1
      ? [await replayAndLoadPart({ ...task, part: { index: 0, of: 1 } }, model)]
      : await inWorkers(task, threads);
  const lowest = new Map<string, Position>();
  for (const p of parts)
    for (const q of p.positions) {
      const k = `${q.topic}/${q.partition}`;
      const seen = lowest.get(k);
      if (!seen || q.offset < seen.offset) lowest.set(k, q);
    }
  const stats = { ...parts[0]!.stats };
  for (const key of [
    'events',
    'outcomes',
    'leads',
    'stageChanges',
    'overlaps',
    'readNs',
    'decodeNs',
    'evaluateNs',
    'applyNs',
  ] as const)
    stats[key] = parts.reduce((n, p) => n + p.stats[key], 0);
  const replaySeconds = Math.max(...parts.map((p) => p.replaySeconds));
  return {
    ids: parts.flatMap((p) => p.ids),
    positions: [...lowest.values()],
    stats,
    leftOut: parts.reduce((n, p) => n + p.leftOut, 0),
    replaySeconds,
    loadSeconds: Math.max(...parts.map((p) => p.replaySeconds + p.loadSeconds)) - replaySeconds,
  };
}

async function inWorkers(task: Omit<PartTask, 'part'>, threads: number): Promise<PartsResult[]> {
  const workers: Worker[] = [];
  try {
    return await Promise.all(
      Array.from({ length: threads }, (_, index) => {
        const worker = new Worker(new URL('./rebuild-worker.ts', import.meta.url), {
          workerData: { ...task, part: { index, of: threads } } satisfies PartTask,
        });
        workers.push(worker);
        return new Promise<PartsResult>((resolve, reject) => {
          worker.once(
            'message',
            (m: { result?: PartsResult; error?: { code?: string; message: string } }) => {
              if (m.result) resolve(m.result);
              else
                reject(
                  m.error?.code
                    ? new LeadScorerError(m.error.code as never, m.error.message)
                    : new Error(`rescore part ${index}: ${m.error?.message ?? 'no result'}`),
                );
            },
          );
          worker.once('error', reject);
          worker.once('exit', (code) =>
            reject(new Error(`rescore part ${index} exited (${code}) without a result`)),
          );
        });
      }),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
