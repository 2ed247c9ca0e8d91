import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AUTH } from '../support/api-key.ts';
import { type InProcessScorer, startInProcessScorer } from '../support/in-process-scorer.ts';
import { eventually, MODEL_FILE, type ScorerEnv, scorerEnv } from '../support/scorer.ts';

// A client we did not write, end to end: Confluent's Python client (Debian's
// python3-confluent-kafka, installed by scripts/ensure-tools.sh) looks the web-visit schema up
// by the text of schemas/engagement.web-visit.v1.avsc, produces visits with its AvroSerializer
// and the murmur2_random partitioner; our services score them; the stage change comes back
// through its AvroDeserializer. Before the registry matched schemas canonically, the lookup got
// 40403 and auto-registration added a second version of the subject.

const root = join(import.meta.dirname, '../..');
const PYTHON = '/usr/bin/python3';
const pythonEnv = {
  ...process.env,
  PYTHONPATH: join(root, '.infra/python'),
  PYTHONDONTWRITEBYTECODE: '1',
};
const clientAvailable =
  spawnSync(PYTHON, ['-c', 'import confluent_kafka, fastavro, requests'], { env: pythonEnv }).status === 0;
const PARTITIONS = 6;

async function python(args: string[], timeoutMs = 60_000) {
  const script = join(import.meta.dirname, 'confluent_client.py');
  try {
    const { stdout } = await promisify(execFile)(PYTHON, [script, ...args], {
      env: pythonEnv,
      timeout: timeoutMs,
    });
    return { code: 0, lines: jsonLines(stdout) };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, lines: jsonLines(e.stdout ?? ''), stderr: e.stderr };
  }
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The partition kafkajs' default partitioner (murmur2, as Kafka's Java client) picks for a key. */
function murmur2Partition(key: string): number {
  const partitionMetadata = Array.from(
    { length: PARTITIONS },
    (_, partitionId): PartitionMetadata => ({
      partitionId,
      leader: 1,
      partitionErrorCode: 0,
      replicas: [1],
      isr: [1],
    }),
  );
  return Partitioners.DefaultPartitioner()({ topic: 't', partitionMetadata, message: { key, value: null } });
}

/** The partition librdkafka's default partitioner (consistent_random: CRC32) would pick. */
function crc32Partition(key: string): number {
  return crc32(Buffer.from(key)) % PARTITIONS;
}

/**
 * A lead id on which the two partitioners disagree, so that a producer left on librdkafka's
 * default would fail the partition check below instead of passing it by chance.
 */
function leadWherePartitionersDiffer(base: string): string {
  for (let i = 0; ; i++) {
    const lead = `${base}-${i}`;
    if (murmur2Partition(lead) !== crc32Partition(lead)) return lead;
  }
}

