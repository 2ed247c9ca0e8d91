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
import { type SeedMessage, writeArchive } from '../../libs/replay/src/test-support.ts';

const EVENTS = Number(process.argv[2] ?? 1_000_000);
const LEADS = Number(process.argv[3] ?? 50_000);
const ROUNDS = Number(process.argv[4] ?? 5);
const CODEC = (process.argv[5] ?? 'deflate') as Codec;
const MODEL_FILE = new URL('../../models/default.yaml', import.meta.url);
const model = loadModel(readFileSync(MODEL_FILE, 'utf8'), 'models/default.yaml');
const catalogue = createCatalogue({ partitions: 6 });

/** mulberry32: seeded, so every run measures the same history. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const BROWSERS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
];
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const PROXY = 'Mozilla/5.0 (Windows NT 5.1) (via ggpht.com GoogleImageProxy)';
const PATHS = [
  '/',
  '/features',
  '/pricing',
  '/docs/getting-started',
  '/docs/api/events',
  '/blog/lead-scoring-101',
  '/customers/acme',
  '/careers',
  '/demo/thank-you',
  '/integrations',
];
const TRIAL = [
  'login',
  'login',
  'feature_used',
  'feature_used',
  'feature_used',
  'invite_sent',
  'billing_page_viewed',
  'usage_limit_hit',
  'checkout_started',
  'signup',
];
const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

function message(i: number): SeedMessage {
  const timestamp = T0 + Math.floor((i / EVENTS) * 60 * DAY);
  const leadId = `lead-${Math.floor(random() * LEADS)}`;
  const eventTime = timestamp - Math.floor(random() * random() * 6 * 3_600_000); // some hours late
  const base = { eventId: `evt-${i}`, leadId, eventTime };
  const r = random();
  if (r < 0.45) {
    const path = pick(PATHS);
    const record = {
      ...base,
      url: `https://www.example.com${path}?utm_source=newsletter&utm_campaign=c${i % 40}`,
      path,
      referrer: random() < 0.5 ? 'https://www.google.com/' : null,
      userAgent: random() < 0.03 ? BOT : pick(BROWSERS),
      sessionId: `s-${(i % 977).toString(36)}`,
      durationSeconds: Math.floor(random() * 300),
    };
    return { topic: 'engagement.web-visit.v1', leadId, record, timestamp };
  }
  if (r < 0.7) {
    const a = random();
    const action = a < 0.6 ? 'OPEN' : a < 0.998 ? 'CLICK' : 'UNSUBSCRIBE';
    const record = {
      ...base,
      action,
      campaignId: `cmp-${i % 30}`,
      messageId: `msg-${i}`,
      deliveredAt: eventTime - (random() < 0.15 ? 2_000 : 3_600_000),
      userAgent: random() < 0.05 ? PROXY : pick(BROWSERS),
      linkUrl: action === 'CLICK' ? 'https://www.example.com/webinar/register' : null,
    };
    return { topic: 'engagement.email.v1', leadId, record, timestamp };
  }
  if (r < 0.945) {
    const record = {
      ...base,
      accountId: `acct-${leadId}`,
      action: pick(TRIAL),
      feature: 'reports',
      quantity: null,
    };
    return { topic: 'product.trial-activity.v1', leadId, record, timestamp };
  }
  if (r < 0.975) {
    const record = {
      ...base,
      jobTitle: 'Head of Growth',
      seniority: pick(['IC', 'MANAGER', 'DIRECTOR', 'VP', 'CXO']),
      companySize: Math.floor(random() * 10_000),
      industry: pick(['software', 'retail', 'fintech']),
      country: pick(['US', 'DE', 'BR']),
    };
    return { topic: 'lead.profile.v1', leadId, record, timestamp };
  }
  if (r < 0.995) {
    const ok = random() < 0.7;
    const record = {
      ...base,
      verdict: pick(['ACCEPTED', 'ACCEPTED', 'REJECTED', 'REOPENED']),
      bant: { budget: ok, authority: ok, need: true, timeline: ok },
      reason: null,
    };
    return { topic: 'sales.qualification.v1', leadId, record, timestamp };
  }
  const won = random() < 0.3;
  const record = {
    ...base,
    result: won ? 'WON' : 'LOST',
    opportunityId: `opp-${i}`,
    amount: won ? 12_000 : null,
    currency: won ? 'EUR' : null,
    reason: null,
  };
  return { topic: 'lead.outcome.v1', leadId, record, timestamp };
}

// BENCH_REPLAY_DIR keeps the archive between runs (for profiling the replay alone).
const kept = process.env.BENCH_REPLAY_DIR;
const dir = kept ?? mkdtempSync(join(tmpdir(), 'leadscorer-bench-replay-'));
try {
  const t0 = Date.now();
  if (listArchive(dir).size === 0) {
    const messages: SeedMessage[] = [];
    for (let i = 0; i < EVENTS; i++) messages.push(message(i));
    await writeArchive(dir, catalogue, messages, {
      partitions: 6,
      codec: CODECS_OK(CODEC),
      recordsPerFile: 50_000,
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
