import { parseArgs } from 'node:util';
import { isLeadScorerError } from '@leadscorer/errors';
import { abortRescore, rescore } from '@leadscorer/rescore';
import { createLogger } from '@leadscorer/runtime';
import { loadScoringEnv, readModelFile } from '@leadscorer/scoring-service';

/**
 * `npm run rescore`: every lead rebuilt from its history under a model, and every service
 * switched to it (libs/rescore, docs/rescore.md). Configured like the services, by environment.
 */
const USAGE = `Usage: npm run rescore -- --model FILE [options]
       npm run rescore -- --abort

Rebuilds every lead's state from its history (the archive, then the topics beyond it) under the
model FILE into a new generation of Redis keys, catches up with the live topics while the
services go on, pauses their writes for a few seconds to finish, then switches every service and
the read API to it and deletes the old generation. Leads whose stage under FILE differs from the
stage published before get one stage change, cause MODEL_CHANGE. With the current model, and a
Redis that lost its data, it rebuilds the lost state instead (nothing is published).

Options:
  --model FILE              the model to rescore with (checked first: npm run model -- check)
  --archive DIR             the archive (default: ARCHIVE_DIR, as the archiver's)
  --allow-missing-history   switch although some history is gone (offsets neither archived nor on
                            the topics, or leads with no event left): those start over
  --grace-ms MS             wait before deleting the old generation (default 10000)
  --threads N               threads that replay and load, each a part of the leads (default: one
                            per core, at most 4; 1 runs everything in the main thread)
  --abort                   clean up after a rescore that died: unfreeze the old generation and
                            delete the new one (or, past the switch, delete the old one)
  -h, --help                this text

Environment: REDIS_URL, REDIS_KEY_PREFIX, KAFKA_BROKERS, SCHEMA_REGISTRY_URL, TOPIC_PREFIX,
PUBLISH_HOLD_MS, ... as the services (README, Configuration).`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let values: {
    model?: string;
    archive?: string;
    'allow-missing-history'?: boolean;
    'grace-ms'?: string;
    threads?: string;
    abort?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        archive: { type: 'string' },
        'allow-missing-history': { type: 'boolean' },
        'grace-ms': { type: 'string' },
        threads: { type: 'string' },
        abort: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const log = createLogger(
    'rescore',
    process.env.LOG_LEVEL === undefined ? 'warn' : (process.env.LOG_LEVEL as 'warn'),
  );
  if (values.abort) {
    if (values.model) throw new UsageError('--abort takes no --model');
    console.log(await abortRescore(loadScoringEnv(process.env), log));
    return 0;
  }
  if (!values.model) throw new UsageError('--model FILE is required');
  const graceMs = values['grace-ms'] === undefined ? undefined : Number(values['grace-ms']);
  if (graceMs !== undefined && !(Number.isInteger(graceMs) && graceMs >= 0)) {
    throw new UsageError(`--grace-ms: ${values['grace-ms']} is not a whole number of milliseconds`);
  }
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) {
    throw new UsageError(`--threads: ${values.threads} is not a whole number from 1 to 64`);
  }
  const archiveDir = values.archive ?? process.env.ARCHIVE_DIR;
  if (!archiveDir)
    throw new UsageError('--archive DIR (or ARCHIVE_DIR) is required: the history to rebuild from');
  const model = readModelFile(values.model);
  const env = loadScoringEnv(process.env);
  const started = performance.now();
  const report = await rescore({
    env,
    model,
    archiveDir,
    log,
    ...(values['allow-missing-history'] ? { allowMissingHistory: true } : {}),
    ...(graceMs !== undefined ? { graceMs } : {}),
    ...(threads !== undefined ? { threads } : {}),
    progress: (line) => console.log(`[rescore] ${line}`),
  });
  const total = Math.round(performance.now() - started) / 1000;
  console.log(
    `[rescore] done in ${total} s: generation ${report.from} -> ${report.to}, model ${report.model}, ${report.leads} leads, ${report.events} events replayed, ${report.caughtUp} leads caught up, ${report.modelChanges} stage changes (MODEL_CHANGE), writes paused ${report.seconds.paused ?? 0} s`,
  );
  console.log(
    `[rescore] seconds: ${Object.entries(report.seconds)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    console.error(isLeadScorerError(err) ? err.message : String((err as Error)?.stack ?? err));
    process.exit(1);
  },
);
