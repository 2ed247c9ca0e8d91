import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type Catalogue, createCatalogue, createRegistryClient, createSerde } from '@leadscorer/contracts';
import {
  HISTORY_LENGTH,
  indexEntry,
  type LeadWrite,
  newRecord,
  RETIRED,
  rebaseLead,
  type StoredLead,
  stateOf,
} from '@leadscorer/core';
import type { Model } from '@leadscorer/engine';
import { LeadScorerError } from '@leadscorer/errors';
import { fetchTail } from '@leadscorer/replay';
import {
  createKafka,
  createMetrics,
  createRedis,
  type Logger,
  type RedisClient,
  registryAuth,
} from '@leadscorer/runtime';
import {
  CONSUMERS,
  type ConsumerName,
  clockOf,
  defaultGroup,
  ErasedLeads,
  type GenerationRecord,
  generationKey,
  generationModel,
  generationPrefix,
  KafkaStageChangeSink,
  readGeneration,
  readModel,
  resolvePublishHold,
  type ScoringEnv,
  StageChangePublisher,
} from '@leadscorer/scoring-service';
import { dropGeneration, leadIds, outboxKey, RedisScoreStore, SHARDS } from '@leadscorer/store';
import { type Kafka, Partitioners } from 'kafkajs';
import { CatchUp } from './catch-up.ts';
import { type RescoreLock, readLock, releaseLock, setPhase, takeLock } from './lock.ts';
import { defaultThreads, replayAndLoad } from './rebuild-parts.ts';

/**
 * Rescoring by replay (docs/rescore.md): every lead rebuilt from its history under a model into a
 * new generation of keys, caught up with the live topics, continued from what subscribers were
 * told, then every service and the read API switched to it and the old generation deleted.
 *
 *  1. replay   the archive and the topics beyond it through the engine in process (libs/replay)
 *  2. load     the rebuilt records into the new generation (same epoch; a fresh one to rebuild)
 *  3. catch up apply what arrived since with the live services' own processor, to a small lag
 *  4. freeze   retire the old generation: the services' commits to it are refused from now on
 *              (they wait for the switch; nothing is applied twice or lost: see catch-up.ts)
 *  5. finish   catch up to the topics' end as of the freeze; publish what the old generation's
 *              outbox still holds
 *  6. rebase   continue each lead from the record the old generation holds (engine `rebase`):
 *              its sequence and history; a stage that differs is one stage change, cause
 *              model-change
 *  7. switch   the generation record names the new generation and model: every service follows
 *              within a second; the model-change changes are published
 *  8. delete   the old generation, after a grace period
 *
 * With the old generation lost (Redis lost its data: no state epoch), it rebuilds instead: each
 * partition is replayed up to where its consumer group's committed offset is (what the services
 * had applied, and published, before the loss), with a fresh epoch (so no stage-change id is
 * reused), nothing is caught up, frozen or published; the services, waiting since they found the
 * state gone, resume on the new generation from their committed offsets and publish what they
 * derive from there, as if Redis had never lost anything.
 * Any failure before the switch undoes the freeze and deletes the new generation.
 */
export interface RescoreOptions {
  env: ScoringEnv;
  /** The model to rescore with (the current one rebuilds). */
  model: { model: Model; text: string; file: string };
  archiveDir: string;
  log: Logger;
  /** Switch although some leads of the old generation have no history to rebuild them from. */
  allowMissingHistory?: boolean;
  /** Wait before the old generation is deleted (readers may still be on it). Default 10 s. */
  graceMs?: number;
  /** The lag (messages) at which the old generation is frozen. Default 2,000. */
  freezeAtLag?: number;
  /** The consumer services' groups, where CONSUMER_GROUP names others (a rebuild reads them). */
  groups?: Partial<Record<ConsumerName, string>>;
  /** Threads that replay and load, each a part of the leads (default: one per core, at most 4). */
  threads?: number;
  progress?: (line: string) => void;
}

