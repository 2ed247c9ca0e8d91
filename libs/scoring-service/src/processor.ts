import type { Decoded, Serde } from '@leadscorer/contracts';
import {
  type ApplyItem,
  applyChunk,
  type DeadLetterSink,
  type RecordedChange,
  type ScorerOptions,
  type ScoreStore,
  sourceId,
  TYPE_CODES,
} from '@leadscorer/core';
import { evaluateEvent, type Model } from '@leadscorer/engine';
import { isPoison, LeadScorerError } from '@leadscorer/errors';
import {
  type BatchProcessor,
  CounterTally,
  createTracing,
  type InboundMessage,
  type Logger,
  type Metrics,
  type Tracing,
} from '@leadscorer/runtime';
import { ChunkTraces } from './chunk-traces.ts';
import type { ErasureSource } from './erasure.ts';
import type { PartitionTracker } from './partitions.ts';
import type { StageChangePublisher } from './publisher.ts';
import type { StateGuard } from './state-guard.ts';

/** The generation of keys a chunk is applied in: its store, model and publisher. */
export interface ProcessorGeneration {
  record: { generation: number };
  model: Model;
  store: ScoreStore;
  scorer: ScorerOptions;
  publisher: StageChangePublisher;
}

export interface ProcessorDeps {
  serde: Serde;
  /** The active generation (generation.ts): read at each chunk, refreshed when it was retired. */
  generation: { current(): ProcessorGeneration; refresh(): Promise<boolean> };
  deadLetters: DeadLetterSink;
  /**
   * Publishes a chunk's recorded stage changes through the publisher of the generation they were
   * recorded in. The services hand them to a BackgroundPublisher (the changes are safe in the
   * outbox already); it may also simply await the publish.
   */
  publishInline: (recorded: RecordedChange[], publisher: StageChangePublisher) => Promise<void>;
  metrics: Metrics;
  log: Logger;
  clock: () => number;
  /** Where each partition is applied up to, in Redis (partitions.ts). */
  partitions: PartitionTracker;
  /** Whether Redis holds the state the service works on (state-guard.ts). */
  state: StateGuard;
  /**
   * Erasure (erasure.ts): the erased leads, whose events are dropped; and, in the service that
   * reads lead.profile.v1 and lead.erasure-requests.v1, what erases a lead (tombstones and
   * requests), once the chunk's other events are applied and before its offsets are committed.
   */
  erasure?: {
    erased: { has(leadId: string): boolean };
    /** The physical name of lead.profile.v1, whose tombstones are erasures. */
    profileTopic: string;
    erase?: (leadId: string, how: { source: ErasureSource; requestedBy?: string | null }) => Promise<unknown>;
  };
  /** Spans per event (chunk-traces.ts); none recorded when absent. */
  tracing?: Tracing;
}

/**
 * Decode -> evaluate -> dead-letter the poison -> apply with the engine and commit (the core's
 * applyChunk: read, compute, compare-and-set) -> publish stage changes. Resolves only when every
 * message of the chunk is applied or dead-lettered, so the consumer loop may commit; throws a
 * retryable error to have the same chunk retried (every step is idempotent: offset watermarks in
 * the stored records, stable stage-change ids in Kafka).
 *
 * Per-message work is kept to what each message needs: counters are tallied per chunk and
 * incremented once per label set (prom-client hashes and validates labels on every call), and
 * a message whose schema is already known is decoded without an await.
 */
