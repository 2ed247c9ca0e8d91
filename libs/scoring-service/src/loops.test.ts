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
import { BackgroundPublisher, StageChangePublisher } from './publisher.ts';
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
    new OutboxRelay({
      current: () => ({ store, publisher }),
      metrics,
      log,
      intervalMs: 1000,
      minAgeMs: 0,
      batchSize: 2,
    });

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
  let background: BackgroundPublisher;
  beforeEach(() => {
    background = new BackgroundPublisher(log, { source: 'scheduler', holdMs: 0 });
  });
  const loop = () =>
    new FadingLoop({
      current: () => ({ store, scorer, publisher }),
      publish: (recorded, p) => background.submit(recorded, p),
      metrics,
      log,
      clock: () => T,
      pollMs: 1000,
      batchSize: 2,
      state: new StateGuard({ store: () => store, log, metrics }),
    });

  it('moves the leads that are due, once, and reschedules them', async () => {
    const due = store.dueAt('a')!;
    expect(due).toBeGreaterThan(T);
    // Before they are due nothing moves; at the due time all three fade out of PQL.
    expect(await loop().pass(due - 1)).toBe(0);
    expect(await loop().pass(due)).toBe(3);
    await background.flush();
    const moved = sink.sent.filter((c) => c.to === 'unqualified');
    expect(moved.map((c) => c.lead).sort()).toEqual(['a', 'b', 'c']);
    expect(moved.every((c) => c.cause.kind === 'decay' && c.from === 'pql')).toBe(true);
    expect(store.peek('a')!.state.stage).toBe('unqualified');
    expect(store.dueAt('a')).toBeUndefined();
    expect(await loop().pass(due + DAY)).toBe(0);
  });

  it('loses nothing when publishing fails: what moved waits in the outbox for the relay', async () => {
    const due = store.dueAt('a')!;
    sink.down = true;
    expect(await loop().pass(due)).toBe(3);
    await background.flush();
    expect(sink.sent).toEqual([]);
    // The three entries into PQL and the three moves out of it.
    expect(await store.outboxDepth()).toBe(6);
    sink.down = false;
    await new OutboxRelay({
      current: () => ({ store, publisher }),
      metrics,
      log,
      intervalMs: 1000,
      minAgeMs: 0,
      batchSize: 10,
    }).pass();
    expect(
      sink.sent
        .filter((c) => c.to === 'unqualified')
        .map((c) => c.lead)
        .sort(),
    ).toEqual(['a', 'b', 'c']);
    expect(await store.outboxDepth()).toBe(0);
    expect(await loop().pass(due)).toBe(0);
  });
});

describe('BackgroundPublisher with a hold', () => {
  const pending = async () =>
    store.pendingOutbox(0, 100, 0, T).then(async () => {
      const all = [];
      for (let s = 0; s < store.shards; s++) all.push(...(await store.pendingOutbox(s, 100, 0, T)));
      return all;
    });

  it('publishes a change only once the hold has passed, from the outbox', async () => {
    const held = new BackgroundPublisher(log, { source: 'inline', holdMs: 80 });
    await held.submit(await pending(), publisher);
    await new Promise((r) => setTimeout(r, 20));
    expect(sink.sent).toEqual([]);
    await new Promise((r) => setTimeout(r, 120));
    await held.flush();
    expect(sink.sent.map((c) => c.lead).sort()).toEqual(['a', 'b', 'c']);
    expect(await store.outboxDepth()).toBe(0);
  });

  it('never publishes a change Redis lost during the hold: it is derived again and published then', async () => {
    const before = store.snapshot();
    const { recorded } = await applyChunk(store, [signup('d', 3)], T, scorer);
    expect(recorded).toHaveLength(1);
    const held = new BackgroundPublisher(log, { source: 'inline', holdMs: 30 });
    await held.submit(recorded, publisher);
    before(); // Redis goes back in time over 'd'
    await new Promise((r) => setTimeout(r, 60));
    await held.flush();
    expect(sink.sent.filter((c) => c.lead === 'd')).toEqual([]);
    expect((await metrics.stageChangesWithdrawn.get()).values[0]?.value).toBe(1);
    // Redelivered, the event derives the change again: that one is published.
    const again = await applyChunk(store, [signup('d', 3)], T, scorer);
    await held.submit(again.recorded, publisher);
    await new Promise((r) => setTimeout(r, 60));
    await held.flush();
    expect(sink.sent.filter((c) => c.lead === 'd').map((c) => `${c.seq}:${c.to}`)).toEqual([
      `${recorded[0]!.change.seq}:pql`,
    ]);
  });
});
