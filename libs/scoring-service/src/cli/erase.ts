import { parseArgs } from 'node:util';
import { createCatalogue } from '@leadscorer/contracts';
import { isLeadScorerError } from '@leadscorer/errors';
import { createKafka, createLogger, createRedis } from '@leadscorer/runtime';
import { Partitioners } from 'kafkajs';
import { loadScoringEnv } from '../config.ts';
import { eraseLead } from '../erasure.ts';

/**
 * `npm run erase -- <leadId>...`: erases leads now (docs/erasure.md), the way lead-context does
 * for a request on lead.erasure-requests.v1. Configured like the services, by environment.
 */
const USAGE = `Usage: npm run erase -- <leadId> [<leadId>...] [--by <who>]

Erases each lead (right to erasure): its score state, schedule and unpublished stage changes go,
a tombstone for it is written to lead.profile.v1 (the archiver then removes it from the history
archive), its later events are dropped for ERASURE_SUPPRESS_DAYS, and an audit record keeps only a
SHA-256 hash of the id. Prints each lead's hash and what was removed. Takes a few seconds per lead
(it looks again for what an event in flight wrote). Idempotent.

Options:
  --by <who>   the ticket or system asking (e.g. DSR-2041), kept in the audit record; no
               personal data

Environment: KAFKA_BROKERS, REDIS_URL, REDIS_KEY_PREFIX, TOPIC_PREFIX, ... as the services.
Systems that automate erasure publish to lead.erasure-requests.v1 instead.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      by: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    console.log(USAGE);
    return positionals.length === 0 && !values.help ? 2 : 0;
  }
  const bad = positionals.find((id) => id.length === 0 || id.length > 128);
  if (bad !== undefined) {
    console.error(`"${bad}" is not a lead id (1-128 characters)`);
    return 2;
  }
  const env = loadScoringEnv(process.env);
  const log = createLogger('erase', env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL);
  const redis = createRedis(env, 'lead-scorer.erase-cli');
  const kafka = createKafka(env, 'lead-scorer.erase-cli', log);
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await redis.connect();
  try {
    await producer.connect();
    for (const leadId of positionals) {
      const r = await eraseLead(
        {
          redis,
          base: env.REDIS_KEY_PREFIX,
          producer,
          catalogue: createCatalogue({ prefix: env.TOPIC_PREFIX }),
          log,
          suppressMs: env.ERASURE_SUPPRESS_DAYS * 86_400_000,
          sweepAfterMs: 2 * env.ERASURE_POLL_MS + 500,
        },
        leadId,
        { source: 'cli', requestedBy: values.by ?? null },
      );
      const what = r.removed.record
        ? `state removed${r.removed.outboxEntries > 0 ? `, ${r.removed.outboxEntries} unpublished stage changes dropped` : ''}`
        : 'no state stored';
      console.log(`erased lead sha256:${r.leadHash} (${what}${r.repeated ? '; erased before' : ''})`);
    }
    return 0;
  } finally {
    await producer.disconnect().catch(() => undefined);
    redis.disconnect();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(isLeadScorerError(err) ? err.message : String((err as Error)?.message ?? err));
    process.exit(1);
  },
);
