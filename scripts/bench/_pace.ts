import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadModel } from '@leadscorer/engine';
import { HISTORY_LENGTH, RedisScoreStore, SHARDS } from '@leadscorer/store';
import { evalStats } from './ceilings.ts';
import { startDedicatedRedis } from './redis-server.ts';
import { applyItems, ItemMaker, takeItems } from './store-load.ts';
import { Workload } from './workload.ts';
const model = loadModel(readFileSync('models/default.yaml', 'utf8'), 'x');
const r = await startDedicatedRedis();
try {
  const now = Date.now();
  const maker = new ItemMaker(model);
  const store = new RedisScoreStore({ client: r.client, keys: { prefix: 'p', shards: SHARDS }, model, historyLength: HISTORY_LENGTH });
  await applyItems(takeItems(new Workload({ seed: 1, events: 1000000, leads: 100000, now, spanMs: 7 * 86400000, tag: 'p' }), maker, 1000000), { store, batch: 5000, inflight: 2, now, ackOutbox: true });
  const live = new Workload({ seed: 5, events: 1e6, leads: 100000, now, spanMs: 60000, tag: 'pl', leadTag: 'p' });
  for (const pace of [0, 1, 5, 0]) {
    const items = takeItems(live, maker, 2000);
    await r.client.config('RESETSTAT');
    for (const it of items) { await store.applyBatch([it], now); if (pace) await sleep(pace); }
    const s = evalStats(await r.client.info('commandstats'));
    console.log('pace', pace, 'ms: usec/call', (s.usec / s.calls).toFixed(0));
  }
} finally { await r.stop(); }
