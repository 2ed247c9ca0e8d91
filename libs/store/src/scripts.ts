import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';

/**
 * The one loader of Lua scripts. Each script is a file in ./lua with a header (KEYS, ARGV,
 * returns); shared code lives in ./lua/includes and is pulled in by a line
 *   --@include name
 * The assembled source is registered on the client with ioredis's defineCommand, which runs
 * EVALSHA and falls back to EVAL on NOSCRIPT (after a Redis restart or failover), per node on Cluster.
 */
const LUA_DIR = join(import.meta.dirname, 'lua');

export function assemble(name: string, seen = new Set<string>()): string {
  const file = seen.size === 0 ? join(LUA_DIR, `${name}.lua`) : join(LUA_DIR, 'includes', `${name}.lua`);
  const source = readFileSync(file, 'utf8');
  return source.replace(/^--@include (\S+)\s*$/gm, (_, inc: string) => {
    if (seen.has(inc)) return '';
    seen.add(inc);
    return assemble(inc, seen);
  });
}

export interface ScriptInfo {
  name: string;
  sha1: string;
  source: string;
}

export const SCRIPT_NAMES = ['applyEvents', 'advanceLeads'] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

const FILES: Record<ScriptName, string> = {
  applyEvents: 'apply-events',
  advanceLeads: 'advance-leads',
};

export function scriptInfo(name: ScriptName): ScriptInfo {
  const source = assemble(FILES[name]);
  return { name, sha1: createHash('sha1').update(source).digest('hex'), source };
}

/** Scripts take a variable number of keys: the key count is passed as the first argument. */
export type ScriptCall = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;

export type ScriptClient = (Redis | Cluster) & Record<ScriptName, ScriptCall>;

export function registerScripts(client: Redis | Cluster): ScriptClient {
  for (const name of SCRIPT_NAMES) {
    if (!(name in client)) client.defineCommand(name, { lua: scriptInfo(name).source });
  }
  return client as ScriptClient;
}
