import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  applyChunk,
  MemoryScoreStore,
  type StageChangeRecord,
  type StageChangeSink,
  sourceId,
} from '@leadscorer/core';
import { evaluateEvent, loadModel, type ScoringEvent } from '@leadscorer/engine';
import { LeadScorerError } from '@leadscorer/errors';
import { createLogger, createMetrics } from '@leadscorer/runtime';
import { beforeEach, describe, expect, it } from 'vitest';
import { FadingLoop } from './fading.ts';
import { StageChangePublisher } from './publisher.ts';
import { OutboxRelay } from './relay.ts';
import { StateGuard } from './state-guard.ts';

/** The relay and the fading loop on the core's ports, with the in-memory store and sink. */
const modelPath = resolve(import.meta.dirname, '../../../models/default.yaml');
const model = loadModel(readFileSync(modelPath, 'utf8'), modelPath);
const scorer = { model, historyLength: 5 };
const T = Date.UTC(2026, 5, 1);
const DAY = 86_400_000;

class Sink implements StageChangeSink {
  sent: StageChangeRecord[] = [];
  down = false;
  async send(changes: readonly StageChangeRecord[]): Promise<void> {
    if (this.down) throw new LeadScorerError('BROKER_UNAVAILABLE', 'broker down');
    this.sent.push(...changes);
  }
}

function signup(lead: string, offset: number): Parameters<typeof applyChunk>[1][number] {
  const event: ScoringEvent = {
    eventId: `e-${lead}`,
    leadId: lead,
    eventTime: T,
    type: 'trial',
    props: { accountId: 'a', action: 'signup' },
  };
  return { leadId: lead, source: sourceId('t', 0), offset, effect: evaluateEvent(model, event) };
}

let store: MemoryScoreStore;
let sink: Sink;
let metrics: ReturnType<typeof createMetrics>;
let publisher: StageChangePublisher;
const log = createLogger('test', 'silent');

beforeEach(async () => {
  store = new MemoryScoreStore();
  sink = new Sink();
  metrics = createMetrics('test', { defaultMetrics: false });
  publisher = new StageChangePublisher({ store, sink, metrics, clock: () => T });
  await store.initialize('0', false);
  // Three leads enter PQL at T; their changes wait in the outbox (no inline publish here).
  await applyChunk(store, [signup('a', 0), signup('b', 1), signup('c', 2)], T, scorer);
});

describe('OutboxRelay', () => {
  const relay = () =>
    new OutboxRelay({ store, publisher, metrics, log, intervalMs: 1000, minAgeMs: 0, batchSize: 2 });

  it('publishes what the outbox holds, in batches, and empties it', async () => {
    const r = relay();
    expect(await r.pass()).toBe(3);
    expect(sink.sent.map((c) => `${c.lead}:${c.to}`).sort()).toEqual(['a:pql', 'b:pql', 'c:pql']);
    expect(await store.outboxDepth()).toBe(0);
    expect(r.isHealthy()).toBe(true);
    expect(await r.pass()).toBe(0);
  });

  it('keeps everything when the broker is down, reports unhealthy, and recovers', async () => {
    const r = relay();
    sink.down = true;
    expect(await r.pass()).toBe(0);
    expect(r.isHealthy()).toBe(false);
    expect(await store.outboxDepth()).toBe(3);
    sink.down = false;
    expect(await r.pass()).toBe(3);
    expect(r.isHealthy()).toBe(true);
  });
});

describe('FadingLoop', () => {
  const loop = () =>
    new FadingLoop({
      store,
      scorer,
      publisher,
      metrics,
      log,
      clock: () => T,
      pollMs: 1000,
      batchSize: 2,
      state: new StateGuard({ store, log, metrics }),
    });

  it('moves the leads that are due, once, and reschedules them', async () => {
    const due = store.dueAt('a')!;
    expect(due).toBeGreaterThan(T);
    // Before they are due nothing moves; at the due time all three fade out of PQL.
    expect(await loop().pass(due - 1)).toBe(0);
    expect(await loop().pass(due)).toBe(3);
    const moved = sink.sent.filter((c) => c.to === 'unqualified');
    expect(moved.map((c) => c.lead).sort()).toEqual(['a', 'b', 'c']);
    expect(moved.every((c) => c.cause.kind === 'decay' && c.from === 'pql')).toBe(true);
    expect(store.peek('a')!.state.stage).toBe('unqualified');
    expect(store.dueAt('a')).toBeUndefined();
    expect(await loop().pass(due + DAY)).toBe(0);
  });

  it('loses nothing when publishing fails: what moved waits in the outbox, the rest stays due', async () => {
    const due = store.dueAt('a')!;
    sink.down = true;
    await expect(loop().pass(due)).rejects.toThrow('broker down');
    // The pass stopped at the first shard with a due lead: that move is recorded, unpublished.
    const moved = ['a', 'b', 'c'].filter((l) => store.peek(l)!.state.stage === 'unqualified');
    expect(moved).toHaveLength(1);
    expect(await store.outboxDepth()).toBe(4);
    sink.down = false;
    await new OutboxRelay({
      store,
      publisher,
      metrics,
      log,
      intervalMs: 1000,
      minAgeMs: 0,
      batchSize: 10,
    }).pass();
    expect(await loop().pass(due)).toBe(2);
    expect(
      sink.sent
        .filter((c) => c.to === 'unqualified')
        .map((c) => c.lead)
        .sort(),
    ).toEqual(['a', 'b', 'c']);
    expect(await store.outboxDepth()).toBe(0);
  });
});
