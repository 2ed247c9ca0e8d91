import type { ScoreStore } from '@leadscorer/core';
import { explain, type Model, transitionId } from '@leadscorer/engine';
import type { Route } from '@leadscorer/runtime';
import { OPENAPI } from './openapi.ts';

const MAX_ID = 128;

/** GET /leads/{id} and GET /openapi.json. Clock read once per request, at this edge. */
/**
 * `epoch`: the state epoch the stored history belongs to (stage-change ids carry it); the
 * genesis epoch when not given.
 */
export function leadRoutes(deps: {
  store: ScoreStore;
  model: Model;
  clock: () => number;
  epoch?: () => string | undefined;
}): Route {
  const { store, model, clock } = deps;
  return async (req, url) => {
    if (url.pathname === '/openapi.json') return { status: 200, body: OPENAPI };
    const m = /^\/leads\/([^/]*)$/.exec(url.pathname);
    if (!m) return undefined;
    if (req.method !== 'GET') {
      return {
        status: 405,
        body: { error: 'method_not_allowed', message: 'only GET' },
        headers: { allow: 'GET' },
      };
    }
    let leadId: string;
    try {
      leadId = decodeURIComponent(m[1]!);
    } catch {
      return {
        status: 400,
        body: { error: 'bad_lead_id', message: 'lead id is not valid percent-encoding' },
      };
    }
    if (leadId.length === 0 || leadId.length > MAX_ID || leadId.trim() !== leadId) {
      return {
        status: 400,
        body: {
          error: 'bad_lead_id',
          message: `lead id must be 1-${MAX_ID} characters with no surrounding whitespace`,
        },
      };
    }
    const found = (await store.read([leadId])).get(leadId)?.record;
    if (!found)
      return { status: 404, body: { error: 'not_found', message: `no lead ${JSON.stringify(leadId)}` } };
    const now = clock();
    const e = explain(found.state, now, model);
    return {
      status: 200,
      body: {
        leadId,
        stage: e.stage,
        stageNow: e.stageNow,
        scores: e.scores,
        explanation: {
          contributions: e.contributions,
          fit: e.fit,
          signals: e.signals,
          salesQualified: e.salesQualified,
          disqualified: e.disqualified,
        },
        recentStageChanges: found.history.map((h) => ({
          eventId: transitionId(leadId, h.seq, h.from, h.to, deps.epoch?.() ?? '0'),
          sequence: h.seq,
          fromStage: h.from,
          toStage: h.to,
          cause: h.cause,
          eventTime: h.eventTime,
          decidedAt: h.at,
        })),
        modelVersion: model.version,
        asOf: now,
      },
    };
  };
}
