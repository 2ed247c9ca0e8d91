import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { newApiKey } from './api-key.ts';
import { acquireStartLock } from './demo/lock.ts';
import { prepareModel } from './demo/model.ts';
import { PERSONAS } from './demo/personas.ts';
import { printStageChanges } from './demo/printer.ts';
import { ServiceExited, ServiceGroup } from './demo/services.ts';
import { Simulator } from './demo/simulator.ts';
import { resetIfModelChanged } from './demo/state.ts';
import { infraConfigFromEnv } from './infra/config.ts';
import { describeTaken, portFree } from './infra/ports.ts';
import { stopParts, up } from './infra/stack.ts';

const USAGE = `Usage: npm start [-- options]

Starts the whole lead scorer on this machine: Kafka, the schema registry and Redis (if not
running), topics and schemas, every service, and a simulator with personas. Stage changes are
printed as they happen. Ctrl-C stops everything this command started.

It checks the model first and refuses while another npm start runs or a service port is taken.
If a service exits, it prints why (its fatal log line) and stops everything it started.

Options:
  --model FILE      the scoring model (default models/default.yaml); the demo runs a copy of it
                    with half-lives divided by 10080 (a week becomes a minute)
  --rate N          background visits per second from anonymous leads (default 5, 0 = none)
  --duration S      stop after S seconds (default 0 = run until Ctrl-C)
  --personas LIST   comma-separated personas to play (default: all), from:
${PERSONAS.map((p) => `                      ${p.name.padEnd(16)} ${p.description}`).join('\n')}
  --real-time       run the model as it is (half-lives of days) instead of the demo copy
  --keep-infra      leave Kafka, the registry and Redis running on exit
  -h, --help        this text

Environment: the infra variables of \`npm run infra -- --help\` (INFRA_DIR, KAFKA_PORT, ...);
TOPIC_PREFIX and REDIS_KEY_PREFIX reach the topics and the services.`;

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

/** Steps that undo what start-up did, run in reverse on every way out. */
type Undo = () => Promise<unknown> | unknown;

/** Ctrl-C or SIGTERM: during start-up it aborts the step in hand, later it ends the run. */
let onSignal: () => void = () => {};
const signalled = new Promise<'signal'>((r) => {
  onSignal = () => r('signal');
});

function options() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      rate: { type: 'string', default: '5' },
      duration: { type: 'string', default: '0' },
      personas: { type: 'string' },
      'real-time': { type: 'boolean', default: false },
      'keep-infra': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
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
  // npm runs scripts in the project folder; a relative --model is meant from where npm was run.
  const model = values.model
    ? { path: resolve(process.env.INIT_CWD ?? process.cwd(), values.model), label: values.model }
    : { path: join(ROOT, 'models/default.yaml'), label: 'models/default.yaml' };
  return { ...values, rate, duration, personas, model };
}

/** Aborts start-up when a signal arrives first. */
async function step<T>(work: Promise<T>): Promise<T> {
  const r = await Promise.race([work, signalled]);
  if (r === 'signal') throw new Error('interrupted during start-up');
  return r as T;
}

