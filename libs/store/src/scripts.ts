import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, type Redis } from 'ioredis';
import type { LuaModel } from './script-model.ts';

/**
 * The one loader of our Lua. The scripts live one per file in ./lua with a header (KEYS, ARGV,
 * returns); shared code lives in ./lua/includes. They are loaded as ONE Redis function library
 * per model version (Redis 7 FUNCTION LOAD), because a library's top-level code runs once at
 * load: the model is decoded and indexed there, once, instead of on every call (decoding it per
 * call cost more than scoring the events). Each script file becomes the body of a function.
 *
 * Library and function names carry a hash of the model and the code, so several versions can
 * be loaded side by side during a rolling deploy. Redis forgets functions on a restart without
 * persistence (and a new Cluster master has none): callers reload on "function not found".
 */
const LUA_DIR = join(import.meta.dirname, 'lua');
const INCLUDES = ['engine', 'persistence'] as const;
const SCRIPTS = { apply: 'apply-events', advance: 'advance-leads' } as const;

export type ScriptName = keyof typeof SCRIPTS;

export interface ScriptLibrary {
  name: string;
  /** Function name per script, e.g. apply -> ls_apply_1a2b3c4d5e. */
  functions: Record<ScriptName, string>;
  source: string;
}

function read(path: string): string {
  return readFileSync(join(LUA_DIR, path), 'utf8');
}

/** A Lua 5.1 string literal: JSON's escapes minus \uXXXX, which Lua 5.1 lacks (\ddd instead). */
function luaString(s: string): string {
  return JSON.stringify(s).replace(/\\u([0-9a-f]{4})/gi, (_, hex: string) => {
    const code = Number.parseInt(hex, 16);
    if (code > 255) throw new Error(`cannot embed U+${hex} escape in a Lua 5.1 string`);
    return `\\${String(code).padStart(3, '0')}`;
  });
}

/**
 * A JSON-like value as a Lua table constructor. A library's load-time code cannot use cjson
 * (Redis exposes only a minimal API while loading), so the model is embedded as a literal.
 */
export function toLuaLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot embed ${value} in Lua`);
    return Number.isInteger(value) ? String(value) : value.toPrecision(17);
  }
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return luaString(value);
  if (Array.isArray(value)) return `{ ${value.map(toLuaLiteral).join(', ')} }`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{ ${entries.map(([k, v]) => `[${luaString(k)}] = ${toLuaLiteral(v)}`).join(', ')} }`;
}

export function buildLibrary(model: LuaModel): ScriptLibrary {
  const modelJson = JSON.stringify(model);
  const includes = INCLUDES.map((i) => read(`includes/${i}.lua`)).join('\n');
  const bodies = Object.fromEntries(Object.entries(SCRIPTS).map(([k, f]) => [k, read(`${f}.lua`)])) as Record<
    ScriptName,
    string
  >;
  const hash = createHash('sha1')
    .update(modelJson)
    .update(includes)
    .update(Object.values(bodies).join('\n'))
    .digest('hex')
    .slice(0, 10);
  const functions = { apply: `ls_apply_${hash}`, advance: `ls_advance_${hash}` };
  const source = [
    `#!lua name=leadscorer_${hash}`,
    includes,
    // Load-time code may only build tables (not even ipairs is there): the lookup indexes are
    // added on the first call and kept, since M lives as long as the library.
    '-- The model, built once when the library is loaded; indexed on first use.',
    `local M = ${toLuaLiteral(model)}`,
    ...Object.entries(bodies).map(
      ([k, body]) =>
        `redis.register_function('${functions[k as ScriptName]}', function(KEYS, ARGV)\n${body}\nend)`,
    ),
  ].join('\n');
  return { name: `leadscorer_${hash}`, functions, source };
}

export function isCluster(client: Redis | Cluster): client is Cluster {
  return client instanceof Cluster;
}

function masters(client: Redis | Cluster): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}

/** Loads (or replaces) the library on every master. Idempotent. */
export async function loadLibrary(client: Redis | Cluster, lib: ScriptLibrary): Promise<void> {
  await Promise.all(masters(client).map((node) => node.call('FUNCTION', 'LOAD', 'REPLACE', lib.source)));
}

export function isFunctionMissing(err: unknown): boolean {
  return /function not found|no such function/i.test((err as Error)?.message ?? '');
}
