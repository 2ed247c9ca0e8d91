/**
 * The topic catalogue: the one place that names every topic of the lead scorer, its schema,
 * partitions, retention, cleanup policy and dead-letter topic. `npm run topics`, the services
 * at start, the schema tooling, the AsyncAPI document and docs/contracts.md all read it.
 *
 * Names carry a major version (`.v1`). A compatible schema change evolves the topic in place;
 * a breaking one gets a new topic (`.v2`) that producers move to while `.v1` drains.
 */

const DAY_MS = 24 * 60 * 60 * 1000;
const KIB = 1024;

export const INPUT_TOPICS = [
  'engagement.web-visit.v1',
  'engagement.email.v1',
  'product.trial-activity.v1',
  'lead.profile.v1',
  'sales.qualification.v1',
  'lead.outcome.v1',
] as const;
export const OUTPUT_TOPICS = ['lead.stage-changed.v1', 'lead.stage.v1'] as const;
/**
 * Topics the scorer consumes to be told what to do, not to score: never archived (they name
 * leads to forget), never replayed, dead-lettered like the inputs.
 */
export const CONTROL_TOPICS = ['lead.erasure-requests.v1'] as const;

export type InputTopicName = (typeof INPUT_TOPICS)[number];
export type OutputTopicName = (typeof OUTPUT_TOPICS)[number];
export type ControlTopicName = (typeof CONTROL_TOPICS)[number];
/** A logical topic name: the catalogue key, before any environment prefix. */
export type TopicName = InputTopicName | OutputTopicName | ControlTopicName;
/** The `type` of a ScoringEvent (docs/design-notes.md). */
export type ScoringEventType = 'web' | 'email' | 'trial' | 'profile' | 'sales';

export type CleanupPolicy = 'delete' | 'compact';

export interface TopicDefinition {
  name: TopicName;
  /** input: events the scorer scores or archives; output: what it publishes; control: requests. */
  role: 'input' | 'output' | 'control';
  /** File under schemas/ holding the Avro value schema, the source of truth. */
  schemaFile: string;
  /** The ScoringEvent type the engine sees, or null for topics the engine does not score. */
  eventType: ScoringEventType | null;
  partitions: number;
  /** Retention of a delete topic; null for compacted topics, which keep the latest per key. */
  retentionMs: number | null;
  cleanupPolicy: CleanupPolicy;
  /**
   * Largest value the consumer accepts. Events are a few hundred bytes; anything over this is a
   * producer bug and is dead-lettered rather than stored in Redis. Kept below the broker's
   * 1 MiB max.message.bytes on purpose: a broker rejection would surface only in the producer's
   * logs, a dead letter is visible to us and can be replayed after the limit is raised.
   */
  maxValueBytes: number;
  summary: string;
  /** Why these partitions / retention / cleanup: written down so nobody changes them blindly. */
  rationale: string;
}

// Six partitions everywhere: six consumer instances per input is the scale-out ceiling we plan
// for, partitions can be added later without harm (lead state lives in Redis, not on the
// consumer), and one count for all topics keeps capacity planning simple.
const PARTITIONS = 6;
const MAX_VALUE_BYTES = 64 * KIB;

