import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { type InfraConfig, kafkaBrokers } from './config.ts';
import { type ManagedProcess, managed, run, runningPid, startDetached, waitFor } from './process.ts';

/**
 * Apache Kafka from the Maven Central jars, single-node KRaft. Maven resolves the broker
 * and its log4j2 binding into ~/.m2 (the download cache); we keep only the classpath.
 */
export function kafkaProcess(cfg: InfraConfig): ManagedProcess {
  return managed(cfg.infraDir, 'kafka', serverPropertiesPath(cfg));
}

function serverPropertiesPath(cfg: InfraConfig): string {
  return join(cfg.infraDir, 'kafka', 'server.properties');
}

/** The broker's class path (resolved once per version, cached under the infra folder). */
export function classpath(cfg: InfraConfig): string {
  const dir = join(cfg.infraDir, 'kafka', cfg.kafka.version);
  const file = join(dir, 'classpath.txt');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    console.log(`[infra] resolving Kafka ${cfg.kafka.version} from Maven Central (cached in ~/.m2)...`);
    run(
      cfg.mvn,
      [
        '-q',
        '-B',
        '-f',
        join(cfg.rootDir, 'scripts/infra/kafka-pom.xml'),
        `-Dkafka.version=${cfg.kafka.version}`,
        'dependency:build-classpath',
        '-Dmdep.includeScope=runtime',
        `-Dmdep.outputFile=${file}`,
      ],
      cfg.rootDir,
    );
  }
  return readFileSync(file, 'utf8').trim();
}

function renderConfig(cfg: InfraConfig): string {
  const template = readFileSync(join(cfg.rootDir, 'scripts/infra/server.properties.template'), 'utf8');
  const values: Record<string, string> = {
    KAFKA_PORT: String(cfg.kafka.port),
    CONTROLLER_PORT: String(cfg.kafka.controllerPort),
    DATA_DIR: join(cfg.infraDir, 'data', 'kafka'),
  };
  const rendered = template.replace(/\$\{(\w+)\}/g, (_, key: string) => values[key] ?? '');
  const file = serverPropertiesPath(cfg);
  mkdirSync(join(cfg.infraDir, 'kafka'), { recursive: true });
  writeFileSync(file, rendered);
  return file;
}

/** Formats the storage once (the cluster id is kept with the data) and starts the broker. */
export function startKafka(cfg: InfraConfig): number {
  const cp = classpath(cfg);
  const props = renderConfig(cfg);
  const log4j = `-Dlog4j2.configurationFile=${join(cfg.rootDir, 'scripts/infra/log4j2.properties')}`;
  const dataDir = join(cfg.infraDir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const idFile = join(dataDir, 'kafka-cluster-id');
  if (!existsSync(idFile)) writeFileSync(idFile, randomBytes(16).toString('base64url'));
  const clusterId = readFileSync(idFile, 'utf8').trim();
  run(
    cfg.java,
    [
      log4j,
      '-cp',
      cp,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      props,
      '--ignore-formatted',
    ],
    cfg.rootDir,
  );
  const heap = [`-Xms${cfg.kafka.heap}`, `-Xmx${cfg.kafka.heap}`];
  return startDetached(
    kafkaProcess(cfg),
    cfg.java,
    [...heap, '-XX:+UseG1GC', '-Djava.awt.headless=true', log4j, '-cp', cp, 'kafka.Kafka', props],
    cfg.rootDir,
  );
}

/** Ready means the broker answers a metadata request from a real client. */
export async function kafkaAnswers(cfg: InfraConfig): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'infra-probe',
    brokers: [kafkaBrokers(cfg)],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    // A program that accepts the connection but never answers (not a broker) would otherwise
    // hold the probe for kafkajs' default 30 s.
    requestTimeout: 2_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export async function waitForKafka(cfg: InfraConfig): Promise<void> {
  const p = kafkaProcess(cfg);
  await waitFor(
    `Kafka on ${kafkaBrokers(cfg)}`,
    () => kafkaAnswers(cfg),
    cfg.readyTimeoutMs,
    () => runningPid(p) !== undefined,
    p.logFile,
  );
}