export interface RescoreReport {
  from: number;
  to: number;
  rebuild: boolean;
  model: string;
  leads: number;
  events: number;
  caughtUp: number;
  modelChanges: number;
  missingHistory: number;
  /** Seconds per phase, and writes paused (freeze to switch). */
  seconds: Record<string, number>;
}

export async function rescore(o: RescoreOptions): Promise<RescoreReport> {
  const { env, log } = o;
  const say = o.progress ?? ((line: string) => log.info(line));
  const base = env.REDIS_KEY_PREFIX;
  const clock = clockOf(env);
  const redis = createRedis(env, 'lead-scorer.rescore');
  const kafka = createKafka(env, 'lead-scorer.rescore', log);
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const catalogue = createCatalogue({ prefix: env.TOPIC_PREFIX });
  const serde = createSerde({
    registry: createRegistryClient(env.SCHEMA_REGISTRY_URL, registryAuth(env)),
    catalogue,
  });
  const metrics = createMetrics('rescore', { defaultMetrics: false });
  const seconds: Record<string, number> = {};
  let t = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    seconds[name] = Math.round(now - t) / 1000;
    t = now;
  };
  await redis.connect();
  await producer.connect();
  let lock: RescoreLock | undefined;
  let catchUp: CatchUp | undefined;
  let frozen: { store: RedisScoreStore; epoch: string } | undefined;
  let switched = false;
  try {
    // What is active now, and whether it still holds its state.
    const from: GenerationRecord = (await readGeneration(redis, base)) ?? {
      generation: 0,
      prefix: base,
      modelVersion: o.model.model.version,
      modelFile: o.model.file,
      model: o.model.text,
      at: 0,
    };
    const old = new RedisScoreStore({
      client: redis,
      keys: { prefix: from.prefix, shards: SHARDS },
      model: generationModel(from),
    });
    const status = stateOf(await old.epochs());
    if (status.kind === 'ok' && status.epoch.startsWith(RETIRED)) {
      throw new LeadScorerError(
        'CONFIG_INVALID',
        `generation ${from.generation} is retired (${status.epoch}) but still active: a rescore was interrupted; run npm run rescore -- --abort`,
      );
    }
    const rebuild = status.kind !== 'ok';
    const epoch = status.kind === 'ok' ? status.epoch : randomBytes(8).toString('hex');
    const to = from.generation + 1;
    const toPrefix = generationPrefix(base, to);
    lock = {
      from: from.generation,
      fromPrefix: from.prefix,
      to,
      toPrefix,
      epoch: status.kind === 'ok' ? status.epoch : null,
      phase: 'building',
      startedAt: Date.now(),
      host: hostname(),
      pid: process.pid,
    };
    const held = await takeLock(redis, base, lock);
    if (held) {
      lock = undefined;
      throw new LeadScorerError(
        'CONFIG_INVALID',
        `a rescore to generation ${held.to} holds the lock since ${new Date(held.startedAt).toISOString()} (${held.host} pid ${held.pid}, phase ${held.phase}): wait for it, or run npm run rescore -- --abort if it died`,
      );
    }
    const model = o.model.model;
    const next = new RedisScoreStore({ client: redis, keys: { prefix: toPrefix, shards: SHARDS }, model });
    await dropGeneration(redis, next.keys);
    await next.initialize(epoch, true);
    say(
      rebuild
        ? `rebuilding generation ${from.generation}'s lost state into generation ${to} under model ${model.version}`
        : `rescoring generation ${from.generation} (model ${from.modelVersion}) into generation ${to} under model ${model.version}`,
    );

    // 1-2. Replay and load, split by lead over threads that each load their own leads (a rebuild
    // stops where the services' groups are); every lead but the erased (their events may still be
    // on the topics). What the topics hold beyond the archive is read once, here.
    const fixed = env.CLOCK_FIXED_MS;
    const stops = rebuild ? await groupOffsets(kafka, catalogue, o.groups ?? {}) : undefined;
    const fetched = await fetchTail({
      catalogue,
      archiveDir: o.archiveDir,
      topics: { kafka, registryUrl: env.SCHEMA_REGISTRY_URL },
    });
    let replayed: Awaited<ReturnType<typeof replayAndLoad>>;
    const erased = new ErasedLeads({
      redis,
      base,
      log,
      pollMs: 1_000,
      suppressMs: env.ERASURE_SUPPRESS_DAYS * 86_400_000,
    });
    try {
      if (fetched.gaps.length > 0 && !o.allowMissingHistory) {
        const g = fetched.gaps[0]!;
        throw new LeadScorerError(
          'CONFIG_INVALID',
          `history is missing: ${fetched.gaps.length} offset ranges are neither archived nor on the topics any more (e.g. ${g.topic}/${g.partition} ${g.from}-${g.to}); add --allow-missing-history to rescore without them`,
        );
      }
      await erased.refresh();
      const { remove: _, ...tail } = fetched;
      replayed = await replayAndLoad(
        {
          env,
          model: { text: o.model.text, file: o.model.file },
          archiveDir: o.archiveDir,
          fetched: tail,
          ...(stops ? { stops: [...stops] } : {}),
          ...(fixed !== undefined ? { now: fixed } : {}),
          finishAt: clock(),
          prefix: toPrefix,
          loadNow: clock(),
          erased: erased.hashList(),
        },
        o.threads ?? defaultThreads(),
        model,
      );
    } finally {
      fetched.remove();
    }
    // The replay's seconds: reading the topics, starting the threads and replaying, to when the
    // slowest part began to load; the load's: from then to the last part done.
    phase('replay');
    seconds.replay = Math.round((seconds.replay! - replayed.loadSeconds) * 1000) / 1000;
    seconds.load = Math.round(replayed.loadSeconds * 1000) / 1000;
    say(`replayed ${replayed.stats.events} events of ${replayed.ids.length} leads (${seconds.replay} s)`);
    if (replayed.leftOut > 0) say(`left out ${replayed.leftOut} erased leads`);
    const now = clock();
    say(`loaded ${replayed.ids.length - replayed.leftOut} leads into generation ${to} (${seconds.load} s)`);

    // 3. Catch up while the services go on (a rebuild leaves that to the services).
    const generation = {
      record: { generation: to },
      model,
      store: next,
      scorer: { model, historyLength: HISTORY_LENGTH },
      publisher: new StageChangePublisher({
        store: next,
        sink: new KafkaStageChangeSink({ producer, serde }),
        metrics,
        clock,
      }),
    };
    catchUp = new CatchUp({
      kafka,
      catalogue,
      serde,
      generation,
      epoch,
      groupId: `${env.TOPIC_PREFIX}lead-scorer.rescore-${to}-${randomBytes(4).toString('hex')}`,
      log: log.child({ component: 'catch-up' }),
      metrics,
      clock,
      chunkSize: env.APPLY_CHUNK_SIZE,
      erased,
    });
    if (!rebuild) {
      await catchUp.start(replayed.positions);
      await catchUp.until(o.freezeAtLag ?? 2_000);
    }
    phase('catchUp');

    // 4. Freeze the old generation (nothing to freeze when it was lost).
    const pausedAt = performance.now();
    if (!rebuild) {
      await setPhase(redis, base, lock, 'frozen');
      await old.initialize(`${RETIRED}${to}`, true);
      frozen = { store: old, epoch };
      say(`generation ${from.generation} frozen: the services wait for the switch`);
    }

    // 5. Finish: everything the topics hold now, and what the old outbox still holds.
    if (!rebuild) {
      await catchUp.until(0, 100);
      await catchUp.stop();
    }
    const touched = catchUp.touched;
    const finished = catchUp;
    catchUp = undefined;
    const sink = new KafkaStageChangeSink({ producer, serde });
    if (!rebuild) {
      const publisher = new StageChangePublisher({ store: old, sink, metrics, clock });
      for (let shard = 0; shard < SHARDS; shard++) {
        for (;;) {
          const pending = await old.pendingOutbox(shard, 500, 0, Date.now());
          if (pending.length === 0) break;
          await publisher.publish(pending, 'relay');
        }
      }
    }
    // What the catch-up recorded was never published: the rebase below decides what is.
    const del = redis.pipeline();
    for (let shard = 0; shard < SHARDS; shard++) del.del(outboxKey(next.keys, shard));
    await del.exec();
    phase('finish');

    // 6. Rebase every lead on what was published.
    let modelChanges = 0;
    let missing = 0;
    const missingIds: string[] = [];
    if (!rebuild) {
      const ids = new Set<string>(replayed.ids);
      for (const id of touched) ids.add(id);
      for await (const batch of leadIds(redis, old.keys)) for (const id of batch) ids.add(id);
      const all = [...ids];
      for (let i = 0; i < all.length; i += 500) {
        const slice = all.slice(i, i + 500);
        const [was, is] = await Promise.all([old.read(slice), next.read(slice)]);
        const writes: LeadWrite[] = [];
        for (const id of slice) {
          const previous = was.get(id);
          const current: StoredLead | undefined = is.get(id);
          if (!current) {
            // Published before, but no event of it is left to rebuild it from.
            missing++;
            if (missingIds.length < 5) missingIds.push(id);
          }
          const rebuilt = current?.record ?? newRecord(model);
          const before = current ? current.record.state.stage : undefined;
          const { record, change } = rebaseLead(
            rebuilt,
            id,
            previous?.record,
            now,
            model,
            HISTORY_LENGTH,
            epoch === '0' ? undefined : epoch,
          );
          if (change) modelChanges++;
          writes.push({
            leadId: id,
            expected: current?.version,
            record,
            due: record.due,
            changes: change ? [change] : [],
            index: { before, entry: indexEntry(id, record, now, model) },
          });
        }
        if (missing > 0 && !o.allowMissingHistory) {
          throw new LeadScorerError(
            'CONFIG_INVALID',
            `leads with no history left to rebuild them from (e.g. ${missingIds.join(', ')}): the archive does not reach back to their events; add --allow-missing-history to start them over under the new model`,
          );
        }
        const result = await next.commit(writes, now, { epoch });
        if (result.conflicts.length > 0) {
          throw new LeadScorerError(
            'INVARIANT_VIOLATED',
            `the new generation changed under the rescore (${result.conflicts.length} leads): another rescore?`,
          );
        }
      }
    }
    phase('rebase');

    // Leads erased while this ran (erasure reaches this generation too, but with the old model's
    // indexes): erased again with this one's, before any service or reader sees it.
    await erased.refresh();
    for (const id of new Set([...replayed.ids, ...touched])) if (erased.has(id)) await next.erase(id);

    // 7. Switch.
    const record: GenerationRecord = {
      generation: to,
      prefix: toPrefix,
      modelVersion: model.version,
      modelFile: o.model.file,
      model: o.model.text,
      at: Date.now(),
    };
    await redis.set(generationKey(base), JSON.stringify(record));
    switched = true;
    frozen = undefined;
    await setPhase(redis, base, lock, 'switched');
    seconds.paused = Math.round(performance.now() - pausedAt) / 1000;
    say(
      `generation ${to} is active (model ${model.version}); writes were paused ${seconds.paused} s; ${modelChanges} leads changed stage`,
    );
    // The model-change stage changes: published once Redis cannot lose them (as the services do).
    const hold = await resolvePublishHold(env.PUBLISH_HOLD_MS, redis, log);
    if (hold > 0) await new Promise((r) => setTimeout(r, hold));
    const publisher = new StageChangePublisher({ store: next, sink, metrics, clock, log });
    for (let shard = 0; shard < SHARDS; shard++) {
      for (;;) {
        const pending = await next.pendingOutbox(shard, 500, 0, Date.now());
        if (pending.length === 0) break;
        await publisher.publish(pending, 'relay', { verify: true });
      }
    }
    phase('switch');

    if (!rebuild) await finished.forget();

    // 8. Delete the old generation once readers have moved.
    await new Promise((r) => setTimeout(r, o.graceMs ?? 10_000));
    const dropped = from.prefix === toPrefix ? 0 : await dropGeneration(redis, old.keys);
    await releaseLock(redis, base);
    lock = undefined;
    phase('delete');
    say(`generation ${from.generation} deleted (${dropped} keys)`);
    return {
      from: from.generation,
      to,
      rebuild,
      model: model.version,
      leads: replayed.ids.length,
      events: replayed.stats.events,
      caughtUp: touched.size,
      modelChanges,
      missingHistory: missing,
      seconds,
    };
  } catch (err) {
    await catchUp?.stop().catch(() => undefined);
    if (lock && !switched) await undo(redis, base, lock, frozen, log);
    throw err;
  } finally {
    await producer.disconnect().catch(() => undefined);
    redis.disconnect();
  }
}

