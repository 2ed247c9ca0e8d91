import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { commonEnvSchema } from '@leadscorer/runtime';
import { aclFileLine, serviceAclRules } from './infra/redis-acl.ts';

const USAGE = `usage: npm run redis-acl -- [--prefix <REDIS_KEY_PREFIX>] [--user <REDIS_USERNAME>]

Prints the Redis ACL user the services run as: the deployment's keys only (--prefix, default
REDIS_KEY_PREFIX or ls), only the commands the services send, the password as its SHA-256. The
password is REDIS_PASSWORD from the environment; without it a new one is made and printed once
(put it in the REDIS_PASSWORD Secret). Not an argument: shell history and ps would keep it.`;

/**
 * npm run redis-acl: the ACL line for redis.conf / an ACL file and the ACL SETUSER command, from
 * the one list the secure integration test proves (scripts/infra/redis-acl.ts).
 */
function main(args: string[], env: NodeJS.ProcessEnv): number {
  let values: { prefix?: string; user?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        prefix: { type: 'string' },
        user: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const prefix = commonEnvSchema.shape.REDIS_KEY_PREFIX.safeParse(values.prefix ?? env.REDIS_KEY_PREFIX);
  if (!prefix.success) {
    console.error(`--prefix: ${prefix.error.issues[0]?.message}`);
    return 2;
  }
  const user = values.user ?? env.REDIS_USERNAME ?? 'lead-scorer';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(user)) {
    console.error('--user: letters, digits, dot, dash or underscore (max 64)');
    return 2;
  }
  let password = env.REDIS_PASSWORD ?? '';
  if (password === '') {
    password = randomBytes(24).toString('hex');
    console.error(`new password for ${user} (REDIS_PASSWORD; shown once): ${password}\n`);
  }
  console.log(`# redis.conf or ACL file (the default user: \`user default off\` once nothing else uses it)
${aclFileLine(user, prefix.data, password)}

# a running Redis (ACL SAVE writes it to the ACL file, if there is one)
ACL SETUSER ${user} ${serviceAclRules(prefix.data, password).join(' ')}`);
  return 0;
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2), process.env);
