import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadModel, parseDuration } from '@leadscorer/engine';
import { isMap, isScalar, parseDocument } from 'yaml';

/**
 * The model `npm start` runs. The user's file is validated first, so a slip in it is reported
 * against that file before anything starts. The demo then runs a copy whose half-lives are
 * divided by 10,080 (a week of fading becomes a minute: the default's 14d and 7d become 120s
 * and 60s), edited in place so that every line of the copy is the same line of the user's file:
 * a problem in the copy, seen by us or by a service, is reported at the user's file and line.
 */

/** A week in minutes: the demo's time compression. */
export const DEMO_SPEEDUP = 10_080;
const MAX_VERSION = 64;

export interface RunModel {
  /** The file the services load. */
  file: string;
  /** The version the services run (the demo copy's ends in -demo). */
  version: string;
  /** Half-lives the services run with, for the banner: `engagement 120s, product 60s`. */
  halfLives: string;
  /** Turns the copy's path in a message into the user's file (lines are the same). */
  mapBack(text: string): string;
}

/** A problem the user fixes in their model file: printed as the message alone. */
export class ModelRefused extends Error {}

/**
 * `user.path` is read, `user.label` names it in messages (the path as the user typed it).
 * Without `demoFile` the services load the user's file itself (--real-time).
 */
export function prepareModel(user: { path: string; label: string }, demoFile: string | undefined): RunModel {
  let text: string;
  try {
    text = readFileSync(user.path, 'utf8');
  } catch (err) {
    throw new ModelRefused(
      `${user.label}: cannot read the model file (${(err as NodeJS.ErrnoException).code})`,
    );
  }
  const version = refuseInvalid(text, user.label, '');
  if (demoFile === undefined) {
    return { file: user.path, version, halfLives: halfLivesOf(text), mapBack: (t) => t };
  }
  const demo = demoModelText(text);
  const demoVersion = refuseInvalid(
    demo,
    user.label,
    ` (in its demo copy ${demoFile}: half-lives divided by ${DEMO_SPEEDUP})`,
  );
  mkdirSync(dirname(demoFile), { recursive: true });
  writeFileSync(demoFile, demo);
  return {
    file: demoFile,
    version: demoVersion,
    halfLives: halfLivesOf(demo),
    mapBack: (t) => t.replaceAll(demoFile, `${user.label} (demo copy)`),
  };
}

/** The model's version, or ModelRefused with the engine's `file:line: field: why` lines. */
function refuseInvalid(text: string, label: string, where: string): string {
  try {
    return loadModel(text, label).version;
  } catch (err) {
    throw new ModelRefused(`${err instanceof Error ? err.message : String(err)}${where}`);
  }
}

/**
 * The demo copy of a valid model's text: each `halfLife` value divided by DEMO_SPEEDUP and
 * `-demo` appended to the version, each value replaced where it stands (no line moves).
 */
export function demoModelText(text: string): string {
  const doc = parseDocument(text);
  const edits: { at: [number, number]; value: string }[] = [];
  const version = doc.get('version', true);
  if (isScalar(version) && version.range) {
    const v = String(version.value);
    const demo = `${v.slice(0, MAX_VERSION - '-demo'.length)}-demo`;
    edits.push({ at: [version.range[0], version.range[1]], value: JSON.stringify(demo) });
  }
  const dims = doc.get('dimensions', true);
  if (isMap(dims)) {
    for (const pair of dims.items) {
      const half = isMap(pair.value) ? pair.value.get('halfLife', true) : undefined;
      if (!isScalar(half) || !half.range) continue;
      edits.push({ at: [half.range[0], half.range[1]], value: demoHalfLife(String(half.value)) });
    }
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.at[0] - a.at[0])) {
    out = out.slice(0, e.at[0]) + e.value + out.slice(e.at[1]);
  }
  return out;
}

/**
 * `14d` -> `120s`: at least 1 ms, below 10 s in ms, else in the smallest unit from seconds up
 * whose count fits the model's 6 digits.
 */
export function demoHalfLife(spec: string): string {
  const ms = Math.max(1, Math.round(parseDuration(spec)! / DEMO_SPEEDUP));
  if (ms < 10_000) return `${ms}ms`;
  const units: [string, number][] = [
    ['s', 1000],
    ['m', 60_000],
    ['h', 3_600_000],
    ['d', 86_400_000],
  ];
  for (const [unit, size] of units)
    if (Math.round(ms / size) <= 999_999) return `${Math.round(ms / size)}${unit}`;
  return `${Math.round(ms / 604_800_000)}w`;
}

function halfLivesOf(text: string): string {
  const dims = parseDocument(text).toJS()?.dimensions as Record<string, { halfLife?: string }> | undefined;
  return Object.entries(dims ?? {})
    .filter(([, d]) => d.halfLife !== undefined)
    .map(([name, d]) => `${name} ${d.halfLife}`)
    .join(', ');
}
