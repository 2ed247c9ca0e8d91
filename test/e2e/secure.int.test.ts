import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import {
  AVRO_SCHEMAS,
  type Catalogue,
  createCatalogue,
  createRegistryAdmin,
  registerSchemas,
  type TopicName,
} from '@leadscorer/contracts';
import type { ScoringEvent } from '@leadscorer/engine';
import {
  consumerSpec,
  startConsumerService,
  startFadingService,
  startRelayService,
} from '@leadscorer/scoring-service';
import avro from 'avsc';
import type { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceAcls } from '../../scripts/infra/kafka-acl.ts';
import { startLeadApi } from '../../services/lead-api/src/server.ts';
import { startSalesAlerts } from '../../services/sales-alerts/src/service.ts';
import { AUTH, TEST_API_KEY_HASH } from '../support/api-key.ts';
import { testInfra, uniqueName } from '../support/infra.ts';
import { toRecord } from '../support/records.ts';
import { eventually, MODEL_FILE } from '../support/scorer.ts';
import { missingTools, type SecureStack, startSecureStack } from '../support/secure-stack.ts';
import { startReceiver } from '../support/webhook-receiver.ts';

// Closed to outsiders, proven: the services work through a Kafka broker that only speaks
// SASL_SSL (SCRAM-SHA-512, a CA made for this run) and a Redis that only speaks TLS and knows one
// user, limited to the deployment's key prefix and to the commands the services send
// (scripts/infra/redis-acl.ts); and whoever lacks the password, the CA, or the rights is refused.
// The schema registry stays the shared one, plain HTTP on loopback: its subjects carry this test's
// prefix. Both secure servers are this test's own and go away with it.
const ROOT = join(import.meta.dirname, '../..');
const SECRET = 'a-webhook-secret-for-secure-tests';
const LEAD = `secure-lead-${Date.now().toString(36)}`;

// The same tools the local stack needs; where they are missing (a machine running the tests on
// containers only) the suite says so and skips, as the promtool and chromium checks do.
const MISSING = missingTools();

