import { readFileSync } from 'node:fs';
import { loadModel } from '@leadscorer/engine';
import { HISTORY_LENGTH, RedisScoreStore, type ScriptClient, SHARDS, scriptInfo } from '@leadscorer/store';
import { Redis } from 'ioredis';
import { startDedicatedRedis } from './redis-server.ts';
import { applyItems, ItemMaker, takeItems } from './store-load.ts';
import { Workload } from './workload.ts';

const model = loadModel(readFileSync('models/default.yaml', 'utf8'), 'models/default.yaml');
const r = await startDedicatedRedis();
const src = scriptInfo('applyEvents').source;
const variants: Record<string, string> = {
  base: src,
  noResched: src.replace('reschedule(KEYS[2], id, lead.s, now, M)', ''),
  noSave: src.replace('save_lead(KEYS[2 + 2 * i - 1], lead)', ''),
  decodeOnly: src.replace('for _, ev in ipairs(events) do', 'for _, ev in ipairs({}) do'),
  noModel: src.replace(
    'local M = index_model(cjson.decode(ARGV[2]))',
    'local M = index_model(cjson.decode(ARGV[2]))',
  ),
  noApply: src.replace(
    'local outcome, tr = apply_effect(lead.s, ev.e, now, M)',
    "local outcome, tr = 'applied', nil",
  ),
};
try {
  const now = Date.now();
  const N = Number(process.argv[2] ?? 50000);
  const L = Number(process.argv[3] ?? 5000);
  const w = new Workload({ seed: 1, events: N, leads: L, now, spanMs: 7 * 86400000, tag: 'x' });
  const items = takeItems(w, new ItemMaker(model), N);
  for (const [name, lua] of Object.entries(variants)) {
    await r.client.flushall();
    await r.client.config('RESETSTAT');
    const c = new Redis(r.url);
    c.defineCommand('applyEvents', { lua });
    const store = new RedisScoreStore({
      client: c as unknown as ScriptClient,
      keys: { prefix: 'b', shards: SHARDS },
      model,
      historyLength: HISTORY_LENGTH,
    });
    const res = await applyItems(items, { store, batch: 500, inflight: 4, now, ackOutbox: true });
    const st = (await r.client.info('commandstats')).split('\n').find((l) => l.startsWith('cmdstat_evalsha'));
    console.log(name, Math.round(res.events / res.seconds), st);
    c.disconnect();
  }
} finally {
  await r.stop();
}
