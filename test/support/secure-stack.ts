import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type RedisOptions } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { infraConfigFromEnv } from '../../scripts/infra/config.ts';
import { serviceAcls } from '../../scripts/infra/kafka-acl.ts';
import { serviceAclRules } from '../../scripts/infra/redis-acl.ts';
import { brokerLog, startSaslSslBroker } from '../../scripts/infra/sasl-ssl-kafka.ts';
import { makeTestCa, type TestCa } from './test-ca.ts';

const ROOT = join(import.meta.dirname, '../..');

/**
 * A secure Kafka and Redis of one test's own, on loopback ports of their own, beside (never
 * instead of) the shared stack:
 *
 * - Kafka from the local stack's Maven Central jars (scripts/infra/sasl-ssl-kafka.ts), its only
 *   client listener SASL_SSL with SCRAM-SHA-512, its certificate signed by a CA made for this run,
 *   an authorizer; users `broker` (inter-broker) and `client` (the test, standing in for the
 *   producers and subscribers) are super users, `lead-scorer` (the services) may do only what
 *   grantServiceAcls grants.
 * - redis-server with TLS only (no plaintext port), the default user off, and one user, the
 *   services' (scripts/infra/redis-acl.ts), limited to the deployment's key prefix and commands.
 *
 * Passwords are random per run; the CA, keys and data live in one temporary folder that stop()
 * removes with the processes.
 */
export interface SecureStack {
  ca: TestCa;
  kafkaBrokers: string;
  /** SCRAM-SHA-512 users and their passwords. */
  kafkaUsers: Record<'broker' | 'lead-scorer' | 'client', string>;
  redisPort: number;
  redisUser: { username: string; password: string };
  /** A user with every right, for the test's own inspection (ACL LOG); no service uses it. */
  redisAdmin: { username: string; password: string };
  keyPrefix: string;
  /** Grants the services' user the ACLs of scripts/infra/kafka-acl.ts on these prefixes. */
  grantServiceAcls(topicPrefix: string, groupPrefix: string): Promise<void>;
  /** The last lines of the broker's log, for a failure message. */
  brokerLogTail(): string;
  /** The security part of a service's environment (KAFKA_SSL..., REDIS_...). */
  serviceEnv(): Record<string, string>;
  /** A kafkajs client over SASL_SSL as `user` (a wrong password to see it refused). */
  kafka(user: { username: string; password: string }, options?: { retries?: number }): Kafka;
  /** An ioredis client over TLS; `auth` undefined connects without credentials. */
  redis(auth?: { username: string; password: string }, options?: RedisOptions): Redis;
  stop(): Promise<void>;
}

/**
 * The programs the secure stack needs that are missing here (Java for the broker, redis-server,
 * openssl), so the test can say why it skips instead of failing on a machine without them.
 */
