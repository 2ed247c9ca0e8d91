import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { resolve } from 'node:path';
import { applyChunk, MemoryScoreStore, sourceId } from '@leadscorer/core';
import { evaluateEvent, loadModel, scoresAt, transitionId } from '@leadscorer/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { leadRoutes } from './api.ts';

/** The read API's routes on the in-memory store: what it answers, computed by the engine. */
const modelPath = resolve(import.meta.dirname, '../../../models/default.yaml');
const model = loadModel(readFileSync(modelPath, 'utf8'), modelPath);
const T = Date.UTC(2026, 5, 1);
const store = new MemoryScoreStore();
const route = leadRoutes({ current: () => ({ store, model }), clock: () => T + 3_600_000 });

const call = (method: string, path: string) =>
  route({ method } as IncomingMessage, new URL(path, 'http://localhost'));

beforeAll(async () => {
  const effect = evaluateEvent(model, {
    eventId: 'e1',
    leadId: 'lead 1/ä',
    eventTime: T,
    type: 'trial',
    props: { accountId: 'a', action: 'signup' },
  });
  await applyChunk(store, [{ leadId: 'lead 1/ä', source: sourceId('t', 0), offset: 0, effect }], T, {
    model,
    historyLength: 5,
  });
});

describe('GET /leads/{id}', () => {
  it('answers the stage, the scores decayed to now, why, and the recent changes', async () => {
    const res = await call('GET', `/leads/${encodeURIComponent('lead 1/ä')}`);
    expect(res?.status).toBe(200);
    const body = res!.body as Record<string, unknown>;
    const state = store.peek('lead 1/ä')!.state;
    expect(body.stage).toBe('pql');
    expect(body.scores).toEqual(scoresAt(state, T + 3_600_000, model));
    expect(body.asOf).toBe(T + 3_600_000);
    expect(body.recentStageChanges).toEqual([
      expect.objectContaining({
        eventId: transitionId('lead 1/ä', 1, 'unqualified', 'pql'),
        fromStage: 'unqualified',
        toStage: 'pql',
        sequence: 1,
      }),
    ]);
  });

  it('404 for an unknown lead, 400 for a malformed id, 405 for another method', async () => {
    expect((await call('GET', '/leads/nobody'))?.status).toBe(404);
    expect((await call('GET', `/leads/${'x'.repeat(129)}`))?.status).toBe(400);
    expect((await call('GET', '/leads/%E0%A4%A'))?.status).toBe(400);
    expect((await call('GET', '/leads/%20padded'))?.status).toBe(400);
    const post = await call('POST', '/leads/nobody');
    expect(post?.status).toBe(405);
    expect(post?.headers).toEqual({ allow: 'GET' });
    expect(await call('GET', '/elsewhere')).toBeUndefined();
  });
});