describe.skipIf(!clientAvailable)('Confluent Python client (python3-confluent-kafka)', () => {
  let env: ScorerEnv;
  let scorer: InProcessScorer;
  const lead = leadWherePartitionersDiffer(`py-${Date.now().toString(36)}`);
  const now = Date.now();
  const visit = (n: number, path: string) => ({
    eventId: `${lead}-v${n}`,
    leadId: lead,
    eventTime: now + n,
    url: `https://www.example.com${path}`,
    path,
    referrer: null,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
    sessionId: null,
    durationSeconds: null,
  });
  let subject: string;
  let topic: string;

  beforeAll(async () => {
    env = await scorerEnv('interop', PARTITIONS);
    subject = env.contracts.catalogue.get('engagement.web-visit.v1').subject;
    topic = env.contracts.catalogue.get('engagement.web-visit.v1').topic;
    scorer = await startInProcessScorer(env, ['web-visits', 'lead-context']);
    await eventually('services ready', async () => scorer.ready(), 30_000);
    // Fit first (director at a 420-person company: 20), so that the visits make the lead MQL.
    await env.produce([
      {
        eventId: `${lead}-profile`,
        leadId: lead,
        eventTime: now,
        type: 'profile',
        props: { jobTitle: null, seniority: 'director', companySize: 420, industry: null, country: null },
      },
    ]);
    await eventually('the profile applied', async () => (await readLead(scorer, lead))?.scores?.fit === 20);
  });

  afterAll(async () => {
    await scorer?.stop();
    await env?.contracts.cleanup();
  });

  it('finds the registered schema by the .avsc text, produces with murmur2, and auto-registering adds no version', async () => {
    const registered = await env.contracts.admin.version(subject, 'latest');
    const before = await env.contracts.admin.versions(subject);
    const common = [
      ...['--bootstrap', env.contracts.kafkaBrokers.join(','), '--registry', env.contracts.registryUrl],
      ...['--topic', topic, '--key', lead, '--schema', join(root, 'schemas/engagement.web-visit.v1.avsc')],
    ];
    // The contract's way (look up, never register), then the client's default (auto-register).
    const lookedUp = await python([
      'produce',
      ...common,
      '--records',
      JSON.stringify([visit(1, '/demo/thank-you')]),
      '--no-auto-register',
    ]);
    expect(lookedUp.lines, lookedUp.stderr).toEqual([expect.objectContaining({ eventId: `${lead}-v1` })]);
    const autoRegistered = await python([
      'produce',
      ...common,
      '--records',
      JSON.stringify([visit(2, '/pricing'), visit(3, '/pricing/team')]),
    ]);
    expect(autoRegistered.code, autoRegistered.stderr).toBe(0);
    const sent = [...lookedUp.lines, ...autoRegistered.lines];
    expect(sent).toHaveLength(3);
    expect(await env.contracts.admin.versions(subject)).toEqual(before);
    expect(before).toHaveLength(1);
    expect(murmur2Partition(lead)).not.toBe(crc32Partition(lead));
    for (const m of sent) {
      expect(m.schemaId).toBe(registered.id);
      expect(m.partition).toBe(murmur2Partition(lead));
    }
  });

  it('the lead is scored: the read API shows the visits and the stage they earned', async () => {
    // demo_request 25 + pricing_page 2 x 10 = 45 engagement >= 40, fit 20 >= 10: MQL.
    await eventually(
      'the lead to be MQL',
      async () => (await readLead(scorer, lead))?.stage === 'mql',
      30_000,
    );
    const body = (await readLead(scorer, lead))!;
    expect(body.scores?.engagement).toBeCloseTo(45, 1);
    expect(body.explanation?.contributions.map((c) => c.ruleId)).toEqual(
      expect.arrayContaining(['demo_request', 'pricing_page']),
    );
  });

  it('reads the stage change back with the AvroDeserializer', async () => {
    const r = await python([
      'consume',
      ...['--bootstrap', env.contracts.kafkaBrokers.join(','), '--registry', env.contracts.registryUrl],
      ...['--topic', env.contracts.catalogue.get('lead.stage-changed.v1').topic, '--key', lead],
      ...['--group', env.contracts.group('python-consumer'), '--timeout', '40'],
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [record] = r.lines as { partition: number; value: Record<string, unknown> }[];
    expect(record?.value).toMatchObject({
      leadId: lead,
      fromStage: 'unqualified',
      toStage: 'mql',
      triggeringEventId: `${lead}-v3`,
      eventTime: now + 3,
      modelVersion: (parse(readFileSync(MODEL_FILE, 'utf8')) as { version: string }).version,
      sequence: 1,
      scores: expect.objectContaining({ fit: 20 }),
    });
    // Our own producers follow the same partitioning contract.
    expect(record?.partition).toBe(murmur2Partition(lead));
  });
});

interface LeadView {
  stage?: string;
  scores?: Record<string, number>;
  explanation?: { contributions: { ruleId: string }[] };
}

async function readLead(scorer: InProcessScorer, lead: string): Promise<LeadView | undefined> {
  const res = await fetch(`http://127.0.0.1:${scorer.apiPort}/leads/${encodeURIComponent(lead)}`, {
    headers: AUTH,
  });
  return res.status === 200 ? ((await res.json()) as LeadView) : undefined;
}