async function run(undo: Undo[]): Promise<number> {
  const opts = options();
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const cfg = infraConfigFromEnv(process.env, ROOT);

  // 1. The model, before anything starts: a slip is reported at the user's file and line.
  const model = prepareModel(
    opts.model,
    opts['real-time'] ? undefined : join(cfg.infraDir, 'demo', 'model.yaml'),
  );

  // 2. One instance: the lock (this folder), then the services' ports (this machine).
  undo.push(acquireStartLock(join(cfg.infraDir, 'run', 'start.pid')));
  const taken: string[] = [];
  for (const s of SERVICES) if (!(await portFree(s.port))) taken.push(`  ${describeTaken(s.port, s.name)}`);
  if (taken.length > 0) {
    throw new Error(
      `cannot start the services:\n${taken.join('\n')}\nIs another npm start or docker compose running? Stop it first. Nothing was started.`,
    );
  }

  // 3. Infrastructure, topics, schemas (what a deploy step would do).
  const startedParts: string[] = [];
  undo.push(() =>
    startedParts.length > 0 && !opts['keep-infra']
      ? stopParts(cfg, startedParts)
      : console.log('[start] infrastructure left running: npm run infra -- down stops it'),
  );
  const ep = await step(up(cfg, console.log, startedParts));
  const catalogue = createCatalogue({ prefix: process.env.TOPIC_PREFIX ?? '' });
  const kafka = new Kafka({
    clientId: 'lead-scorer-demo',
    brokers: [ep.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await step(admin.connect());
  await step(ensureTopics(admin, catalogue.specs()).finally(() => admin.disconnect()));
  await step(
    registerSchemas(
      createRegistryAdmin({ url: ep.registryUrl }),
      catalogue.topics.map((t) => ({ subject: t.subject, schema: JSON.stringify(AVRO_SCHEMAS[t.name]) })),
    ),
  );
  console.log(`[start] ${catalogue.specs().length} topics and ${catalogue.topics.length} schemas in place`);

  // A local webhook receiver standing in for the sales team's alerting tool.
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
  undo.push(() => new Promise((r) => hook.close(r)));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;

  // The demo's state belongs to the model it was scored with: another model starts it over.
  const reset = await step(
    resetIfModelChanged(ep.redisUrl, process.env.REDIS_KEY_PREFIX ?? 'ls', readFileSync(model.file, 'utf8')),
  );
  if (reset) console.log(`[start] ${reset}`);

  // 4. The services: the first to exit ends the start at once, with its reason.
  const logDir = join(cfg.infraDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const apiKey = newApiKey();
  const serviceEnv = {
    ...process.env,
    KAFKA_BROKERS: ep.kafkaBrokers,
    SCHEMA_REGISTRY_URL: ep.registryUrl,
    REDIS_URL: ep.redisUrl,
    MODEL_FILE: model.file,
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ENSURE_TOPICS: 'false',
    RELAY_MIN_AGE_MS: '2000',
    KAFKA_SESSION_TIMEOUT_MS: '10000',
    WEBHOOK_URL: hookUrl,
    WEBHOOK_SECRET: randomBytes(24).toString('hex'),
    // The read API wants a key: one for this run, printed in the banner.
    API_KEY_HASHES: apiKey.hash,
    ALERT_STAGES: 'mql,sql,pql,cql',
    NODE_OPTIONS: '--disable-warning=TimeoutNegativeWarning',
  };
  const services = new ServiceGroup(
    SERVICES.map(({ name, port }) => ({
      name,
      port,
      command: process.execPath,
      args: [join(ROOT, 'services', name, 'src/main.ts')],
      env: { ...serviceEnv, HTTP_PORT: String(port) },
      cwd: ROOT,
      logFile: join(logDir, `${name}.log`),
    })),
  );
  undo.push(() => services.stop());
  services.start();
  const readyz = (s: { port: number }) =>
    fetch(`http://127.0.0.1:${s.port}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok);
  await step(services.waitReady(readyz, 90_000)).catch((err: unknown) => {
    throw err instanceof ServiceExited ? err.mapped(model.mapBack) : err;
  });

  // 5. The demo: the printer, the simulator, and the banner.
  const serde = createSerde({ registry: createRegistryClient(ep.registryUrl), catalogue });
  const printer = kafka.consumer({ groupId: `lead-scorer-demo-printer-${randomBytes(4).toString('hex')}` });
  undo.push(() => printer.disconnect());
  const joined = new Promise<void>((r) => printer.on(printer.events.GROUP_JOIN, () => r()));
  await step(
    printStageChanges(printer, catalogue.get('lead.stage-changed.v1').topic, serde, (l) => console.log(l)),
  );
  await step(joined);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  undo.push(() => producer.disconnect());
  await step(producer.connect());
  const runId = randomBytes(2).toString('hex');
  const sim = new Simulator({ serde, producer, personas: opts.personas, rate: opts.rate, runId });
  const example = `${(opts.personas.find((p) => p.name === 'trial-user') ?? opts.personas[0])?.name ?? 'trial-user'}-${runId}`;
  console.log(`
Lead scorer is running (model ${model.version}${opts['real-time'] ? '' : `, demo half-lives: ${model.halfLives}`}).
  Kafka ${ep.kafkaBrokers}   registry ${ep.registryUrl}   Redis ${ep.redisUrl}
  Metrics    ${SERVICES.map((s) => `http://127.0.0.1:${s.port}/metrics`).join('\n             ')}
  Read API   curl -H 'Authorization: Bearer ${apiKey.key}' http://127.0.0.1:8080/leads/${example}
             (a key for this run; OpenAPI: http://127.0.0.1:8080/openapi.json)
  Logs       ${logDir}/<service>.log
Personas: ${opts.personas.map((p) => p.name).join(', ')}; background traffic ${opts.rate}/s. Ctrl-C stops.

Stage changes as they happen:`);
  sim.start();
  undo.push(() =>
    console.log(
      `\n[start] stopping (${sim.eventsSent} events sent, ${alerts.length} sales alerts delivered)...`,
    ),
  );
  undo.push(() => sim.stop());

  const timer = new Promise<'done'>((r) => {
    if (opts.duration > 0) setTimeout(() => r('done'), opts.duration * 1000).unref();
  });
  const end = await Promise.race([signalled, timer, services.firstExit()]);
  if (end instanceof ServiceExited) throw end.mapped(model.mapBack);
  return 0;
}

async function main(): Promise<number> {
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const undo: Undo[] = [];
  let code = 0;
  try {
    code = await run(undo);
  } catch (err) {
    code = 1;
    // Messages only: every failure here is one the user can act on from its text.
    if (err instanceof ServiceExited) {
      console.error(`[start] ${err.service} exited (${err.status}):\n${indent(err.reason)}`);
      console.error(`[start] its log: ${err.logFile}`);
    } else {
      console.error(`[start] ${err instanceof Error ? err.message : String(err)}`);
    }
    if (undo.length > 1) console.error('[start] stopping everything this command started...');
  }
  for (const u of undo.reverse()) {
    try {
      await u();
    } catch (err) {
      console.error(`[start] while stopping: ${(err as Error).message}`);
    }
  }
  return code;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[start] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
