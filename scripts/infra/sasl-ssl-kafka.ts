import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InfraConfig } from './config.ts';
import { classpath } from './kafka.ts';
import { run, tail } from './process.ts';

/**
 * A single-node KRaft broker whose only client listener is SASL_SSL with SCRAM-SHA-512: the
 * same Maven Central jars as the local stack (kafka.ts), a data folder, ports and certificates of
 * the caller's. The secure integration test starts one of its own, so the shared stack is never
 * reconfigured. The controller listener stays PLAINTEXT on loopback: only the broker in this very
 * process talks to it.
 *
 * SCRAM credentials are written into the metadata log when the storage is formatted (`kafka-storage
 * format --add-scram`), so the broker accepts them from its first second; the first user is the
 * broker's own for the inter-broker listener.
 */
export interface SaslSslBrokerOptions {
  /** Folder of its own: configuration, data, log. Removed by the caller. */
  dir: string;
  port: number;
  controllerPort: number;
  /** PKCS#12 keystore with the server key and certificate (SAN 127.0.0.1), and its password. */
  keystore: { file: string; password: string };
  /** PEM file of the CA that signed it (the broker's own truststore for inter-broker TLS). */
  caFile: string;
  /** SCRAM-SHA-512 users; the first one is the broker's inter-broker identity. */
  users: { name: string; password: string }[];
  /**
   * With it, the broker authorizes (KRaft's StandardAuthorizer): these users may do anything, every
   * other user only what an ACL grants, and nothing without one. The broker's own controller
   * connection (PLAINTEXT inside this process, principal ANONYMOUS) is a super user too, as KRaft
   * needs; the controller port is on loopback.
   */
  superUsers?: string[];
  heap?: string;
}

export interface SaslSslBroker {
  bootstrap: string;
  logFile: string;
  /** Whether the process is still running. */
  alive(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

function jaas(user: { name: string; password: string }): string {
  // JAAS string quoting: the passwords we make are hex, but quote defensively.
  const q = (s: string) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  return `org.apache.kafka.common.security.scram.ScramLoginModule required username=${q(user.name)} password=${q(user.password)};`;
}

function properties(o: SaslSslBrokerOptions): string {
  const broker = o.users[0];
  if (!broker) throw new Error('a SASL_SSL broker needs at least one SCRAM user (its own)');
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${o.controllerPort}`,
    `listeners=SASL_SSL://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}`,
    `advertised.listeners=SASL_SSL://127.0.0.1:${o.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=SASL_SSL',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
    'sasl.enabled.mechanisms=SCRAM-SHA-512',
    'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512',
    `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${jaas(broker)}`,
    ...(o.superUsers
      ? [
          'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
          `super.users=${['ANONYMOUS', ...o.superUsers].map((u) => `User:${u}`).join(';')}`,
        ]
      : []),
    'ssl.keystore.type=PKCS12',
    `ssl.keystore.location=${o.keystore.file}`,
    `ssl.keystore.password=${o.keystore.password}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${o.caFile}`,
    // TLS 1.2 at least; the JDK's defaults otherwise.
    'ssl.enabled.protocols=TLSv1.3,TLSv1.2',
    `log.dirs=${join(o.dir, 'data')}`,
    'num.partitions=1',
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    '',
  ].join('\n');
}

/** Formats the storage with the SCRAM users and starts the broker; does not wait for it. */
export function startSaslSslBroker(cfg: InfraConfig, o: SaslSslBrokerOptions): SaslSslBroker {
  mkdirSync(join(o.dir, 'data'), { recursive: true });
  const props = join(o.dir, 'server.properties');
  // Holds the keystore and the broker's SCRAM passwords: readable by us only.
  writeFileSync(props, properties(o), { mode: 0o600 });
  const cp = classpath(cfg);
  const log4j = `-Dlog4j2.configurationFile=${join(cfg.rootDir, 'scripts/infra/log4j2.properties')}`;
  const scram = o.users.flatMap((u) => [
    '--add-scram',
    `SCRAM-SHA-512=[name=${u.name},password=${u.password}]`,
  ]);
  const clusterId = randomBytes(16).toString('base64url');
  run(
    cfg.java,
    [log4j, '-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, ...scram],
    cfg.rootDir,
  );
  const logFile = join(o.dir, 'kafka.log');
  const out = openSync(logFile, 'a');
  const heap = o.heap ?? '384m';
  const child: ChildProcess = spawn(
    cfg.java,
    [
      `-Xms${heap}`,
      `-Xmx${heap}`,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      log4j,
      '-cp',
      cp,
      'kafka.Kafka',
      props,
    ],
    { cwd: cfg.rootDir, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  // A test runner that exits without calling stop() (a crash, a timeout) must not leave a broker
  // behind: this process started it, this process ends it.
  const onExit = () => {
    if (alive()) child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  return {
    bootstrap: `127.0.0.1:${o.port}`,
    logFile,
    alive,
    stop: async (graceMs = 15_000) => {
      process.off('exit', onExit);
      if (!alive()) return;
      child.kill('SIGTERM');
      const timeout = sleep(graceMs).then(() => 'timeout' as const);
      if ((await Promise.race([exited, timeout])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

export function brokerLog(b: SaslSslBroker, lines = 40): string {
  return tail(b.logFile, lines);
}
