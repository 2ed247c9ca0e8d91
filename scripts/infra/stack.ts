import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type InfraConfig, kafkaBrokers, registryUrl } from './config.ts';
import { kafkaAnswers, kafkaProcess, startKafka, waitForKafka } from './kafka.ts';
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
 * answers is left alone (whoever started it), a part that does not is started.
 */
export async function up(
  cfg: InfraConfig,
  log: (line: string) => void = console.log,
): Promise<StackEndpoints> {
  mkdirSync(cfg.infraDir, { recursive: true });
  const started = Date.now();
  const waits: Promise<void>[] = [];
  if (!(await kafkaAnswers(cfg))) {
    if (runningPid(kafkaProcess(cfg)) === undefined)
      log(`[infra] starting Kafka ${cfg.kafka.version}, pid ${startKafka(cfg)}`);
    waits.push(waitForKafka(cfg));
  }
  if (!(await registryAnswers(cfg).catch(() => false))) {
    if (runningPid(registryProcess(cfg)) === undefined) {
      log(`[infra] starting Apicurio Registry ${cfg.registry.version}, pid ${startRegistry(cfg)}`);
    }
  }
  // Always (re)assert the registry's compatibility level: cheap, and a registry someone else
  // started must still enforce BACKWARD for our compatibility gate to mean anything.
  waits.push(waitForRegistry(cfg));
  if (!(await redisAnswers(cfg.redisUrl))) {
    if (runningPid(redisProcess(cfg)) === undefined)
      log(`[infra] starting redis-server, pid ${startRedis(cfg)}`);
    waits.push(waitForRedis(cfg));
  }
  await Promise.all(waits);
  const ep = endpoints(cfg);
  writeFileSync(
    join(cfg.infraDir, 'stack.env'),
    `KAFKA_BROKERS=${ep.kafkaBrokers}\nSCHEMA_REGISTRY_URL=${ep.registryUrl}\nREDIS_URL=${ep.redisUrl}\n`,
  );
  log(`[infra] stack ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return ep;
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