export function createScoringProcessor(deps: ProcessorDeps): BatchProcessor {
  const { serde, generation, deadLetters, publishInline, metrics, log, clock, partitions, state, erasure } =
    deps;
  const tracing = deps.tracing ?? createTracing({ service: 'scoring' });
  let lastEpoch: string | undefined;
  let lastGeneration: number | undefined;
  /** What a refused commit (or position read) means before the consumer retries the chunk. */
  const storeFailed = async (err: unknown, topic: string, partition: number): Promise<never> => {
    const code = (err as LeadScorerError).code;
    // Positions not where this consumer left them: read them again before the retry.
    if (code === 'PARTITION_FENCED') partitions.invalidate(topic, partition);
    if (code === 'STATE_LOST') state.lost((err as Error).message);
    // A rescore retired this generation and switches to the next within seconds: wait for the
    // switch here (the consumer's backoff would grow meanwhile), then retry on the new one.
    if (code === 'GENERATION_RETIRED') await followSwitch(generation);
    throw err;
  };
  const processChunk = async (messages: InboundMessage[], traces: ChunkTraces): Promise<void> => {
    const g = generation.current();
    const { model, store, scorer } = g;
    // A new generation (a rescore switched): its own positions say where to read from.
    if (g.record.generation !== lastGeneration) {
      partitions.reset();
      lastGeneration = g.record.generation;
    }
    const epoch = state.epoch ?? (await state.check());
    if (epoch === undefined) {
      // Nothing is applied while Redis does not hold the state (the guard says why, once, and
      // polls until it is rebuilt or accepted empty); the consumer retries this chunk meanwhile.
      void state.waitUntilOk().catch(() => undefined);
      throw new LeadScorerError('STATE_LOST', 'the Redis state is not usable; waiting');
    }
    // A new epoch (the state was accepted empty or rebuilt): positions of the old one mean nothing.
    if (epoch !== lastEpoch) partitions.reset();
    lastEpoch = epoch;
    const { topic: chunkTopic, partition } = messages[0]!;
    const last = Number(messages[messages.length - 1]!.offset);
    const guard = await partitions
      .begin(chunkTopic, partition, Number(messages[0]!.offset), epoch)
      .catch((err: unknown) => storeFailed(err, chunkTopic, partition));
    const now = clock();
    const items: ApplyItem[] = [];
    const eventTimes: number[] = [];
    const topics: string[] = [];
    const dead: { message: InboundMessage; error: unknown }[] = [];
    const erasures: { leadId: string; source: ErasureSource; requestedBy?: string | null }[] = [];
    const consumed = new CounterTally(metrics.consumed, ['topic']);
    const deadLettered = new CounterTally(metrics.deadLettered, ['topic', 'reason']);
    const dropped = new CounterTally(metrics.filtered, ['topic', 'reason']);
    // Every message of a chunk usually shares type and partition: build their source id once.
    let lastCode = '';
    let lastPartition = -1;
    let lastSource = '';
    try {
      for (let index = 0; index < messages.length; index++) {
        const m = messages[index]!;
        consumed.add(m.topic);
        // A tombstone on the compacted profile topic: the lead is to be erased (erasure.ts).
        if (m.value === null && m.key !== null && erasure && m.topic === erasure.profileTopic) {
          if (erasure.erase) erasures.push({ leadId: m.key.toString('utf8'), source: 'profile-tombstone' });
          continue;
        }
        traces.begin(index, m);
        try {
          const decoded: Decoded = serde.decodeSync(m.topic, m, now) ?? (await serde.decode(m.topic, m, now));
          const event = decoded.event;
          if (!event) {
            if (decoded.name === 'lead.erasure-requests.v1' && erasure?.erase) {
              const r = decoded.record as { leadId: string; requestedBy: string | null };
              erasures.push({ leadId: r.leadId, source: 'request', requestedBy: r.requestedBy });
            }
            continue; // a topic we read but do not score
          }
          if (erasure?.erased.has(event.leadId)) {
            dropped.add(m.topic, 'erased-lead');
            continue;
          }
          const effect = evaluateEvent(model, event);
          const code = TYPE_CODES[event.type] ?? 'x';
          if (code !== lastCode || m.partition !== lastPartition) {
            lastCode = code;
            lastPartition = m.partition;
            lastSource = sourceId(code, m.partition);
          }
          traces.item(items.length, index);
          // `trace` is set (or not) by traces.startCommit; present from the start, every item has
          // one shape, which keeps the engine's hot loops monomorphic.
          items.push({
            leadId: event.leadId,
            source: lastSource,
            offset: Number(m.offset),
            effect,
            trace: undefined,
          });
          eventTimes.push(event.eventTime);
          topics.push(m.topic);
        } catch (err) {
          if (!isPoison(err)) throw err; // registry unavailable: retry; anything else: a bug
          const code = (err as LeadScorerError).code;
          deadLettered.add(m.topic, code);
          traces.deadLettered(index, code);
          log.warn(
            { topic: m.topic, partition: m.partition, offset: m.offset, code },
            'dead-lettering message',
          );
          dead.push({ message: m, error: err });
        }
      }
    } finally {
      // Counted as they were read, also when the chunk is about to be retried.
      consumed.flush();
      deadLettered.flush();
      dropped.flush();
    }

    await deadLetters.send(dead, now);
    // Erasures go after what the chunk applies and before its offsets are committed: a crash
    // in between erases again on redelivery.
    const erase = async () => {
      for (const e of erasures) await erasure!.erase!(e.leadId, e);
    };
    if (items.length === 0) {
      await erase();
      await partitions.done(chunkTopic, partition, last, epoch);
      return;
    }

    traces.startCommit(items);
    const chunk = await applyChunk(store, items, now, scorer, guard).catch((err: unknown) =>
      storeFailed(err, chunkTopic, partition),
    );
    traces.endCommit();
    await erase();
    await partitions.done(chunkTopic, partition, last, epoch);
    const { outcomes } = chunk;
    // A change of a lead erased in this chunk left the outbox with it: it is not published.
    const gone = new Set(erasures.map((e) => e.leadId));
    const recorded =
      gone.size === 0 ? chunk.recorded : chunk.recorded.filter((r) => !gone.has(r.change.lead));
    const appliedAt = Date.now();
    const applied = new CounterTally(metrics.applied, ['topic']);
    const filtered = new CounterTally(metrics.filtered, ['topic', 'reason']);
    const deduplicated = new CounterTally(metrics.deduplicated, ['topic', 'reason']);
    const ruleHits = new CounterTally(metrics.ruleHits, ['rule']);
    // One labels object per topic for the histogram (a chunk has one topic in practice).
    let lastTopic = '';
    let topicLabels = { topic: '' };
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i];
      const topic = topics[i]!;
      const effect = items[i]!.effect;
      if (outcome === 'applied') {
        applied.add(topic);
        if (topic !== lastTopic) {
          lastTopic = topic;
          topicLabels = { topic };
        }
        metrics.eventToApplied.observe(topicLabels, Math.max(0, appliedAt - eventTimes[i]!) / 1000);
        for (const rule of effect.hits) ruleHits.add(rule);
        if (effect.fit) for (const rule of effect.fit) ruleHits.add(rule);
      } else if (outcome === 'filtered') {
        filtered.add(topic, effect.filtered ?? 'unknown');
      } else {
        deduplicated.add(topic, outcome === 'redelivered' ? 'offset' : 'event-id');
      }
    }
    applied.flush();
    filtered.flush();
    deduplicated.flush();
    ruleHits.flush();
    for (const { change } of recorded) metrics.transitions.inc({ from: change.from, to: change.to });
    if (recorded.length > 0) {
      log.info(
        {
          changes: recorded.map(({ change: c }) => ({ lead: c.lead, from: c.from, to: c.to, seq: c.seq })),
        },
        'stage changes recorded',
      );
      // The fast path; if it fails the changes stay in the outbox and the relay publishes them.
      await publishInline(recorded, g.publisher);
    }
  };
  return async (messages: InboundMessage[]) => {
    const traces = new ChunkTraces(tracing);
    try {
      await processChunk(messages, traces);
    } catch (err) {
      traces.end(err);
      throw err;
    }
    traces.end();
  };
}

/** Waits up to ~10 s for the active generation to change (a rescore switching). */
async function followSwitch(generation: { refresh(): Promise<boolean> }): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if (await generation.refresh().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}