/**
 * Per `topic/partition` of the scored topics: the committed offset of the consumer group that
 * scores it. A partition its group never committed has no limit: the group applied nothing
 * there that the rebuild could hold back from it.
 */
async function groupOffsets(
  kafka: Kafka,
  catalogue: Catalogue,
  groups: Partial<Record<ConsumerName, string>>,
): Promise<Map<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  const out = new Map<string, number>();
  try {
    for (const [service, spec] of Object.entries(CONSUMERS) as [
      ConsumerName,
      (typeof CONSUMERS)[ConsumerName],
    ][]) {
      const topics = spec.topics.map((t) => catalogue.get(t).topic);
      const groupId = groups[service] ?? defaultGroup(service);
      for (const t of await admin.fetchOffsets({ groupId, topics })) {
        for (const p of t.partitions)
          if (Number(p.offset) >= 0) out.set(`${t.topic}/${p.partition}`, Number(p.offset));
      }
    }
  } finally {
    await admin.disconnect();
  }
  return out;
}

/** Puts things back as they were before a rescore that did not switch. */
async function undo(
  redis: RedisClient,
  base: string,
  lock: RescoreLock,
  frozen: { store: RedisScoreStore; epoch: string } | undefined,
  log: Logger,
): Promise<void> {
  try {
    if (frozen) await frozen.store.initialize(frozen.epoch, true);
    await dropGeneration(redis, { prefix: lock.toPrefix, shards: SHARDS });
    await releaseLock(redis, base);
    log.warn({ generation: lock.from }, 'rescore undone: the services go on with the generation they had');
  } catch (err) {
    log.error({ err }, 'could not undo the rescore: run npm run rescore -- --abort');
  }
}

