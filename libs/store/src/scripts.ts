import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, type Redis } from 'ioredis';

/**
 * The one loader of our Lua. Each script lives in its own file in ./lua with a header (KEYS,
 * ARGV, returns) and is registered once per client as an ioredis command: EVALSHA, falling back
 * to EVAL when Redis answers NOSCRIPT (after a restart or a failover the script cache is empty),
 * which on Redis Cluster goes to the node of the call's keys.
 */
const LUA_DIR = join(import.meta.dirname, 'lua');

export const SCRIPTS = {
  commit: { command: 'leadscorerCommit', file: 'commit.lua' },
  registerNames: { command: 'leadscorerRegisterNames', file: 'register-names.lua' },
  erase: { command: 'leadscorerErase', file: 'erase.lua' },
  snapshotLease: { command: 'leadscorerSnapshotLease', file: 'snapshot-lease.lua' },
  snapshotAck: { command: 'leadscorerSnapshotAck', file: 'snapshot-ack.lua' },
  zcards: { command: 'leadscorerZcards', file: 'zcards.lua' },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

type Call = (numKeys: number, ...keysAndArgs: (string | Buffer | number)[]) => Promise<unknown>;

/** The scripts as typed calls on `client`. */
export interface Scripts {
  commit: Call;
  registerNames: Call;
  erase: Call;
  snapshotLease: Call;
  snapshotAck: Call;
  zcards: Call;
}

export function scriptSource(name: ScriptName): string {
  return readFileSync(join(LUA_DIR, SCRIPTS[name].file), 'utf8');
}

export function defineScripts(client: Redis | Cluster): Scripts {
  const calls = {} as Record<ScriptName, Call>;
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    const { command } = SCRIPTS[name];
    if (!(command in client)) client.defineCommand(command, { lua: scriptSource(name) });
    const fn = (client as unknown as Record<string, Call>)[command]!;
    calls[name] = (...args) => fn.apply(client, args);
  }
  return calls;
}

export function isCluster(client: Redis | Cluster): client is Cluster {
  return client instanceof Cluster;
}
