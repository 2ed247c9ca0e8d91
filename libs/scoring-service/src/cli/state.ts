import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { stateOf } from '@leadscorer/core';
import { isLeadScorerError } from '@leadscorer/errors';
import { createRedis } from '@leadscorer/runtime';
import { RedisScoreStore, SHARDS } from '@leadscorer/store';
import { loadScoringEnv } from '../config.ts';
import { generationModel, readGeneration } from '../generation.ts';
import { readModel } from '../wiring.ts';

/**
 * `npm run state -- <command>`: what an SRE runs when the services say Redis lost its state
 * (deploy/README.md#leadscorerstatelost). Configured like the services, by environment.
 */
const USAGE = `Usage: npm run state -- <command> [options]

The lead scorer's state in Redis: which epoch (life of the data) every shard holds.

Commands:
  status                  every shard's state epoch: ok, empty, or mixed (part of the data lost)
  accept-empty --yes      start over with empty state: a new epoch in every shard. The services,
                          waiting since they found the state gone, resume within seconds and score
                          every lead from its next event on; stage changes get ids that cannot
                          collide with those published before. Prefer rebuilding from history
                          (npm run rescore) when the history is there.

Environment: REDIS_URL, REDIS_CLUSTER_NODES, REDIS_KEY_PREFIX, MODEL_FILE, ... as the services.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      yes: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || command === undefined) {
    console.log(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (command !== 'status' && command !== 'accept-empty') {
    console.error(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  const env = loadScoringEnv(process.env);
  const redis = createRedis(env, 'lead-scorer.state-cli');
  await redis.connect();
  try {
    // The active generation of keys (a rescore moves it); generation 0 is the plain prefix.
    const record = await readGeneration(redis, env.REDIS_KEY_PREFIX);
    const prefix = record?.prefix ?? env.REDIS_KEY_PREFIX;
    const store = new RedisScoreStore({
      client: redis,
      keys: { prefix, shards: SHARDS },
      model: record ? generationModel(record) : readModel(env.MODEL_FILE),
    });
    const status = stateOf(await store.epochs());
    const describe =
      status.kind === 'ok'
        ? `ok: every shard holds epoch ${status.epoch}`
        : status.kind === 'empty'
          ? 'empty: no shard holds a state epoch (a new deployment, or everything was lost)'
          : `mixed: ${status.epochs.filter((e) => e === null).length} of ${status.epochs.length} shards hold no epoch, epochs seen: ${[...new Set(status.epochs.filter((e) => e !== null))].join(', ')}`;
    console.log(`key prefix ${prefix} (generation ${record?.generation ?? 0}): ${describe}`);
    if (command === 'status') return 0;
    if (!values.yes) {
      console.error('accept-empty starts every lead over from zero: add --yes to confirm');
      return 2;
    }
    const epoch = randomBytes(8).toString('hex');
    await store.initialize(epoch, true);
    console.log(`state epoch set to ${epoch} in every shard: the services resume within seconds`);
    return 0;
  } finally {
    redis.disconnect();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(isLeadScorerError(err) ? err.message : String((err as Error)?.stack ?? err));
    process.exit(1);
  },
);
