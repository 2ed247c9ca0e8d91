import { randomBytes } from 'node:crypto';
import type { Position, StateEpochs } from './ports.ts';

/**
 * Which life of the stored data this is. A store is initialised once with an epoch, written into
 * every shard; every commit checks it, so state written for one life is never mixed with another's.
 * The first life of a deployment is the genesis epoch '0'; a store that lost its data and was
 * accepted empty (or rebuilt) gets a new, random one, and stage-change ids carry it (the engine's
 * `transitionId`), so a sequence number that starts over never reuses an id of the life before.
 */
export const GENESIS_EPOCH = '0';

/**
 * The epoch a rescore writes into every shard of the generation of keys it replaces
 * (`retired:<new generation>`): commits to it are refused with GENERATION_RETIRED, and writers
 * follow the active generation.
 */
export const RETIRED = 'retired:';

export type StateStatus =
  /** No shard holds an epoch: nothing was ever written, or everything was lost. */
  | { kind: 'empty' }
  /** Every shard holds the same epoch. */
  | { kind: 'ok'; epoch: string }
  /** Some shards hold no epoch or another one: part of the data was lost or replaced. */
  | { kind: 'mixed'; epochs: StateEpochs };

export function stateOf(epochs: StateEpochs): StateStatus {
  const present = epochs.filter((e): e is string => e !== null);
  if (present.length === 0) return { kind: 'empty' };
  if (present.length === epochs.length && present.every((e) => e === present[0])) {
    return { kind: 'ok', epoch: present[0]! };
  }
  return { kind: 'mixed', epochs };
}

/**
 * Position marks: `<offset>@<stamp>`, the stamp unique to the commit call that wrote it (this
 * process's random writer id and a counter). Both stores write them; `parsePosition` also reads
 * a bare offset.
 */
export class PositionMarks {
  private readonly writer = randomBytes(5).toString('hex');
  private count = 0;

  next(offset: number): string {
    return `${offset}@${this.writer}.${(this.count++).toString(36)}`;
  }
}

export function parsePosition(raw: string | null | undefined): Position | null {
  if (raw === null || raw === undefined) return null;
  const at = raw.indexOf('@');
  return { offset: Number(at < 0 ? raw : raw.slice(0, at)), mark: raw };
}