describe.skipIf(MISSING.length > 0)(
  `secure: SASL_SSL Kafka, TLS Redis with an ACL user${MISSING.length > 0 ? ` (skipped: ${MISSING.join(', ')} not found)` : ''}`,
  () => {
    const registryUrl = testInfra().registryUrl;
    const topicPrefix = `${uniqueName('secure')}.`;
    const catalogue = createCatalogue({ prefix: topicPrefix, partitions: 2 });
    const registryAdmin = createRegistryAdmin({ url: registryUrl });
    const running: { stop(): Promise<void> }[] = [];
    const fatal: unknown[] = [];
    const onFatal = (err: unknown) => fatal.push(err);
    let stack: SecureStack | undefined;
    let client: Kafka;
    let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
    let apiPort = 0;

    beforeAll(async () => {
      stack = await startSecureStack(uniqueName('sec').toLowerCase().slice(0, 24));
      client = stack.kafka({ username: 'client', password: stack.kafkaUsers.client });
      // The services' consumer groups are named after the topic prefix here (CONSUMER_GROUP below).
      await stack.grantServiceAcls(topicPrefix, topicPrefix);
      // The topics CLI over SASL_SSL, as the services' user, with the services' variables.
      const topics = spawnSync(process.execPath, [join(ROOT, 'libs/contracts/src/cli/topics.ts')], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          ...stack.serviceEnv(),
          TOPIC_PREFIX: topicPrefix,
          TOPIC_PARTITIONS: '2',
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(topics.status, `${topics.stderr}\nbroker log:\n${stack.brokerLogTail()}`).toBe(0);
      await registerSchemas(
        registryAdmin,
        catalogue.topics.map((t) => ({ subject: t.subject, schema: JSON.stringify(AVRO_SCHEMAS[t.name]) })),
      );
      receiver = await startReceiver(SECRET, () => ({ status: 204 }));
      const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
        ...stack!.serviceEnv(),
        SCHEMA_REGISTRY_URL: registryUrl,
        TOPIC_PREFIX: topicPrefix,
        MODEL_FILE,
        HTTP_PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ENSURE_TOPICS: 'false',
        RETRY_INITIAL_MS: '50',
        RETRY_MAX_MS: '1000',
        RELAY_MIN_AGE_MS: '0',
        API_KEY_HASHES: TEST_API_KEY_HASH,
        ...extra,
      });
      for (const service of ['web-visits', 'trial-activity', 'lead-context'] as const) {
        const { topics, controlTopics } = consumerSpec(service, onFatal);
        running.push(
          await startConsumerService(
            { service, defaultPort: 0, topics, controlTopics, onFatal },
            env({ CONSUMER_GROUP: `${topicPrefix}${service}` }),
          ),
        );
      }
      running.push(await startRelayService({ service: 'outbox-relay', defaultPort: 0, onFatal }, env()));
      running.push(await startFadingService({ service: 'fading-leads', defaultPort: 0, onFatal }, env()));
      running.push(
        await startSalesAlerts(
          env({
            WEBHOOK_URL: receiver.url,
            WEBHOOK_SECRET: SECRET,
            ALERT_STAGES: 'pql',
            CONSUMER_GROUP: `${topicPrefix}sales-alerts`,
          }),
          onFatal,
          0,
        ),
      );
      const api = await startLeadApi(env(), 0, onFatal);
      running.push(api);
      apiPort = api.ops.port;
    });

    afterAll(async () => {
      for (const s of running.reverse()) await s.stop().catch(() => undefined);
      await receiver?.close();
      await stack?.stop();
      for (const t of catalogue.topics) await registryAdmin.deleteSubject(t.subject).catch(() => undefined);
    });

    it('scores events produced over SASL_SSL into TLS Redis, publishes the stage change back over SASL_SSL, erases the lead', async () => {
      const now = Date.now();
      const ev = (id: string, type: ScoringEvent['type'], props: ScoringEvent['props']): ScoringEvent => ({
        eventId: `${id}-${now}`,
        leadId: LEAD,
        eventTime: now,
        type,
        props,
      });
      const trial = (id: string, action: string) =>
        ev(id, 'trial', { accountId: 'acct-1', action, feature: null, quantity: null });
      await produce(
        client,
        catalogue,
        [
          ev('visit', 'web', {
            url: 'https://example.com/pricing',
            path: '/pricing',
            userAgent: 'Mozilla/5.0',
          }),
          trial('signup', 'signup'),
          trial('feature', 'feature_used'),
        ].map(asMessage),
      );

      // Read back as a subscriber would, with a client we did not write decoding the Avro.
      const registry = new SchemaRegistry({ host: registryUrl });
      const consumer = client.consumer({ groupId: `${topicPrefix}subscriber` });
      await consumer.connect();
      await consumer.subscribe({ topic: catalogue.get('lead.stage-changed.v1').topic, fromBeginning: true });
      const changes: { leadId: string; fromStage: string; toStage: string }[] = [];
      await consumer.run({
        eachMessage: async ({ message }) => {
          changes.push(await registry.decode(message.value!));
        },
      });
      try {
        await eventually('the stage change over SASL_SSL', async () => changes.length > 0, 60_000);
      } finally {
        await consumer.disconnect();
      }
      expect(changes[0]).toMatchObject({ leadId: LEAD, fromStage: 'unqualified', toStage: 'pql' });

      // lead-api reads the lead from TLS Redis as the ACL user, behind its API key.
      const lead = await fetch(`http://127.0.0.1:${apiPort}/leads/${LEAD}`, { headers: AUTH });
      expect(lead.status).toBe(200);
      expect(((await lead.json()) as { stage: string }).stage).toBe('pql');
      const anonymous = await fetch(`http://127.0.0.1:${apiPort}/leads/${LEAD}`);
      expect(anonymous.status).toBe(401);
      const wrongKey = await fetch(`http://127.0.0.1:${apiPort}/leads/${LEAD}`, {
        headers: { authorization: 'Bearer lsk_not-a-key-of-ours-000000000000' },
      });
      expect(wrongKey.status).toBe(403);

      // sales-alerts (its Lua queue and MULTI through the ACL) delivered it.
      await eventually('the webhook delivery', async () => receiver!.delivered().size > 0, 30_000);
      expect(receiver!.hits[0]).toMatchObject({ leadId: LEAD, toStage: 'pql' });

      // Erasure over the same channels: the request over SASL_SSL, lead-context erases the lead in
      // TLS Redis as the ACL user (erase.lua, the erased list, the audit stream) and writes the
      // profile tombstone over SASL_SSL.
      await produce(client, catalogue, [
        {
          topic: 'lead.erasure-requests.v1',
          key: LEAD,
          record: {
            eventId: `erase-${now}`,
            leadId: LEAD,
            eventTime: Date.now(),
            requestedBy: 'secure-test',
          },
        },
      ]);
      await eventually(
        'the lead erased',
        async () =>
          (await fetch(`http://127.0.0.1:${apiPort}/leads/${LEAD}`, { headers: AUTH })).status === 404,
        30_000,
      );
      expect(fatal).toEqual([]);
      // Not one command or key of the services was refused along the way.
      expect(await refusedServiceCommands(stack!)).toEqual([]);
    });

    it('refuses a wrong SCRAM password, a plaintext client and a client that does not trust the CA', async () => {
      const wrong = stack!.kafka({ username: 'lead-scorer', password: 'not-the-password' }, { retries: 0 });
      await expect(connectAdmin(wrong)).rejects.toThrow(/SASL SCRAM SHA512 authentication failed/);
      const unknown = stack!.kafka(
        { username: 'intruder', password: stack!.kafkaUsers.client },
        { retries: 0 },
      );
      await expect(connectAdmin(unknown)).rejects.toThrow(/authentication failed/);

      const plaintext = new Kafka({
        clientId: 'intruder',
        brokers: [stack!.kafkaBrokers],
        logLevel: logLevel.NOTHING,
        connectionTimeout: 3_000,
        requestTimeout: 3_000,
        retry: { retries: 0 },
      });
      await expect(connectAdmin(plaintext)).rejects.toThrow();

      const untrusting = new Kafka({
        clientId: 'intruder',
        brokers: [stack!.kafkaBrokers],
        ssl: true,
        sasl: { mechanism: 'scram-sha-512', username: 'client', password: stack!.kafkaUsers.client },
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
      });
      await expect(connectAdmin(untrusting)).rejects.toThrow(/self[- ]signed|unable to (get|verify)/i);
    });

    it("lets the services' Kafka user touch only the topics and groups under its prefixes", async () => {
      const s = stack!;
      const outside = uniqueName('outside');
      const admin = client.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: outside }], waitForLeaders: true });
      await admin.disconnect();
      const services = s.kafka(
        { username: 'lead-scorer', password: s.kafkaUsers['lead-scorer'] },
        { retries: 0 },
      );
      const producer = services.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      try {
        // The positive control: inside the prefix it may (a dead-letter topic nothing here reads).
        const inside = catalogue.get('engagement.web-visit.v1').deadLetterTopic!;
        await producer.send({ topic: inside, messages: [{ key: 'acl-probe', value: null }] });
        await expect(producer.send({ topic: outside, messages: [{ key: 'k', value: 'v' }] })).rejects.toThrow(
          /not authorized|authorization/i,
        );
      } finally {
        await producer.disconnect();
      }
      const servicesAdmin = services.admin();
      await servicesAdmin.connect();
      try {
        const refused = await servicesAdmin
          .createTopics({ topics: [{ topic: `${outside}-2` }] })
          .catch((e) => e);
        // kafkajs reports it per topic.
        expect((refused as { errors?: { type: string }[] }).errors?.[0]?.type).toBe(
          'TOPIC_AUTHORIZATION_FAILED',
        );
        // A group under the prefix answers; one outside is refused at the coordinator lookup (the broker
        // says GROUP_AUTHORIZATION_FAILED, kafkajs reports that no coordinator was found).
        const inside = catalogue.get('lead.stage-changed.v1').topic;
        await servicesAdmin.fetchOffsets({ groupId: `${topicPrefix}acl-probe`, topics: [inside] });
        await expect(
          servicesAdmin.fetchOffsets({ groupId: `${outside}-group`, topics: [inside] }),
        ).rejects.toThrow(/group coordinator/);
        await expect(
          servicesAdmin.createAcls({ acl: serviceAcls('lead-scorer', outside, outside) }),
        ).rejects.toThrow(/not authorized|authorization/i);
      } finally {
        await servicesAdmin.disconnect();
      }
    });

    it('refuses plaintext to the TLS port, no or wrong credentials, and an untrusted certificate', async () => {
      const s = stack!;
      const plain = await rawExchange(s.redisPort, 'PING\r\n');
      expect(plain).not.toContain('PONG');

      // Without credentials: the default user is off. (No ready check: its INFO would be refused
      // first and close the connection.)
      const anonymous = s.redis(undefined, { connectionName: 'intruder', enableReadyCheck: false });
      await anonymous.connect();
      try {
        await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
        await expect(anonymous.get(`${s.keyPrefix}:names`)).rejects.toThrow(/NOAUTH/);
        await expect(anonymous.call('AUTH', s.redisUser.username, 'not-the-password')).rejects.toThrow(
          /WRONGPASS/,
        );
        await expect(anonymous.call('AUTH', 'default', '')).rejects.toThrow(/WRONGPASS/);
        await expect(anonymous.call('AUTH', 'not-the-password')).rejects.toThrow(/WRONGPASS/);
      } finally {
        anonymous.disconnect();
      }

      // The server's certificate verifies against the run's CA, and against nothing else.
      expect(await tlsHandshake(s.redisPort, s.ca.caPem)).toBe('ok');
      expect(await tlsHandshake(s.redisPort, undefined)).toMatch(/SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/);
    });

    it('lets the ACL user touch no key outside the prefix and run no command the services do not need', async () => {
      const s = stack!;
      const r: Redis = s.redis(s.redisUser, { connectionName: 'secure-test-acl' });
      await r.connect();
      try {
        // The positive control: inside the prefix it may.
        await r.set(`${s.keyPrefix}:acl-probe`, 'ok');
        expect(await r.get(`${s.keyPrefix}:acl-probe`)).toBe('ok');
        await r.del(`${s.keyPrefix}:acl-probe`);

        for (const key of ['other:key', `${s.keyPrefix}x:key`, `x${s.keyPrefix}:key`]) {
          await expect(r.set(key, 'x'), key).rejects.toThrow(/NOPERM/);
          await expect(r.get(key), key).rejects.toThrow(/NOPERM/);
        }
        // Not through a script either.
        await expect(r.eval("return redis.call('SET', 'other:key', 'x')", 0)).rejects.toThrow(
          /can't access at least one of the keys/,
        );
        for (const command of [
          ['FLUSHALL'],
          ['FLUSHDB'],
          ['KEYS', '*'],
          ['CONFIG', 'SET', 'appendonly', 'no'],
          ['CONFIG', 'GET', 'requirepass'],
          ['ACL', 'LIST'],
          ['CLIENT', 'LIST'],
          ['CLIENT', 'KILL', 'ID', '1'],
          ['SHUTDOWN'],
          ['SCRIPT', 'FLUSH'],
          ['MONITOR'],
          ['PUBLISH', 'channel', 'x'],
        ]) {
          await expect(r.call(command[0]!, ...command.slice(1)), command.join(' ')).rejects.toThrow(/NOPERM/);
        }
      } finally {
        r.disconnect();
      }
      // The refusals above are logged for the operator: under the test's connection, not a service's.
      expect(await refusedServiceCommands(s)).toEqual([]);
    });

    it('a missing CA file stops a service at start with a message naming the variable and file, no stack trace', () => {
      const missing = join(ROOT, '.infra', 'no-such-ca.pem');
      const r = spawnSync(process.execPath, [join(ROOT, 'services/web-visits/src/main.ts')], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, ...stack!.serviceEnv(), KAFKA_SSL_CA_FILE: missing },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`KAFKA_SSL_CA_FILE: cannot read ${missing} (ENOENT)`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr + r.stdout).not.toContain(stack!.kafkaUsers['lead-scorer']);
    });
  },
);

