/**
 * The replay engine's benchmark: a seeded archive is written to a temporary directory, then
 * replayed from the files to the final states, several times, on one core. Prints events per
 * core-second (the replay runs on one thread: records over that thread's CPU time; the machine
 * is shared, so this moves least with other load), per wall-clock second, leads, and where the
 * time goes (reading and inflating blocks, Avro decoding and mapping to the engine's events,
 * evaluating effects, merging and applying). Asserts nothing.
 *
 *   npm run bench:replay -- [events=1000000] [leads=50000] [rounds=5] [codec=deflate]
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Codec, listArchive } from '@leadscorer/archive';
import { createCatalogue } from '@leadscorer/contracts';
import { loadModel } from '@leadscorer/engine';
import { type ReplayStats, replay } from '@leadscorer/replay';
import { writeArchive } from '../../libs/replay/src/test-support.ts';
import { seededHistory } from './history.ts';

const EVENTS = Number(process.argv[2] ?? 1_000_000);
const LEADS = Number(process.argv[3] ?? 50_000);
const ROUNDS = Number(process.argv[4] ?? 5);
const CODEC = (process.argv[5] ?? 'deflate') as Codec;
const MODEL_FILE = new URL('../../models/default.yaml', import.meta.url);
const model = loadModel(readFileSync(MODEL_FILE, 'utf8'), 'models/default.yaml');
const catalogue = createCatalogue({ partitions: 6 });

// BENCH_REPLAY_DIR keeps the archive between runs (for profiling the replay alone).
const kept = process.env.BENCH_REPLAY_DIR;
const dir = kept ?? mkdtempSync(join(tmpdir(), 'leadscorer-bench-replay-'));
try {
  const t0 = Date.now();
  if (listArchive(dir).size === 0) {
    await writeArchive(dir, catalogue, seededHistory(EVENTS, LEADS), {
      partitions: 6,
      codec: CODECS_OK(CODEC),
      recordsPerFile: 50_000,
      collect: false,
    });
  }
  let files = 0;
  let bytes = 0;
  for (const partitions of listArchive(dir).values())
    for (const list of partitions.values())
      for (const f of list) {
        files++;
        bytes += statSync(f.path).size;
      }
  console.log(
    `node ${process.version}, model ${model.version}; archive: ${EVENTS.toLocaleString('en-US')} messages over ${LEADS.toLocaleString('en-US')} leads, 60 days, 6 topics x 6 partitions, ${files} files, ${(bytes / 1e6).toFixed(1)} MB (${CODEC}, ${(bytes / EVENTS).toFixed(0)} bytes/message), written in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  // Three clocks: wall time (what a user waits), this thread's CPU time (the work of one core,
  // its share of garbage collection included: the per-core figure, which other processes on the
  // machine move least), and the process's CPU time (adds V8's background GC and compile threads).
  const rows: { wall: number; thread: number; cpu: number; stats: ReplayStats }[] = [];
  const rate = (n: number, s: number) =>
    Math.round(n / s)
      .toLocaleString('en-US')
      .padStart(9);
  for (let round = 0; round <= ROUNDS; round++) {
    const cpu0 = process.cpuUsage();
    const thread0 = process.threadCpuUsage();
    const w0 = process.hrtime.bigint();
    const r = await replay({ model, catalogue, archiveDir: dir });
    const wall = Number(process.hrtime.bigint() - w0) / 1e9;
    const t = process.threadCpuUsage(thread0);
    const c = process.cpuUsage(cpu0);
    const thread = (t.user + t.system) / 1e6;
    const cpu = (c.user + c.system) / 1e6;
    const s = r.stats;
    const n = s.events + s.outcomes;
    const ms = (ns: number) => `${(ns / 1e6).toFixed(0)} ms`;
    console.log(
      `${(round === 0 ? 'warm-up' : `round ${round}`).padEnd(8)} ${rate(n, thread)} records per core-second (${rate(n, wall)}/s wall, ${rate(n, cpu)} per process CPU second)   ${s.leads.toLocaleString('en-US')} leads, ${s.stageChanges.toLocaleString('en-US')} stage changes   wall: read+inflate ${ms(s.readNs)}, decode ${ms(s.decodeNs)}, evaluate ${ms(s.evaluateNs)}, merge+apply ${ms(s.applyNs)}`,
    );
    if (round > 0) rows.push({ wall, thread, cpu, stats: s });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const n = rows[0]!.stats.events + rows[0]!.stats.outcomes;
  const best = Math.min(...rows.map((r) => r.thread));
  console.log(
    `median of ${rows.length} rounds: ${rate(n, median(rows.map((r) => r.thread))).trim()} records per core-second (best ${rate(n, best).trim()}), ${rate(n, median(rows.map((r) => r.wall))).trim()} records/s wall, ${(median(rows.map((r) => r.wall)) * 1000).toFixed(0)} ms per replay of ${n.toLocaleString('en-US')} records`,
  );
} finally {
  if (!kept) rmSync(dir, { recursive: true, force: true });
}

function CODECS_OK(c: string): Codec {
  if (c !== 'null' && c !== 'deflate') throw new Error(`codec must be null or deflate, got ${c}`);
  return c;
}
