import { createHash } from 'node:crypto';

/**
 * The Redis ACL user the services run as: their keys only, and only the commands they send.
 * One source for the line SREs put in their Redis (`npm run redis-acl`, deploy/README.md
 * "Security") and for the secure integration test, which runs every service through a Redis that
 * has nothing but this user (test/e2e/secure.int.test.ts): a command missing here fails that test.
 *
 * Keys: `<prefix>:*` (leads, outboxes, schedules, state hashes, the names hash, sales-alerts'
 * queues), `<prefix>#*` (the active generation record, the rescore lock, the erased-lead list and
 * the erasure audit) and `<prefix>.g<n>...`
 * (the generations a rescore builds). Not `<prefix>*`: that would also open `<prefix>x:*`, the keys
 * of another deployment whose prefix merely starts with ours.
 */
export const REDIS_SERVICE_COMMANDS = [
  // Connection: ioredis' ready check (INFO), connection names, /readyz, the publish hold (INFO).
  'ping',
  'info',
  'client|setname',
  // Redis Cluster: ioredis reads the slot map (harmless on a single Redis).
  'cluster|slots',
  // Lua (libs/store/src/lua, services/sales-alerts/src/lua): EVALSHA, EVAL after NOSCRIPT. The
  // commands a script calls are checked against this list too.
  'evalsha',
  'eval',
  // Transactions (sales-alerts' queue).
  'multi',
  'exec',
  'discard',
  // Strings: lead records, the generation record, the rescore lock, dedupe marks.
  'get',
  'mget',
  'set',
  'del',
  'unlink',
  // Hashes: state (epochs, positions), names, delivery jobs and attempts.
  'hget',
  'hgetall',
  'hset',
  'hsetnx',
  'hdel',
  'hincrby',
  'hlen',
  // Sorted sets: fading schedules, delivery due times, the erased-lead list.
  'zadd',
  'zrem',
  'zcard',
  'zscore',
  'zrange',
  'zrangebyscore',
  'zremrangebyscore',
  // Streams: the outboxes, the erasure audit.
  'xadd',
  'xrange',
  'xdel',
  'xlen',
  // The rescore walks a generation (never KEYS).
  'scan',
  // Redis's own clock for the updatedSince index (lua/commit.lua), so no client clock skews it.
  'time',
] as const;

/** The key patterns of a deployment whose REDIS_KEY_PREFIX is `prefix`. */
export function keyPatterns(prefix: string): string[] {
  return [`${prefix}:*`, `${prefix}#*`, `${prefix}.g[0-9]*`];
}

/**
 * The rules of the services' user, as `ACL SETUSER <user> <rules...>` takes them and as an ACL
 * file line `user <user> <rules...>`: on, the password as its SHA-256 (`#<hex>`: the Redis
 * configuration never holds it), no channels, no command but those above, no key but ours.
 */
export function serviceAclRules(prefix: string, password: string): string[] {
  const hash = createHash('sha256').update(password, 'utf8').digest('hex');
  return [
    'reset',
    'on',
    `#${hash}`,
    'resetchannels',
    ...keyPatterns(prefix).map((p) => `~${p}`),
    '-@all',
    ...REDIS_SERVICE_COMMANDS.map((c) => `+${c}`),
  ];
}

export function aclFileLine(user: string, prefix: string, password: string): string {
  return `user ${user} ${serviceAclRules(prefix, password).join(' ')}`;
}
