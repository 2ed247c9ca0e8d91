import { parseArgs } from 'node:util';
import { ensureTopics } from '../topic-admin.ts';
import {
  type CliConfig,
  catalogueOf,
  cliConfig,
  kafkaOf,
  parseOrUsage,
  runCli,
  UsageError,
} from './common.ts';

const USAGE = `Usage: npm run topics [-- options]

Creates or updates every topic of the catalogue (libs/contracts/src/topics.ts): the inputs, their
dead-letter topics and the output. Idempotent: creates what is missing, adds partitions, sets
cleanup.policy and retention.ms; never removes partitions or other per-topic settings.

Options:
  --dry-run   Print the topics and settings the catalogue asks for; contact no broker.
  -h, --help  Show this help.

Environment:
  KAFKA_BROKERS             Comma-separated bootstrap brokers (default 127.0.0.1:19092)
  KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD
                            TLS and SASL, as for the services (README, Configuration)
  TOPIC_PREFIX              Prefix of every topic name, e.g. staging. (default none)
  TOPIC_PARTITIONS          Overrides the partition count of inputs and output
  TOPIC_REPLICATION_FACTOR  Replication factor of new topics (default: the broker's default)`;

async function main(argv: string[], config: () => CliConfig): Promise<number> {
  const { values, positionals } = parseOrUsage(() =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }),
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const cfg = config();
  const specs = catalogueOf(cfg).specs();
  if (values['dry-run']) {
    for (const s of specs) {
      const settings = Object.entries(s.config).map(([k, v]) => `${k}=${v}`);
      console.log(
        `${s.topic}  partitions=${s.partitions} replication=${s.replicationFactor} ${settings.join(' ')}`,
      );
    }
    return 0;
  }
  const admin = kafkaOf(cfg, 'lead-scorer-topics').admin();
  await admin.connect();
  try {
    for (const r of await ensureTopics(admin, specs)) {
      console.log(
        `${r.action.padEnd(9)} ${r.topic}${r.changes.length > 0 ? `: ${r.changes.join('; ')}` : ''}`,
      );
      // Warnings (more partitions than the catalogue asks for) do not fail the run: the topic works.
      for (const w of r.warnings) console.log(`warning   ${r.topic}: ${w}`);
    }
    return 0;
  } finally {
    await admin.disconnect();
  }
}

runCli(USAGE, () => main(process.argv.slice(2), () => cliConfig(process.env)));
