import { readFileSync } from 'node:fs';
import { loadModel } from '@leadscorer/engine';
import { HISTORY_LENGTH, RedisScoreStore, registerScripts, SHARDS } from '@leadscorer/store';
import { startDedicatedRedis } from './redis-server.ts';
import { applyItems, ItemMaker, takeItems } from './store-load.ts';
import { Workload } from './workload.ts';

const model = loadModel(readFileSync('models/default.yaml', 'utf8'), 'models/default.yaml');
const r = await startDedicatedRedis();
try {
  const store = new RedisScoreStore({
    client: registerScripts(r.client),
    keys: { prefix: 'b', shards: SHARDS },
    model,
    historyLength: HISTORY_LENGTH,
  });
  const now = Date.now();
  const N = Number(process.argv[2] ?? 100000);
  const L = Number(process.argv[3] ?? 10000);
  const batch = Number(process.argv[4] ?? 500);
  const inflight = Number(process.argv[5] ?? 4);
  const w = new Workload({ seed: 1, events: N, leads: L, now, spanMs: 7 * 86400000, tag: 'x' });
  const t = performance.now();
  const items = takeItems(w, new ItemMaker(model), N);
  console.log('evaluate', N / ((performance.now() - t) / 1000));
  const m0 = Number((await r.info('memory')).used_memory);
  const res = await applyItems(items, { store, batch, inflight, now, ackOutbox: true });
  console.log(res, res.events / res.seconds);
  const m1 = Number((await r.info('memory')).used_memory);
  console.log('bytes/lead', ((m1 - m0) / (await r.client.dbsize())) * 2, 'dbsize', await r.client.dbsize());
  console.log(await r.client.info('commandstats'));
  console.log(
    await r.client.memory('USAGE', (await r.client.scan(0, 'MATCH', 'b:*:l:*', 'COUNT', 1000))[1][0]!),
  );
} finally {
  await r.stop();
}
