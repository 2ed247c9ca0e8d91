import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  AVRO_SCHEMAS,
  createCatalogue,
  createRegistryAdmin,
  createRegistryClient,
  createSerde,
  ensureTopics,
  registerSchemas,
} from '@leadscorer/contracts';
import { Kafka, logLevel } from 'kafkajs';
import { PERSONAS } from './demo/personas.ts';
import { printStageChanges } from './demo/printer.ts';
import { Simulator } from './demo/simulator.ts';
import { infraConfigFromEnv } from './infra/config.ts';
import { down, up } from './infra/stack.ts';

const USAGE = `Usage: npm start [-- options]

Starts the whole lead scorer on this machine: Kafka, the schema registry and Redis (if not
running), topics and schemas, every service, and a simulator with personas. Stage changes are
printed as they happen. Ctrl-C stops everything this command started.

Options:
  --rate N          background visits per second from anonymous leads (default 5, 0 = none)
  --duration S      stop after S seconds (default 0 = run until Ctrl-C)
  --personas LIST   comma-separated personas to play (default: all), from:
${PERSONAS.map((p) => `                      ${p.name.padEnd(16)} ${p.description}`).join('\n')}
  --real-time       use the default model's half-lives (days) instead of the demo's seconds
  --keep-infra      leave Kafka, the registry and Redis running on exit
  -h, --help        this text`;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// Ops ports: every service's /metrics, /healthz, /readyz (the read API's too).
const SERVICES: { name: string; port: number }[] = [
  { name: 'web-visits', port: 9464 },
  { name: 'email-engagement', port: 9465 },
  { name: 'trial-activity', port: 9466 },
  { name: 'lead-context', port: 9467 },
  { name: 'outbox-relay', port: 9468 },
  { name: 'sales-alerts', port: 9469 },
  { name: 'fading-leads', port: 9470 },
  { name: 'lead-api', port: 8080 },
];

/**
 * The demo model: the default model with half-lives of seconds instead of days, so interest
 * visibly fades within the demo. Everything else (rules, thresholds) is the default.
 */
