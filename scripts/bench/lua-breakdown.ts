import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadModel, type Model } from '@leadscorer/engine';
import {
  type ApplyItem,
  buildLibrary,
  compileLuaModel,
  HISTORY_LENGTH,
  RedisScoreStore,
  SHARDS,
} from '@leadscorer/store';
import { evalStats } from './ceilings.ts';
import { type DedicatedRedis, startDedicatedRedis } from './redis-server.ts';
import { applyItems, ItemMaker, takeItems } from './store-load.ts';
import { Workload } from './workload.ts';

/**
 * Where apply-events spends its time inside Redis: the production function library against copies
 * with one step cut out (in memory only, loaded under the same library and function names so the
 * store calls them unchanged; the library's files are untouched), on a dedicated redis-server.
 * The difference to the full script is that step's cost. Two regimes:
 *   drain: big batches (~80 events per script call) building state from nothing;
 *   live:  one event per call against leads that already have ~10 events of state.
 *   node scripts/bench/lua-breakdown.ts [--events 100000] [--leads 10000] [--pace-ms 0]
 */
const ROOT = resolve(import.meta.dirname, '../..');

type Cut = [string, string];
const CUTS: Record<string, Cut[]> = {
  'full script': [],
  'without reschedule (next_change_at + ZADD/ZREM)': [
    ['reschedule(KEYS[2 * lead_ids[i][2]], lead_ids[i][1], lead.s, now, M, lead.scores)', ''],
  ],
  'without saving state (so every load is a new lead)': [['save_lead(KEYS[base + i], lead, now, M)', '']],
  'without apply_effect (scoring, stage, transition)': [
    [
      'local outcome, tr, _, scores = apply_effect(lead.s, ev[4], now, M)',
      "local outcome, tr, _, scores = 'applied', nil, nil, nil",
    ],
  ],
  'decoding only (events JSON, no per-event work)': [
    ['for n, ev in ipairs(arg.e) do', 'for n, ev in ipairs({}) do'],
  ],
};

function variant(model: Model, cuts: Cut[]): string | undefined {
  let src = buildLibrary(compileLuaModel(model)).source;
  for (const [from, to] of cuts) {
    if (!src.includes(from)) return undefined;
    src = src.replace(from, to);
  }
  return src;
}

/** The same library name with an apply function that does nothing: the FCALL floor. */
function emptyLibrary(model: Model): string {
  const lib = buildLibrary(compileLuaModel(model));
  return `#!lua name=${lib.name}\nredis.register_function('${lib.functions.apply}', function(KEYS, ARGV) return {''} end)`;
}

async function measure(
  redis: DedicatedRedis,
  model: Model,
  source: string,
  items: ApplyItem[],
  batch: number,
  now: number,
  paceMs = 0,
): Promise<{ usecPerCall: number; usecPerEvent: number; eventsPerCall: number }> {
  const store = new RedisScoreStore({
    client: redis.client,
    keys: { prefix: 'bd', shards: SHARDS },
    model,
    historyLength: HISTORY_LENGTH,
  });
  // The store loads the real library on its first call; the variant then replaces it in place.
  await store.applyBatch(items.slice(0, 1), now);
  await redis.client.call('FUNCTION', 'LOAD', 'REPLACE', source);
  await redis.client.config('RESETSTAT');
  let applied = items.length - 1;
  if (paceMs > 0) {
    // Calls apart in time, as at live rates: Redis idles in between and starts each call cold.
    for (const item of items.slice(1)) {
      await store.applyBatch([item], now);
      await sleep(paceMs);
    }
  } else {
    const r = await applyItems(items.slice(1), { store, batch, inflight: 2, now, ackOutbox: false });
    applied = r.events;
  }
  const s = evalStats(await redis.client.info('commandstats'));
  return { usecPerCall: s.usec / s.calls, usecPerEvent: s.usec / applied, eventsPerCall: applied / s.calls };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '100000' },
      leads: { type: 'string', default: '10000' },
      'pace-ms': { type: 'string', default: '0' },
    },
  });
  const paceMs = Number(values['pace-ms']);
  const events = Number(values.events);
  const leads = Number(values.leads);
  const file = join(ROOT, 'models/default.yaml');
  const model = loadModel(readFileSync(file, 'utf8'), file);
  const now = Date.now();
  const redis = await startDedicatedRedis();
  try {
    // One maker for both regimes: live events must carry offsets above the drained leads'
    // watermarks, or the script takes its cheap "already applied" path and measures nothing.
    const maker = new ItemMaker(model);
    const drainItems = takeItems(
      new Workload({ seed: 1, events, leads, now, spanMs: 7 * 86_400_000, tag: 'bd' }),
      maker,
      events,
    );
    console.log(`drain regime: ${events} events over ${leads} leads from an empty Redis, batches of 5000`);
    for (const [name, cuts] of Object.entries(CUTS)) {
      const lua = variant(model, cuts);
      if (!lua) {
        console.log(`  ${name}: (script changed, cut not found)`);
        continue;
      }
      await redis.client.flushall();
      const m = await measure(redis, model, lua, drainItems, 5_000, now);
      console.log(
        `  ${name.padEnd(56)} ${m.usecPerEvent.toFixed(1).padStart(6)} µs/event  ${m.usecPerCall.toFixed(0).padStart(6)} µs/call  (${m.eventsPerCall.toFixed(1)} events/call)`,
      );
    }
    console.log(
      `live regime: one event per call${paceMs > 0 ? `, ${paceMs} ms apart` : ''}, leads with state (the drain workload applied first)`,
    );
    const live = new Workload({
      seed: 5,
      events: 1e6,
      leads,
      now,
      spanMs: 60_000,
      tag: 'bdl',
      leadTag: 'bd',
    });
    for (const [name, cuts] of Object.entries({ ...CUTS, 'empty function (FCALL floor)': [] as Cut[] })) {
      const lua = name.startsWith('empty') ? emptyLibrary(model) : variant(model, cuts);
      if (!lua) continue;
      await redis.client.flushall();
      await measure(redis, model, variant(model, [])!, drainItems, 5_000, now);
      // Best of three: single calls are short enough for a busy neighbour to double one round.
      let best = Number.POSITIVE_INFINITY;
      for (let round = 0; round < 3; round++) {
        const m = await measure(
          redis,
          model,
          lua,
          takeItems(live, maker, paceMs > 0 ? 300 : 1_000),
          1,
          now,
          paceMs,
        );
        best = Math.min(best, m.usecPerCall);
      }
      console.log(`  ${name.padEnd(56)} ${best.toFixed(0).padStart(6)} µs/call`);
    }
  } finally {
    await redis.stop();
  }
}

await main();
