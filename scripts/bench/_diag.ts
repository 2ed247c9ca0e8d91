import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { createDeployment, Encoder } from './deployment.ts';
import { runLatency } from './latency.ts';
import { startDedicatedRedis } from './redis-server.ts';
import { spawnServices, waitReady } from './services.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const redis = await startDedicatedRedis();
const id = `d${randomBytes(3).toString('hex')}`;
const d = await createDeployment({
  prefix: `bench-${id}.`,
  brokers: ['127.0.0.1:19092'],
  registryUrl: 'http://127.0.0.1:18081/apis/ccompat/v7',
});
const procs = await spawnServices({
  root: ROOT,
  logDir: join(ROOT, '.infra/bench/diag'),
  group: (s) => d.group(s),
  env: {
    KAFKA_BROKERS: '127.0.0.1:19092',
    SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7',
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'bench',
    TOPIC_PREFIX: d.prefix,
    MODEL_FILE: join(ROOT, 'models/default.yaml'),
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ENSURE_TOPICS: 'false',
    ...(process.env.EXTRA ? JSON.parse(process.env.EXTRA) : {}),
  },
});
try {
  await waitReady(procs, 60000);
  const producer = d.kafka.producer();
  await producer.connect();
  const r = await runLatency(d, new Encoder(d), producer, {
    rates: (process.env.RATES ?? '1000').split(',').map(Number),
    seconds: 10,
    tag: id,
    leadTag: id,
    leads: 5000,
    procs,
    log: console.log,
  });
  console.log(JSON.stringify(r));
  for (const p of procs) {
    const m = await p.metrics();
    console.log(
      p.name,
      m
        .split('\n')
        .filter(
          (l) =>
            l.startsWith('leadscorer_event_to_applied_seconds_bucket') ||
            l.startsWith('leadscorer_redis_script_seconds_bucket'),
        )
        .map((l) => l.replace(/service="[^"]+",?/, ''))
        .join('\n'),
    );
  }
  await producer.disconnect();
} finally {
  await Promise.all(procs.map((p) => p.stop()));
  await d.cleanup();
  await redis.stop();
}