/** ACL LOG entries of the services' connections (named lead-scorer.<service>): what was refused. */
async function refusedServiceCommands(stack: SecureStack): Promise<string[]> {
  const admin = stack.redis(stack.redisAdmin);
  await admin.connect();
  try {
    const log = (await admin.call('ACL', 'LOG', '128')) as unknown[][];
    return log
      .map((entry) => {
        const e = new Map<string, unknown>();
        for (let i = 0; i + 1 < entry.length; i += 2) e.set(String(entry[i]), entry[i + 1]);
        return e;
      })
      .filter((e) => / name=lead-scorer\./.test(String(e.get('client-info'))))
      .map((e) => `${e.get('reason')} ${e.get('context')} ${e.get('object')} (${e.get('username')})`);
  } finally {
    admin.disconnect();
  }
}

async function connectAdmin(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** 'ok' when a TLS handshake with 127.0.0.1:port verifies the server against `ca` (the system's CAs when undefined), else the error code. */
async function tlsHandshake(port: number, ca: string | undefined): Promise<string> {
  const { connect } = await import('node:tls');
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', ...(ca ? { ca: [ca] } : {}) }, () => {
      socket.destroy();
      resolve('ok');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** What a plaintext client gets back from the TLS port for `request` (empty when the server hangs up). */
async function rawExchange(port: number, request: string): Promise<string> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    let got = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (d) => {
      got += d.toString('latin1');
    });
    socket.on('error', () => resolve(got));
    socket.on('close', () => resolve(got));
    socket.setTimeout(3_000, () => socket.destroy());
  });
}

/** Encodes with the registered schemas and produces keyed by lead id, over SASL_SSL, in order. */
async function produce(
  kafka: Kafka,
  catalogue: Catalogue,
  messages: { topic: TopicName; key: string; record: Record<string, unknown> }[],
): Promise<void> {
  const registryUrl = testInfra().registryUrl;
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (const { topic, key, record } of messages) {
      const physical = catalogue.get(topic).topic;
      const r = await fetch(`${registryUrl}/subjects/${physical}-value/versions/latest`);
      const { id } = (await r.json()) as { id: number };
      const header = Buffer.alloc(5);
      header.writeInt32BE(id, 1);
      const payload = avro.Type.forSchema(AVRO_SCHEMAS[topic] as avro.Schema).toBuffer(record);
      await producer.send({
        topic: physical,
        acks: -1,
        messages: [{ key, value: Buffer.concat([header, payload]) }],
      });
    }
  } finally {
    await producer.disconnect();
  }
}

const asMessage = (e: ScoringEvent) => ({ ...toRecord(e), key: e.leadId });
