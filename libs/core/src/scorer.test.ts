import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { advanceTo, evaluateEvent, loadModel, nextChangeAt, stateView } from '@leadscorer/engine';
import { isRetryable, LeadScorerError } from '@leadscorer/errors';
import { describe, expect, it } from 'vitest';
import { prng } from '../../../test/support/event-gen.ts';
import { Oracle as SharedOracle, itemsFor as sharedItemsFor } from '../../../test/support/oracle.ts';
import type { ApplyItem } from './apply-lead.ts';
import { MemoryScoreStore } from './memory-store.ts';
import type { RecordedChange } from './ports.ts';
import { advanceDue, applyChunk } from './scorer.ts';

const model = loadModel(
  readFileSync(join(import.meta.dirname, '../../../models/default.yaml'), 'utf8'),
  'default.yaml',
);
const opts = { model, historyLength: 5 };
const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);

function itemsFor(seed: number, leads: number, events: number) {
  return sharedItemsFor(model, { seed, leads, events, start: START, maxLagMs: 10 * DAY });
}

const changeKey = (c: { lead: string; seq: number }) => `${c.lead}#${c.seq}`;
const plain = (rs: RecordedChange[]) =>
  rs
    .map(({ change: { at: _at, modelVersion: _v, ...t } }) => t)
    .sort((a, b) => changeKey(a).localeCompare(changeKey(b)));

describe('applyChunk against the engine alone', () => {
  it('chunks of any size, redelivered chunks included, give the engine states and changes', () => {
    const rnd = prng(3);
    const items = itemsFor(5, 40, 2500);
    const store = new MemoryScoreStore();
    const oracle = new SharedOracle(model);
    const recorded: RecordedChange[] = [];
    return (async () => {
      let redelivered = 0;
      for (let i = 0; i < items.length; ) {
        const size = 1 + Math.floor(rnd() * 120);
        const chunk = items.slice(i, i + size);
        const now = chunk[chunk.length - 1]!.arrival;
        const r = await applyChunk(
          store,
          chunk.map((c) => c.item),
          now,
          opts,
        );
        recorded.push(...r.recorded);
        for (const c of chunk) oracle.apply(c.item, now);
        if (rnd() < 0.15) {
          // Kafka delivers the chunk again (a crash before the offset commit).
          const again = await applyChunk(
            store,
            chunk.map((c) => c.item),
            now + 1000,
            opts,
          );
          expect(again.outcomes.every((o) => o === 'redelivered' || o === 'filtered')).toBe(true);
          expect(again.recorded).toEqual([]);
          redelivered++;
        }
        i += size;
      }
      expect(redelivered).toBeGreaterThan(3);
      expect(oracle.changes.length).toBeGreaterThan(30);
      for (const [lead, want] of oracle.states) {
        const got = store.peek(lead);
        if (Object.keys(stateView(want).ring).length === 0) {
          // Only machine activity or duplicates: nothing was ever written.
          expect(got).toBeUndefined();
          continue;
        }
        expect(stateView(got!.state), lead).toEqual(stateView(want));
        expect(got!.history.map((h) => h.seq)).toEqual(
          oracle.changes
            .filter((c) => c.lead === lead)
            .map((c) => c.seq)
            .reverse()
            .slice(0, 5),
        );
      }
      expect(plain(recorded)).toEqual(
        [...oracle.changes].sort((a, b) => changeKey(a).localeCompare(changeKey(b))),
      );
      expect(await store.outboxDepth()).toBe(recorded.length);
    })();
  });

  it('schedules each changed lead at the engine nextChangeAt, and advanceDue moves it as advanceTo does', async () => {
    const items = itemsFor(11, 30, 1500);
    const store = new MemoryScoreStore();
    const oracle = new SharedOracle(model);
    const lastNow = new Map<string, number>();
    for (let i = 0; i < items.length; i += 50) {
      const chunk = items.slice(i, i + 50);
      const now = chunk[chunk.length - 1]!.arrival;
      await applyChunk(
        store,
        chunk.map((c) => c.item),
        now,
        opts,
      );
      for (const c of chunk) {
        oracle.apply(c.item, now);
        lastNow.set(c.item.leadId, now);
      }
    }
    let scheduled = 0;
    for (const lead of store.leadIds()) {
      const stored = store.peek(lead)!;
      // Scheduled as of the last commit that changed the lead, which is the last chunk it was in
      // unless its last events were all filtered or duplicates (then the schedule stands).
      expect(store.dueAt(lead) ?? null).toBe(stored.due);
      if (stored.due !== null) scheduled++;
    }
    expect(scheduled).toBeGreaterThan(5);
    const later = START + 60 * DAY;
    const moved: RecordedChange[] = [];
    for (let s = 0; s < store.shards; s++)
      moved.push(...(await advanceDue(store, s, later, 1000, opts)).recorded);
    const expected = [];
    for (const lead of store.leadIds()) {
      const want = oracle.states.get(lead)!;
      const due = nextChangeAt(want, lastNow.get(lead)!, model);
      if (due === null || due > later) continue;
      const r = advanceTo(want, later, model);
      if (r.transition) expected.push({ ...r.transition, lead });
    }
    expect(expected.length).toBeGreaterThan(0);
    expect(plain(moved)).toEqual(expected.sort((a, b) => changeKey(a).localeCompare(changeKey(b))));
    // Nothing is due any more at that time: every moved lead was rescheduled later or unscheduled.
    for (let s = 0; s < store.shards; s++) expect(await store.dueLeads(s, later, 10)).toEqual([]);
  });
});