/**
 * `npm run rescore -- --abort`: cleans up after a rescore that died. Before its switch, the old
 * generation is unfrozen and the new one deleted; after it, the old one is deleted.
 */
export async function abortRescore(env: ScoringEnv, log: Logger): Promise<string> {
  const base = env.REDIS_KEY_PREFIX;
  const redis = createRedis(env, 'lead-scorer.rescore');
  await redis.connect();
  try {
    const lock = await readLock(redis, base);
    if (!lock) return 'no rescore to abort';
    const active = await readGeneration(redis, base);
    if (active?.generation === lock.to) {
      await dropGeneration(redis, { prefix: lock.fromPrefix, shards: SHARDS });
      await releaseLock(redis, base);
      return `the rescore had switched to generation ${lock.to}: generation ${lock.from} deleted`;
    }
    const old = new RedisScoreStore({
      client: redis,
      keys: { prefix: lock.fromPrefix, shards: SHARDS },
      model: active ? generationModel(active) : readModel(env.MODEL_FILE),
    });
    if (lock.epoch !== null) await old.initialize(lock.epoch, true);
    await dropGeneration(redis, { prefix: lock.toPrefix, shards: SHARDS });
    await releaseLock(redis, base);
    log.info({ generation: lock.from }, 'rescore aborted');
    return `rescore to generation ${lock.to} aborted: generation ${lock.from} is writable again, generation ${lock.to} deleted`;
  } finally {
    redis.disconnect();
  }
}