const DEFINITIONS: readonly TopicDefinition[] = [
  {
    name: 'engagement.web-visit.v1',
    role: 'input',
    schemaFile: 'engagement.web-visit.v1.avsc',
    eventType: 'web',
    partitions: PARTITIONS,
    retentionMs: 30 * DAY_MS,
    cleanupPolicy: 'delete',
    maxValueBytes: MAX_VALUE_BYTES,
    summary: 'Page views of identified leads, from the website tracker.',
    rationale:
      'Highest volume. 30 days covers rebuilding scores after an incident and replaying a month of behaviour through a candidate model; engagement half-lives are days to weeks, so older visits barely count.',
  },
  {
    name: 'engagement.email.v1',
    role: 'input',
    schemaFile: 'engagement.email.v1.avsc',
    eventType: 'email',
    partitions: PARTITIONS,
    retentionMs: 30 * DAY_MS,
    cleanupPolicy: 'delete',
    maxValueBytes: MAX_VALUE_BYTES,
    summary: 'Email opens, clicks and unsubscribes, from the email platform.',
    rationale: 'Same decay horizon as web visits, so the same 30 days.',
  },
  {
    name: 'product.trial-activity.v1',
    role: 'input',
    schemaFile: 'product.trial-activity.v1.avsc',
    eventType: 'trial',
    partitions: PARTITIONS,
    retentionMs: 90 * DAY_MS,
    cleanupPolicy: 'delete',
    maxValueBytes: MAX_VALUE_BYTES,
    summary: 'Trial and freemium product activity, from the product backend.',
    rationale:
      '90 days: trials and the buying decision after them run longer than email campaigns, and volume is lower.',
  },
  {
    name: 'lead.profile.v1',
    role: 'input',
    schemaFile: 'lead.profile.v1.avsc',
    eventType: 'profile',
    partitions: PARTITIONS,
    retentionMs: null,
    cleanupPolicy: 'compact',
    maxValueBytes: MAX_VALUE_BYTES,
    summary: 'Fit attributes of leads (full snapshots), from the CRM or enrichment.',
    rationale:
      'Compacted: fit does not fade, so the latest snapshot of every lead must survive for rebuilds however old it is. Compaction is safe because each event is a full snapshot.',
  },
  {
    name: 'sales.qualification.v1',
    role: 'input',
    schemaFile: 'sales.qualification.v1.avsc',
    eventType: 'sales',
    partitions: PARTITIONS,
    retentionMs: 365 * DAY_MS,
    cleanupPolicy: 'delete',
    maxValueBytes: MAX_VALUE_BYTES,
    summary: 'Sales verdicts (accept, reject, re-open) with BANT answers, from the CRM.',
    rationale: 'Low volume and part of the evaluation history: a year.',
  },
  {
    name: 'lead.outcome.v1',
    role: 'input',
    schemaFile: 'lead.outcome.v1.avsc',
    eventType: null,
    partitions: PARTITIONS,
    retentionMs: 730 * DAY_MS,
    cleanupPolicy: 'delete',
    maxValueBytes: MAX_VALUE_BYTES,
    summary: 'Won / lost outcomes, from the CRM; read by offline evaluation only.',
    rationale: 'Two years: evaluation joins outcomes with long sales cycles; volume is tiny.',
  },
  {
    name: 'lead.stage-changed.v1',
    role: 'output',
    schemaFile: 'lead.stage-changed.v1.avsc',
    eventType: null,
    partitions: PARTITIONS,
    retentionMs: 30 * DAY_MS,
    cleanupPolicy: 'delete',
    maxValueBytes: MAX_VALUE_BYTES,
    summary: 'Stage transitions of leads, for sales alerting and CRMs.',
    rationale:
      'Subscribers need every transition, not the latest per lead, so not compacted. A subscriber down for more than 30 days resynchronises from lead.stage.v1.',
  },
  {
    name: 'lead.stage.v1',
    role: 'output',
    schemaFile: 'lead.stage.v1.avsc',
    eventType: null,
    partitions: PARTITIONS,
    retentionMs: null,
    cleanupPolicy: 'compact',
    maxValueBytes: MAX_VALUE_BYTES,
    summary:
      'The latest stage of every lead that ever changed stage (a snapshot), for subscribers that (re)build their view of all leads; a null value when a lead is erased.',
    rationale:
      'Compacted: a subscriber needs the newest record per lead, however old, to resynchronise from the beginning, and a tombstone removes an erased lead for good. Written in sequence order per lead by one writer per shard (the outbox relay), so compaction never keeps an older stage over a newer one.',
  },
  {
    name: 'lead.erasure-requests.v1',
    role: 'control',
    schemaFile: 'lead.erasure-requests.v1.avsc',
    eventType: null,
    partitions: PARTITIONS,
    retentionMs: 7 * DAY_MS,
    cleanupPolicy: 'delete',
    maxValueBytes: MAX_VALUE_BYTES,
    summary:
      'Requests to erase a lead (right to erasure), from privacy or CRM systems; read by lead-context.',
    rationale:
      'Seven days: a request names the lead it erases, so it is kept only as long as it takes to act on it (lead-context erases within seconds) and to investigate a failure; the audit record keeps a hash only. Not archived.',
  },
];

/**
 * Dead-letter topics: one partition, because they are read by people and by `npm run dlq`,
 * not by a scaled-out consumer, and a few hundred bad messages a second (a broken producer
 * deploy) is far below what one partition takes. 30 days gives time to fix and replay.
 */
export const DEAD_LETTER = {
  suffix: '.dlq',
  partitions: 1,
  retentionMs: 30 * DAY_MS,
} as const;

