import { parseArgs } from 'node:util';
import { type DeadLetter, replayMessage } from '../dead-letter.ts';
import { type DeadLetterFilter, forEachDeadLetter } from '../dead-letter-reader.ts';
import { createRegistryClient } from '../serde.ts';
import type { Catalogue } from '../topics.ts';
import { parseFrame } from '../wire.ts';
import {
  type CliConfig,
  catalogueOf,
  cliConfig,
  kafkaOf,
  parseOrUsage,
  runCli,
  UsageError,
} from './common.ts';

const USAGE = `Usage: npm run dlq -- <inspect|replay> [options]

Commands:
  inspect   Print the dead letters of one input (or of all), one JSON line each: where the
            message came from, why it was dead-lettered, its key and headers, and its record
            when the value still decodes (validation failures do).
  replay    Re-publish matching dead letters to the topic they came from, with their original
            key, value and headers plus replay.count / replay.source. Run it after the fix.

Options:
  --topic <name>       Input topic (engagement.web-visit.v1) or its .dlq; replay requires it,
                       inspect reads every dead-letter topic without it.
  --code <CODE>        Only dead letters with this dlq.error.code, e.g. MESSAGE_VALIDATION_FAILED.
  --since <ISO time>   Only those dead-lettered at or after this time.
  --partition <n>      Only this partition of the dead-letter topic.
  --offset <n>         With --partition: only this offset.
  --limit <n>          At most this many.
  --dry-run            (replay) Print what would be re-published; publish nothing.
  -h, --help           Show this help.

Environment: KAFKA_BROKERS, KAFKA_SSL*, KAFKA_SASL_*, SCHEMA_REGISTRY_URL, TOPIC_PREFIX (see npm run topics -- --help).`;

async function main(argv: string[], config: () => CliConfig): Promise<number> {
  const { values, positionals } = parseOrUsage(() =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        topic: { type: 'string' },
        code: { type: 'string' },
        since: { type: 'string' },
        partition: { type: 'string' },
        offset: { type: 'string' },
        limit: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }),
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one command: inspect or replay');
  const command = positionals[0];
  if (command !== 'inspect' && command !== 'replay') throw new UsageError(`unknown command "${command}"`);
  if (values['dry-run'] && command !== 'replay') throw new UsageError('--dry-run applies to replay only');
  if (values.offset !== undefined && values.partition === undefined)
    throw new UsageError('--offset needs --partition');
  const filter: DeadLetterFilter = {
    code: values.code,
    since: values.since === undefined ? undefined : time(values.since),
    partition: values.partition === undefined ? undefined : int('--partition', values.partition, 0),
    offset: values.offset === undefined ? undefined : String(int('--offset', values.offset, 0)),
  };
  const limit = values.limit === undefined ? undefined : int('--limit', values.limit, 1);

  const cfg = config();
  const catalogue = catalogueOf(cfg);
  const topics = values.topic === undefined ? undefined : [deadLetterTopic(catalogue, values.topic)];
  if (command === 'replay' && topics === undefined) throw new UsageError('replay needs --topic');
  const kafka = kafkaOf(cfg, 'lead-scorer-dlq');
  const onSkip = (where: string, why: string) => console.error(`skipped ${where}: ${why}`);

  if (command === 'inspect') {
    const show = describer(cfg);
    let total = 0;
    for (const topic of topics ??
      [...catalogue.inputs, ...catalogue.controls].map((t) => t.deadLetterTopic!)) {
      const left = limit === undefined ? undefined : limit - total;
      if (left === 0) break;
      total += await forEachDeadLetter(
        kafka,
        topic,
        async (dl) => console.log(JSON.stringify(await show(dl))),
        {
          filter,
          limit: left,
          onSkip,
        },
      );
    }
    console.error(`${total} dead letter(s)`);
    return 0;
  }

  const dryRun = values['dry-run'];
  const producer = kafka.producer();
  if (!dryRun) await producer.connect();
  try {
    const count = await forEachDeadLetter(
      kafka,
      topics![0]!,
      async (dl) => {
        const { topic, message } = replayMessage(dl);
        if (!dryRun) await producer.send({ topic, acks: -1, messages: [message] });
        console.log(`${dryRun ? 'would replay' : 'replayed'} ${where(dl)} -> ${topic} (${dl.reason.code})`);
      },
      { filter, limit, onSkip },
    );
    console.error(`${count} dead letter(s) ${dryRun ? 'would be ' : ''}replayed`);
    return 0;
  } finally {
    if (!dryRun) await producer.disconnect();
  }
}

function deadLetterTopic(catalogue: Catalogue, name: string): string {
  // Accept the physical or the logical (unprefixed) name, of the input or of its .dlq.
  for (const candidate of [name, catalogue.prefix + name]) {
    const entry = catalogue.byTopic(candidate) ?? catalogue.byDeadLetterTopic(candidate);
    if (entry?.deadLetterTopic) return entry.deadLetterTopic;
  }
  const inputs = [...catalogue.inputs, ...catalogue.controls].map((t) => t.topic).join(', ');
  throw new UsageError(`"${name}" is not an input topic or its dead-letter topic; inputs: ${inputs}`);
}

/** A JSON-friendly view of a dead letter; the value is decoded with its writer schema if it can be. */
function describer(cfg: CliConfig): (dl: DeadLetter) => Promise<Record<string, unknown>> {
  const registry = createRegistryClient(cfg.registryUrl, cfg.registryAuth);
  return async (dl) => {
    let record: unknown = null;
    try {
      const frame = parseFrame(dl.topic, dl, { maxValueBytes: Number.POSITIVE_INFINITY });
      const writer = (await registry.getSchema(frame.schemaId)) as unknown as {
        fromBuffer(b: Buffer): unknown;
      };
      record = writer.fromBuffer(frame.body);
    } catch {
      // Not decodable (that may be why it is here): show bytes instead.
    }
    const headers = Object.fromEntries(
      Object.entries(dl.headers).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('utf8') : v]),
    );
    return {
      deadLetter: where(dl),
      code: dl.reason.code,
      message: dl.reason.message,
      details: safeJson(dl.reason.details),
      source: `${dl.reason.sourceTopic}:${dl.reason.sourcePartition}:${dl.reason.sourceOffset}`,
      service: dl.reason.service,
      time: dl.reason.time,
      key: dl.key?.toString('utf8') ?? null,
      valueBytes: dl.value?.length ?? 0,
      ...(record === null ? { valueHead: dl.value?.subarray(0, 64).toString('hex') ?? null } : { record }),
      headers,
    };
  };
}

function where(dl: DeadLetter): string {
  return `${dl.topic}:${dl.partition}:${dl.offset}`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function int(flag: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${flag} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

function time(raw: string): number {
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new UsageError(`--since must be an ISO 8601 time, got "${raw}"`);
  return t;
}

runCli(USAGE, () => main(process.argv.slice(2), () => cliConfig(process.env)));
