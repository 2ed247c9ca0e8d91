import { LeadScorerError } from '@leadscorer/errors';
import kafkajs, { type Admin } from 'kafkajs';
import type { TopicSpec } from './topics.ts';

/**
 * Makes the cluster match the catalogue, idempotently: creates missing topics, adds partitions
 * where there are fewer than the catalogue says, and sets the catalogue's topic configs. Run by
 * `npm run topics` and by every service at start (so a fresh environment works without a manual
 * step), and safe to run concurrently: a topic created by someone else in between is fine.
 *
 * What it never does: remove partitions (Kafka cannot) or touch configs the catalogue does not
 * name (an operator's min.insync.replicas survives). Those differences are reported as warnings.
 */

export interface TopicResult {
  topic: string;
  action: 'created' | 'updated' | 'unchanged';
  changes: string[];
  warnings: string[];
}

// Node's CommonJS interop does not see kafkajs' ConfigResourceTypes as a named export.
const { ConfigResourceTypes } = kafkajs;
// kafkajs ConfigSource: 1 = TOPIC_CONFIG, a value set on the topic itself (not inherited).
const TOPIC_CONFIG_SOURCE = 1;

export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<TopicResult[]> {
  try {
    return await reconcile(admin, specs);
  } catch (err) {
    if (err instanceof LeadScorerError) throw err;
    throw new LeadScorerError('BROKER_UNAVAILABLE', `could not reconcile topics: ${errText(err)}`, {
      cause: err,
    });
  }
}

async function reconcile(admin: Admin, specs: readonly TopicSpec[]): Promise<TopicResult[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length > 0) {
    // Returns false (and kafkajs logs an error) when a concurrent caller created one first.
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor,
        configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
      })),
    });
  }
  const present = specs.filter((s) => existing.has(s.topic));
  const results: TopicResult[] = missing.map((s) => ({
    topic: s.topic,
    action: 'created',
    changes: [`created with ${s.partitions} partitions, ${describeConfig(s.config)}`],
    warnings: [],
  }));
  if (present.length === 0) return results;

  const metadata = await admin.fetchTopicMetadata({ topics: present.map((s) => s.topic) });
  const partitionCount = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((s) => ({ type: ConfigResourceTypes.TOPIC, name: s.topic })),
  });
  const configs = new Map(described.resources.map((r) => [r.resourceName, r.configEntries]));

  for (const spec of present) {
    const result: TopicResult = { topic: spec.topic, action: 'unchanged', changes: [], warnings: [] };
    const count = partitionCount.get(spec.topic) ?? 0;
    if (count < spec.partitions) {
      // Adding partitions moves some leads to another partition; harmless here because lead
      // state lives in Redis, not on the consumer that owned the partition.
      await admin.createPartitions({ topicPartitions: [{ topic: spec.topic, count: spec.partitions }] });
      result.changes.push(`partitions ${count} -> ${spec.partitions}`);
    } else if (count > spec.partitions) {
      result.warnings.push(
        `has ${count} partitions, catalogue says ${spec.partitions}; Kafka cannot remove partitions`,
      );
    }

    const entries = configs.get(spec.topic) ?? [];
    const current = new Map(entries.map((e) => [e.configName, e.configValue]));
    const drift = Object.entries(spec.config).filter(([name, value]) => current.get(name) !== value);
    if (drift.length > 0) {
      // AlterConfigs replaces the topic's whole set of overrides: send the ones already set on
      // the topic too, so settings the catalogue does not own are kept.
      const merged = new Map(
        entries
          .filter((e) => e.configSource === TOPIC_CONFIG_SOURCE)
          .map((e) => [e.configName, e.configValue]),
      );
      for (const [name, value] of Object.entries(spec.config)) merged.set(name, value);
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: spec.topic,
            configEntries: [...merged].map(([name, value]) => ({ name, value })),
          },
        ],
      });
      for (const [name, value] of drift)
        result.changes.push(`${name} ${current.get(name) ?? '(unset)'} -> ${value}`);
    }
    if (result.changes.length > 0) result.action = 'updated';
    results.push(result);
  }
  return results;
}

function describeConfig(config: Record<string, string>): string {
  return Object.entries(config)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