export function missingTools(): string[] {
  const java = infraConfigFromEnv(process.env, ROOT).java;
  const tools: [string, string[]][] = [
    [java, ['-version']],
    ['redis-server', ['--version']],
    ['openssl', ['version']],
  ];
  return tools.filter(([cmd, args]) => spawnSync(cmd, args).status !== 0).map(([cmd]) => cmd);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

const secret = () => randomBytes(18).toString('hex');

export async function startSecureStack(keyPrefix: string): Promise<SecureStack> {
  const dir = mkdtempSync(join(tmpdir(), 'leadscorer-secure-'));
  const stoppers: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stoppers.reverse()) await s().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ca = makeTestCa(dir);
    const kafkaUsers = { broker: secret(), 'lead-scorer': secret(), client: secret() };
    const redisUser = { username: 'lead-scorer', password: secret() };
    const redisAdmin = { username: 'test-admin', password: secret() };
    const [port, controllerPort, redisPort] = [await freePort(), await freePort(), await freePort()];

    const broker = startSaslSslBroker(infraConfigFromEnv({ ...process.env, INFRA_DIR: undefined }, ROOT), {
      dir: join(dir, 'kafka'),
      port,
      controllerPort,
      keystore: { file: ca.p12File, password: ca.p12Password },
      caFile: ca.caFile,
      users: Object.entries(kafkaUsers).map(([name, password]) => ({ name, password })),
      // The services' user gets only the ACLs of scripts/infra/kafka-acl.ts (grantServiceAcls).
      superUsers: ['broker', 'client'],
    });
    stoppers.push(() => broker.stop());
    const redis = startTlsRedis(dir, redisPort, ca, keyPrefix, redisUser, redisAdmin);
    stoppers.push(redis.stop);

    const stack: SecureStack = {
      ca,
      kafkaBrokers: broker.bootstrap,
      kafkaUsers,
      redisPort,
      redisUser,
      redisAdmin,
      keyPrefix,
      brokerLogTail: () => brokerLog(broker, 60),
      grantServiceAcls: async (topicPrefix, groupPrefix) => {
        const admin = stack.kafka({ username: 'broker', password: kafkaUsers.broker }).admin();
        await admin.connect();
        try {
          await admin.createAcls({ acl: serviceAcls('lead-scorer', topicPrefix, groupPrefix) });
        } finally {
          await admin.disconnect();
        }
      },
      serviceEnv: () => ({
        KAFKA_BROKERS: broker.bootstrap,
        KAFKA_SSL: 'true',
        KAFKA_SSL_CA_FILE: ca.caFile,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'lead-scorer',
        KAFKA_SASL_PASSWORD: kafkaUsers['lead-scorer'],
        REDIS_URL: `rediss://127.0.0.1:${redisPort}`,
        REDIS_TLS_CA_FILE: ca.caFile,
        REDIS_USERNAME: redisUser.username,
        REDIS_PASSWORD: redisUser.password,
        REDIS_KEY_PREFIX: keyPrefix,
      }),
      kafka: (user, options = {}) =>
        new Kafka({
          clientId: `secure-test-${user.username}`,
          brokers: [broker.bootstrap],
          ssl: { ca: [ca.caPem] },
          sasl: { mechanism: 'scram-sha-512', username: user.username, password: user.password },
          logLevel: logLevel.NOTHING,
          connectionTimeout: 3_000,
          retry: { retries: options.retries ?? 5, initialRetryTime: 200 },
        }),
      redis: (auth, options = {}) => {
        const client = new Redis(redisPort, '127.0.0.1', {
          tls: { ca: [ca.caPem] },
          ...(auth ?? {}),
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
          ...options,
        });
        client.on('error', () => {});
        return client;
      },
      stop,
    };
    await Promise.all([
      waitUntil('the SASL_SSL broker', 90_000, { alive: broker.alive, log: () => brokerLog(broker) }, () =>
        brokerAnswers(stack.kafka({ username: 'client', password: kafkaUsers.client }, { retries: 0 })),
      ),
      waitUntil('the TLS Redis', 20_000, redis, async () => {
        const c = stack.redis(redisUser);
        try {
          await c.connect();
          return (await c.ping()) === 'PONG';
        } finally {
          c.disconnect();
        }
      }),
    ]);
    return stack;
  } catch (err) {
    await stop();
    throw err;
  }
}

async function brokerAnswers(kafka: Kafka): Promise<boolean> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    return (await admin.describeCluster()).brokers.length > 0;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** A process being waited for: whether it still runs, and what it said. */
interface Watched {
  alive(): boolean;
  log(): string;
}

async function waitUntil(
  what: string,
  timeoutMs: number,
  target: Watched,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    if (!target.alive()) throw new Error(`${what} exited:\n${target.log()}`);
    await sleep(500);
  }
  throw new Error(`${what} did not answer in ${timeoutMs / 1000}s:\n${target.log()}`);
}

/**
 * redis-server with `port 0` (no plaintext listener) and a TLS port; server-side TLS only
 * (clients are authenticated by the ACL user's password, not by certificates). The configuration
 * file holds the users (passwords as SHA-256) and is readable by us only.
 */
function startTlsRedis(
  dir: string,
  port: number,
  ca: TestCa,
  keyPrefix: string,
  user: { username: string; password: string },
  admin: { username: string; password: string },
): Watched & { stop(): Promise<void> } {
  const conf = join(dir, 'redis.conf');
  writeFileSync(
    conf,
    [
      'bind 127.0.0.1',
      'port 0',
      `tls-port ${port}`,
      `tls-cert-file ${ca.certFile}`,
      `tls-key-file ${ca.keyFile}`,
      `tls-ca-cert-file ${ca.caFile}`,
      'tls-auth-clients no',
      `dir ${dir}`,
      'save ""',
      'appendonly no',
      'user default off',
      `user ${user.username} ${serviceAclRules(keyPrefix, user.password).join(' ')}`,
      `user ${admin.username} on #${createHash('sha256').update(admin.password).digest('hex')} ~* &* +@all`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  // Its output says why when it does not start (e.g. a redis-server built without TLS).
  const output: string[] = [];
  const child: ChildProcess = spawn('redis-server', [conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    alive,
    log: () => output.join('').split('\n').slice(-20).join('\n'),
    stop: async () => {
      process.off('exit', onExit);
      if (!alive()) return;
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