describe('applyChunk with other writers on the same leads', () => {
  it('redoes only the leads another writer changed, with its change included', async () => {
    const store = new MemoryScoreStore();
    const items = itemsFor(21, 10, 200).map((x) => x.item);
    const now = START + DAY;
    // Writer B (another service) commits one event of its own for lead-3 between A's read and
    // A's commit, once.
    const bItem: ApplyItem = {
      leadId: 'lead-3',
      source: 'x0',
      offset: 0,
      effect: evaluateEvent(model, {
        eventId: 'b-1',
        leadId: 'lead-3',
        eventTime: now - 1000,
        type: 'trial',
        props: { accountId: 'a', action: 'signup' },
      }),
    };
    let interleaved = false;
    store.beforeCommit = async () => {
      if (interleaved) return;
      interleaved = true;
      store.beforeCommit = undefined;
      await applyChunk(store, [bItem], now, opts);
    };
    const seen: number[] = [];
    const r = await applyChunk(store, items, now, { ...opts, onConflicts: (n) => seen.push(n) });
    expect(r.conflicts).toBe(1);
    expect(seen).toEqual([1]);
    const oracle = new SharedOracle(model);
    oracle.apply(bItem, now);
    for (const item of items) oracle.apply(item, now);
    for (const [lead, want] of oracle.states) {
      if (Object.keys(stateView(want).ring).length === 0) continue;
      expect(stateView(store.peek(lead)!.state), lead).toEqual(stateView(want));
    }
  });

  it('gives up after the bounded attempts with a retryable STATE_CONFLICT', async () => {
    const store = new MemoryScoreStore();
    const items = itemsFor(23, 3, 30).map((x) => x.item);
    const now = START + DAY;
    let n = 0;
    store.beforeCommit = async () => {
      // Another writer touches every lead before each of our commits.
      const hook = store.beforeCommit;
      store.beforeCommit = undefined;
      const others = [...new Set(items.map((i) => i.leadId))].map((leadId) => ({
        leadId,
        source: 'z0',
        offset: n++,
        effect: evaluateEvent(model, {
          eventId: `z-${n}`,
          leadId,
          eventTime: now,
          type: 'web',
          props: { url: 'https://x/pricing', path: '/pricing', userAgent: 'Mozilla/5.0' },
        }),
      }));
      await applyChunk(store, others, now, opts);
      store.beforeCommit = hook;
    };
    const err = await applyChunk(store, items, now, { ...opts, maxAttempts: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeadScorerError);
    expect((err as LeadScorerError).code).toBe('STATE_CONFLICT');
    expect(isRetryable(err)).toBe(true);
  });
});