function demoModel(infraDir: string): string {
  const file = join(infraDir, 'demo', 'model.yaml');
  mkdirSync(dirname(file), { recursive: true });
  const text = readFileSync(join(ROOT, 'models/default.yaml'), 'utf8')
    .replace(/engagement: \{ halfLife: [^}]+\}/, 'engagement: { halfLife: 120s }')
    .replace(/product: \{ halfLife: [^}]+\}/, 'product: { halfLife: 60s }')
    .replace(/^version: (.*)$/m, 'version: $1-demo');
  writeFileSync(file, text);
  return file;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '5' },
      duration: { type: 'string', default: '0' },
      personas: { type: 'string' },
      'real-time': { type: 'boolean', default: false },
      'keep-infra': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const rate = Number(values.rate);
  const duration = Number(values.duration);
  if (!Number.isFinite(rate) || rate < 0 || rate > 10_000)
    throw new Error(`--rate must be 0-10000, got ${values.rate}`);
  if (!Number.isFinite(duration) || duration < 0)
    throw new Error(`--duration must be >= 0 seconds, got ${values.duration}`);
  const wanted = values.personas?.split(',').map((s) => s.trim());
  const unknown = wanted?.filter((w) => !PERSONAS.some((p) => p.name === w)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown persona(s): ${unknown.join(', ')} (see --help)`);
  const personas = wanted ? PERSONAS.filter((p) => wanted.includes(p.name)) : PERSONAS;

  const cfg = infraConfigFromEnv(process.env, ROOT);
  const started: string[] = [];
  const ep = await up(cfg, (line) => {
    if (line.includes('starting')) started.push(line);
    console.log(line);
  });

  // Provision what a deploy step would: topics and schemas.
  const catalogue = createCatalogue();
  const kafka = new Kafka({
    clientId: 'lead-scorer-demo',
    brokers: [ep.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, catalogue.specs());
  await admin.disconnect();
  await registerSchemas(
    createRegistryAdmin({ url: ep.registryUrl }),
    catalogue.topics.map((t) => ({ subject: t.subject, schema: JSON.stringify(AVRO_SCHEMAS[t.name]) })),
  );
  console.log(`[start] ${catalogue.specs().length} topics and ${catalogue.topics.length} schemas in place`);

  // A local webhook receiver standing in for the sales team's alerting tool.
  const { createServer } = await import('node:http');
  const alerts: string[] = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      try {
        const r = JSON.parse(body) as { leadId: string; toStage: string };
        alerts.push(`${r.leadId} → ${r.toStage}`);
        console.log(`          ✉ sales alert webhook: ${r.leadId} is now ${r.toStage.toUpperCase()}`);
      } catch {}
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as import('node:net').AddressInfo).port}/alerts`;

  const modelFile = values['real-time'] ? join(ROOT, 'models/default.yaml') : demoModel(cfg.infraDir);
  const logDir = join(cfg.infraDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const serviceEnv = {
    ...process.env,
    KAFKA_BROKERS: ep.kafkaBrokers,
    SCHEMA_REGISTRY_URL: ep.registryUrl,
    REDIS_URL: ep.redisUrl,
    MODEL_FILE: modelFile,
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ENSURE_TOPICS: 'false',
    RELAY_MIN_AGE_MS: '2000',
    KAFKA_SESSION_TIMEOUT_MS: '10000',
    WEBHOOK_URL: hookUrl,
    WEBHOOK_SECRET: randomBytes(24).toString('hex'),
    ALERT_STAGES: 'mql,sql,pql,cql',
    NODE_OPTIONS: '--disable-warning=TimeoutNegativeWarning',
  };
  const children: ChildProcess[] = SERVICES.map(({ name, port }) => {
    const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, [join(ROOT, 'services', name, 'src/main.ts')], {
      cwd: ROOT,
      env: { ...serviceEnv, HTTP_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.on('exit', (code, signal) => {
      if (!stopping)
        console.error(`[start] ${name} exited (${signal ?? code}); its log: ${join(logDir, `${name}.log`)}`);
    });
    return child;
  });
  let stopping = false;

  // Wait until every service says it is ready.
  const deadline = Date.now() + 90_000;
  for (const { name, port } of SERVICES) {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline)
        throw new Error(`${name} did not become ready; see ${join(logDir, `${name}.log`)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  const serde = createSerde({ registry: createRegistryClient(ep.registryUrl), catalogue });
  const printer = kafka.consumer({ groupId: `lead-scorer-demo-printer-${randomBytes(4).toString('hex')}` });
  const joined = new Promise<void>((r) => printer.on(printer.events.GROUP_JOIN, () => r()));
  await printStageChanges(printer, catalogue.get('lead.stage-changed.v1').topic, serde, (l) =>
    console.log(l),
  );
  await joined;

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const runId = randomBytes(2).toString('hex');
  const sim = new Simulator({ serde, producer, personas, rate, runId });
  const example = `${(personas.find((p) => p.name === 'trial-user') ?? personas[0])?.name ?? 'trial-user'}-${runId}`;
  console.log(`
Lead scorer is running (model ${values['real-time'] ? 'default' : 'default with demo half-lives: engagement 120s, product 60s'}).
  Kafka ${ep.kafkaBrokers}   registry ${ep.registryUrl}   Redis ${ep.redisUrl}
  Metrics    ${SERVICES.map((s) => `http://127.0.0.1:${s.port}/metrics`).join('\n             ')}
  Read API   http://127.0.0.1:8080/leads/${example}   (OpenAPI: http://127.0.0.1:8080/openapi.json)
  Logs       ${logDir}/<service>.log
Personas: ${personas.map((p) => p.name).join(', ')}; background traffic ${rate}/s. Ctrl-C stops.

Stage changes as they happen:`);
  sim.start();

  await new Promise<void>((resolveStop) => {
    process.once('SIGINT', resolveStop);
    process.once('SIGTERM', resolveStop);
    if (duration > 0) setTimeout(resolveStop, duration * 1000).unref();
  });
  stopping = true;
  console.log(
    `\n[start] stopping (${sim.eventsSent} events sent, ${alerts.length} sales alerts delivered)...`,
  );
  sim.stop();
  await producer.disconnect();
  await printer.disconnect();
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((r) => {
          if (c.exitCode !== null || c.signalCode !== null) return r();
          c.once('exit', () => r());
          c.kill('SIGTERM');
        }),
    ),
  );
  hook.close();
  if (started.length > 0 && !values['keep-infra']) await down(cfg);
  else console.log('[start] infrastructure left running: npm run infra -- down stops it');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[start] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
