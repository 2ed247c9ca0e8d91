import kafkajs, { type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ContractsEnv, contractsEnv } from './int-support.ts';
import { ensureTopics } from './topic-admin.ts';
import { createCatalogue } from './topics.ts';

const { ConfigResourceTypes } = kafkajs;
let env: ContractsEnv;
let admin: Admin;

beforeAll(async () => {
  env = contractsEnv('topics');
  admin = env.kafka.admin();
  await admin.connect();
});
afterAll(async () => {
  await admin.disconnect();
  await env.cleanup();
});

async function topicConfig(topic: string): Promise<Record<string, string>> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
  });
  return Object.fromEntries(resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
}

describe('ensureTopics', () => {
  it('creates every topic with its settings, then finds nothing to do', async () => {
    const specs = env.catalogue.specs();
    const first = await ensureTopics(admin, specs);
    expect(first.map((r) => r.action)).toEqual(specs.map(() => 'created'));

    const web = env.catalogue.get('engagement.web-visit.v1');
    expect(await topicConfig(web.topic)).toMatchObject({
      'cleanup.policy': 'delete',
      'retention.ms': '2592000000',
    });
    expect((await topicConfig(env.catalogue.get('lead.profile.v1').topic))['cleanup.policy']).toBe('compact');
    const metadata = await admin.fetchTopicMetadata({ topics: [web.topic, web.deadLetterTopic!] });
    expect(metadata.topics.map((t) => t.partitions.length)).toEqual([1, 1]);

    const second = await ensureTopics(admin, specs);
    expect(second.every((r) => r.action === 'unchanged' && r.changes.length === 0)).toBe(true);
  });

  it('repairs drifted settings and keeps settings the catalogue does not own', async () => {
    const topic = env.catalogue.get('engagement.email.v1').topic;
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [
            { name: 'retention.ms', value: '1000' },
            { name: 'segment.ms', value: '3600000' },
          ],
        },
      ],
    });
    const results = await ensureTopics(admin, env.catalogue.specs());
    const changed = results.filter((r) => r.action !== 'unchanged');
    expect(changed).toEqual([
      { topic, action: 'updated', changes: ['retention.ms 1000 -> 2592000000'], warnings: [] },
    ]);
    expect(await topicConfig(topic)).toMatchObject({ 'retention.ms': '2592000000', 'segment.ms': '3600000' });
  });

  it('adds partitions and warns about ones it cannot remove', async () => {
    const wider = createCatalogue({ prefix: env.prefix, partitions: 2 });
    const topic = wider.get('lead.outcome.v1').topic;
    const grown = await ensureTopics(admin, wider.specs());
    expect(grown.find((r) => r.topic === topic)).toMatchObject({
      action: 'updated',
      changes: ['partitions 1 -> 2'],
    });
    expect(grown.find((r) => r.topic === `${topic}.dlq`)?.action).toBe('unchanged');

    const narrower = await ensureTopics(admin, env.catalogue.specs());
    expect(narrower.find((r) => r.topic === topic)?.warnings).toEqual([
      'has 2 partitions, catalogue says 1; Kafka cannot remove partitions',
    ]);
  });
});
