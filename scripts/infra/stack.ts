import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type InfraConfig, kafkaBrokers, registryUrl } from './config.ts';
import { kafkaAnswers, kafkaProcess, startKafka, waitForKafka } from './kafka.ts';
import { describeTaken, portFree } from './ports.ts';
import { type ManagedProcess, runningPid, stop, tail } from './process.ts';
import { redisAnswers, redisProcess, startRedis, waitForRedis } from './redis.ts';
import { registryAnswers, registryProcess, startRegistry, waitForRegistry } from './registry.ts';

export interface StackEndpoints {
  kafkaBrokers: string;
  registryUrl: string;
  redisUrl: string;
}

export function endpoints(cfg: InfraConfig): StackEndpoints {
  return { kafkaBrokers: kafkaBrokers(cfg), registryUrl: registryUrl(cfg), redisUrl: cfg.redisUrl };
}

/**
 * Brings the stack up and waits until every part answers. Idempotent: a part that already
 * answers is left alone (whoever started it), a part that does not is started. A port that a
 * part would need but another program holds (one that does not answer as that part) is refused
 * before anything starts. `started` receives the names of the parts this call started, so a
 * caller that fails later can stop exactly those.
 */
export async function up(
  cfg: InfraConfig,
  log: (line: string) => void = console.log,
  started: string[] = [],
): Promise<StackEndpoints> {
  mkdirSync(cfg.infraDir, { recursive: true });
  const t0 = Date.now();
  const plan = {
    kafka: await needsStart(kafkaProcess(cfg), () => kafkaAnswers(cfg)),
    registry: await needsStart(registryProcess(cfg), () => registryAnswers(cfg)),
    redis: await needsStart(redisProcess(cfg), () => redisAnswers(cfg.redisUrl)),
  };
  await refuseTakenPorts(cfg, plan);
  const waits: Promise<void>[] = [];
  if (plan.kafka !== 'answers') {
    if (plan.kafka === 'start') {
      log(`[infra] starting Kafka ${cfg.kafka.version}, pid ${startKafka(cfg)}`);
      started.push('kafka');
    }
    waits.push(waitForKafka(cfg));
  }
  if (plan.registry === 'start') {
    log(`[infra] starting Apicurio Registry ${cfg.registry.version}, pid ${startRegistry(cfg)}`);
    started.push('registry');
  }
  // Always (re)assert the registry's compatibility level: cheap, and a registry someone else
  // started must still enforce BACKWARD for our compatibility gate to mean anything.
  waits.push(waitForRegistry(cfg));
  if (plan.redis !== 'answers') {
    if (plan.redis === 'start') {
      log(`[infra] starting redis-server, pid ${startRedis(cfg)}`);
      started.push('redis');
    }
    waits.push(waitForRedis(cfg));
  }
  await Promise.all(waits);
  const ep = endpoints(cfg);
  writeFileSync(
    join(cfg.infraDir, 'stack.env'),
    `KAFKA_BROKERS=${ep.kafkaBrokers}\nSCHEMA_REGISTRY_URL=${ep.registryUrl}\nREDIS_URL=${ep.redisUrl}\n`,
  );
  log(`[infra] stack ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return ep;
}

/** `answers`: leave it; `ours`: our process is starting, wait for it; `start`: start it. */
async function needsStart(
  p: ManagedProcess,
  answers: () => Promise<boolean>,
): Promise<'answers' | 'ours' | 'start'> {
  if (await answers().catch(() => false)) return 'answers';
  return runningPid(p) === undefined ? 'start' : 'ours';
}

async function refuseTakenPorts(
  cfg: InfraConfig,
  plan: Record<'kafka' | 'registry' | 'redis', string>,
): Promise<void> {
  const wanted: [number, string][] = [];
  if (plan.kafka === 'start') {
    wanted.push([cfg.kafka.port, 'Kafka'], [cfg.kafka.controllerPort, 'Kafka controller']);
  }
  if (plan.registry === 'start') wanted.push([cfg.registry.port, 'schema registry']);
  const redis = new URL(cfg.redisUrl);
  if (plan.redis === 'start' && ['127.0.0.1', 'localhost', '[::1]'].includes(redis.hostname)) {
    wanted.push([Number(redis.port || 6379), 'Redis']);
  }
  const taken: string[] = [];
  for (const [port, what] of wanted) {
    if (!(await portFree(port)))
      taken.push(`  ${describeTaken(port, what)}, which does not answer as ${what}`);
  }
  if (taken.length === 0) return;
  throw new Error(
    [
      'cannot start the local stack:',
      ...taken,
      'Stop that program, or give the stack other ports: KAFKA_PORT, KAFKA_CONTROLLER_PORT,',
      'SCHEMA_REGISTRY_PORT, REDIS_URL (npm run infra -- --help). Nothing was started.',
    ].join('\n'),
  );
}

/** Stops the named parts of this folder's stack (the names `up` reported as started). */
export async function stopParts(
  cfg: InfraConfig,
  names: string[],
  log: (line: string) => void = console.log,
) {
  for (const p of PARTS(cfg).filter((x) => names.includes(x.name))) {
    log(`[infra] ${p.name}: ${(await stop(p)) ? 'stopped' : 'was not running'}`);
  }
}

const PARTS = (cfg: InfraConfig): ManagedProcess[] => [
  kafkaProcess(cfg),
  registryProcess(cfg),
  redisProcess(cfg),
];

/** Stops every process this folder's pid files name, and nothing else. */
export async function down(cfg: InfraConfig, log: (line: string) => void = console.log): Promise<void> {
  const results = await Promise.all(PARTS(cfg).map(async (p) => [p.name, await stop(p)] as const));
  for (const [name, wasRunning] of results)
    log(`[infra] ${name}: ${wasRunning ? 'stopped' : 'was not running'}`);
}

export async function reset(cfg: InfraConfig, log: (line: string) => void = console.log): Promise<void> {
  await down(cfg, log);
  rmSync(join(cfg.infraDir, 'data'), { recursive: true, force: true });
  log('[infra] data removed (topics, registered schemas, our Redis)');
}

export interface PartStatus {
  name: string;
  endpoint: string;
  answers: boolean;
  /** Our pid when we started it; undefined when it runs elsewhere or not at all. */
  pid: number | undefined;
}

export async function status(cfg: InfraConfig): Promise<PartStatus[]> {
  const ep = endpoints(cfg);
  return [
    {
      name: 'kafka',
      endpoint: ep.kafkaBrokers,
      answers: await kafkaAnswers(cfg),
      pid: runningPid(kafkaProcess(cfg)),
    },
    {
      name: 'registry',
      endpoint: ep.registryUrl,
      answers: await registryAnswers(cfg).catch(() => false),
      pid: runningPid(registryProcess(cfg)),
    },
    {
      name: 'redis',
      endpoint: ep.redisUrl,
      answers: await redisAnswers(ep.redisUrl),
      pid: runningPid(redisProcess(cfg)),
    },
  ];
}

export function logs(cfg: InfraConfig, name: string | undefined, lines: number): string {
  const parts = PARTS(cfg).filter((p) => name === undefined || p.name === name);
  if (parts.length === 0) throw new Error(`unknown part "${name}": one of kafka, registry, redis`);
  return parts.map((p) => `==> ${p.logFile} <==\n${tail(p.logFile, lines)}`).join('\n\n');
}
