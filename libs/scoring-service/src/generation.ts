import { loadModel, type Model } from '@leadscorer/engine';
import { LeadScorerError } from '@leadscorer/errors';
import type { Logger, RedisClient } from '@leadscorer/runtime';
import { Poll } from './poll.ts';

/**
 * Generations of keys. Every lead record, outbox, schedule and state hash lives under a key
 * prefix; a rescore (npm run rescore) rebuilds every lead under a new model into a new
 * generation, a new prefix, while the services keep working on the active one, then switches
 * them over and deletes the old one. Which generation is active, and the model it was built
 * with, is one small key beside them, `<REDIS_KEY_PREFIX>#generation`, so that every service
 * and the read API follow the same one, and the model every writer uses is the generation's
 * (never a mix of two models in one generation).
 *
 * Generation 0 is the plain `REDIS_KEY_PREFIX`: a deployment that never rescored keeps the key
 * layout it always had. Generation n > 0 is `<REDIS_KEY_PREFIX>.g<n>`.
 */
export interface GenerationRecord {
  generation: number;
  /** The key prefix of this generation's keys. */
  prefix: string;
  modelVersion: string;
  /** The file the model came from, for messages. */
  modelFile: string;
  /** The model file's text: every writer of the generation scores with it. */
  model: string;
  /** Epoch ms the generation became active. */
  at: number;
}

export function generationKey(base: string): string {
  return `${base}#generation`;
}

export function generationPrefix(base: string, generation: number): string {
  return generation === 0 ? base : `${base}.g${generation}`;
}

export async function readGeneration(
  redis: RedisClient,
  base: string,
): Promise<GenerationRecord | undefined> {
  const raw = await redis.get(generationKey(base));
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw) as GenerationRecord;
  } catch {
    throw new LeadScorerError('CONFIG_INVALID', `${generationKey(base)} in Redis is not a generation record`);
  }
}

/** The generation's model, parsed: a file name that says where it came from. */
export function generationModel(record: GenerationRecord): Model {
  return loadModel(record.model, `${record.modelFile} (generation ${record.generation} in Redis)`);
}

export interface ActiveGenerationOptions<T> {
  redis: RedisClient;
  /** REDIS_KEY_PREFIX. */
  base: string;
  /** The configured model (MODEL_FILE), used for generation 0 when Redis has no record yet. */
  configured: { model: Model; text: string; file: string };
  log: Logger;
  /** Builds what a service needs per generation (its store, publisher...). */
  build: (record: GenerationRecord, model: Model) => T;
  /** Writers record generation 0 when there is none; readers (lead-api) only read. */
  create: boolean;
  pollMs?: number;
}

/**
 * The generation a service works on, followed as it changes: read at start, polled every
 * `pollMs`, and read again at once by `refresh()` (a writer whose commit was refused because its
 * generation was retired calls it). Listeners hear of each switch.
 */
export class ActiveGeneration<T extends { record: GenerationRecord; model: Model }> {
  private readonly opts: ActiveGenerationOptions<T>;
  private active: T | undefined;
  private readonly poll: Poll;
  private readonly listeners: ((g: T) => void)[] = [];
  private refreshing: Promise<boolean> | undefined;

  constructor(opts: ActiveGenerationOptions<T>) {
    this.opts = opts;
    this.poll = new Poll(
      opts.pollMs ?? 1_000,
      () => this.refresh(),
      (err) => opts.log.debug({ err }, 'could not read the active generation'),
    );
  }

  async init(): Promise<T> {
    const { redis, base, configured, create } = this.opts;
    let record = await readGeneration(redis, base);
    if (!record) {
      const first: GenerationRecord = {
        generation: 0,
        prefix: base,
        modelVersion: configured.model.version,
        modelFile: configured.file,
        model: configured.text,
        at: Date.now(),
      };
      if (create) await redis.set(generationKey(base), JSON.stringify(first), 'NX');
      record = (await readGeneration(redis, base)) ?? first;
    }
    this.active = this.make(record);
    if (record.modelVersion !== configured.model.version) {
      this.opts.log.warn(
        {
          generation: record.generation,
          activeModel: record.modelVersion,
          configuredModel: configured.model.version,
          modelFile: configured.file,
        },
        'scoring with the active generation model, not MODEL_FILE: npm run rescore -- --model <file> switches every service to another model',
      );
    }
    return this.active;
  }

  current(): T {
    if (!this.active) throw new Error('ActiveGeneration.init() was not called');
    return this.active;
  }

  onSwitch(listener: (g: T) => void): void {
    this.listeners.push(listener);
  }

  /** Reads the record now; true when the active generation changed. */
  refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      const record = await readGeneration(this.opts.redis, this.opts.base);
      const now = this.current();
      if (!record || (record.generation === now.record.generation && record.at === now.record.at))
        return false;
      this.active = this.make(record);
      this.opts.log.info(
        { generation: record.generation, model: record.modelVersion, prefix: record.prefix },
        'following the new active generation',
      );
      for (const l of this.listeners) l(this.active);
      return true;
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Polls for a switch until stop(). */
  start(): void {
    this.poll.start();
  }

  stop(): void {
    this.poll.stop();
  }

  private make(record: GenerationRecord): T {
    const model =
      record.model === this.opts.configured.text ? this.opts.configured.model : generationModel(record);
    return this.opts.build(record, model);
  }
}