export interface CatalogueOptions {
  /**
   * Prepended to every physical topic name (and so to every registry subject), e.g. `staging.`
   * for an environment sharing a cluster, or a unique prefix per integration test.
   */
  prefix?: string;
  /** Overrides the partition count of inputs and output (tests use 1); dead letters keep 1. */
  partitions?: number;
  /**
   * Replication factor for new topics; -1 (the default) lets the broker decide with its
   * default.replication.factor, which is 1 on a dev broker and 3 in production.
   */
  replicationFactor?: number;
}

/** A topic as it exists on a cluster: the definition plus its physical names. */
export interface CatalogueTopic extends TopicDefinition {
  /** Physical topic name: prefix + name. */
  topic: string;
  /** Registry subject of the value schema (TopicNameStrategy). */
  subject: string;
  /** Physical dead-letter topic of an input or control topic, null for the output. */
  deadLetterTopic: string | null;
}

/** What `npm run topics` creates: one physical topic and its settings. */
export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  config: Record<string, string>;
}

export interface Catalogue {
  readonly prefix: string;
  readonly topics: readonly CatalogueTopic[];
  readonly inputs: readonly CatalogueTopic[];
  /** The control topics (erasure requests): consumed, dead-lettered, never archived or replayed. */
  readonly controls: readonly CatalogueTopic[];
  /** The entry of a logical name. */
  get(name: TopicName): CatalogueTopic;
  /** The entry of a physical topic name, or undefined for a topic we do not own. */
  byTopic(topic: string): CatalogueTopic | undefined;
  /** The input whose dead-letter topic this is, or undefined. */
  byDeadLetterTopic(topic: string): CatalogueTopic | undefined;
  /** Every physical topic to create, dead letters included. */
  specs(): TopicSpec[];
}

// Kafka's legal topic characters; the prefix must not make a name illegal.
const TOPIC_CHARS = /^[a-zA-Z0-9._-]*$/;

export function createCatalogue(options: CatalogueOptions = {}): Catalogue {
  const prefix = options.prefix ?? '';
  if (!TOPIC_CHARS.test(prefix)) throw new Error(`topic prefix "${prefix}" has characters Kafka refuses`);
  const partitions = options.partitions;
  if (partitions !== undefined && (!Number.isInteger(partitions) || partitions < 1)) {
    throw new Error(`partitions must be a positive integer, got ${partitions}`);
  }
  const replicationFactor = options.replicationFactor ?? -1;

  const topics = DEFINITIONS.map((d): CatalogueTopic => {
    const topic = prefix + d.name;
    return {
      ...d,
      partitions: partitions ?? d.partitions,
      topic,
      subject: `${topic}-value`,
      deadLetterTopic: d.role === 'output' ? null : topic + DEAD_LETTER.suffix,
    };
  });
  const byName = new Map(topics.map((t) => [t.name, t]));
  const byTopic = new Map(topics.map((t) => [t.topic, t]));
  const byDlq = new Map(topics.flatMap((t) => (t.deadLetterTopic ? [[t.deadLetterTopic, t] as const] : [])));

  return {
    prefix,
    topics,
    inputs: topics.filter((t) => t.role === 'input'),
    controls: topics.filter((t) => t.role === 'control'),
    get(name) {
      const t = byName.get(name);
      if (!t) throw new Error(`unknown topic ${name}`);
      return t;
    },
    byTopic: (topic) => byTopic.get(topic),
    byDeadLetterTopic: (topic) => byDlq.get(topic),
    specs: () =>
      topics.flatMap((t) => {
        const main: TopicSpec = {
          topic: t.topic,
          partitions: t.partitions,
          replicationFactor,
          config: topicConfig(t.cleanupPolicy, t.retentionMs),
        };
        if (!t.deadLetterTopic) return [main];
        const dlq: TopicSpec = {
          topic: t.deadLetterTopic,
          partitions: DEAD_LETTER.partitions,
          replicationFactor,
          config: topicConfig('delete', DEAD_LETTER.retentionMs),
        };
        return [main, dlq];
      }),
  };
}

function topicConfig(cleanupPolicy: CleanupPolicy, retentionMs: number | null): Record<string, string> {
  const config: Record<string, string> = { 'cleanup.policy': cleanupPolicy };
  if (retentionMs !== null) config['retention.ms'] = String(retentionMs);
  return config;
}
