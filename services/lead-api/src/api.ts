import type { LeadRecord, ScoreStore } from '@leadscorer/core';
import { explain, type Model, transitionId } from '@leadscorer/engine';
import { isRetryable } from '@leadscorer/errors';
import type { Logger, Route } from '@leadscorer/runtime';
import { checkApiKey } from './auth.ts';
import { OPENAPI } from './openapi.ts';

export const MAX_ID = 128;

type Answer = NonNullable<Awaited<ReturnType<Route>>>;

export interface ReadApiOptions {
  /** SHA-256 hashes of the API keys allowed to read. */
  apiKeyHashes: readonly Buffer[];
  /** Deadline of a request's store reads: past it, 503. */
  deadlineMs: number;
  /** Retry-After of a 503, seconds. */
  retryAfterSeconds: number;
  log?: Pick<Logger, 'warn' | 'error'>;
}

/**
 * The read API as the ops server mounts it: GET /openapi.json is open (the contract is public);
 * every other path asks for an API key first, so routes added later are closed by default and an
 * unknown path tells an outsider nothing. /metrics, /healthz and /readyz never reach this: the ops
 * server answers them, open, for Kubernetes probes and Prometheus.
 */
export function readApi(routes: Route, o: ReadApiOptions): Route {
  return async (req, url) => {
    if (url.pathname === '/openapi.json') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return notAllowed('GET, HEAD');
      return { status: 200, body: OPENAPI };
    }
    const denied = checkApiKey(req, o.apiKeyHashes);
    if (denied) return denied;
    try {
      return await withDeadline(routes(req, url), o.deadlineMs);
    } catch (err) {
      if (!(err instanceof DeadlineExceeded) && !isRetryable(err)) throw err;
      o.log?.warn(
        { path: url.pathname, err: (err as Error).message },
        'score store unavailable: answering 503',
      );
      return {
        status: 503,
        body: { error: 'unavailable', message: 'the score store is unavailable; retry later' },
        headers: { 'retry-after': String(o.retryAfterSeconds) },
      };
    }
  };
}

class DeadlineExceeded extends Error {}

async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineExceeded(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function notAllowed(allow: string): Answer {
  return {
    status: 405,
    body: { error: 'method_not_allowed', message: `only ${allow}` },
    headers: { allow },
  };
}

/**
 * GET /leads/{id}. Clock read once per request, at this edge. `epoch`: the state epoch the stored
 * history belongs to (stage-change ids carry it); the genesis epoch when not given.
 */
export function leadRoutes(deps: {
  /** The active generation's store and model (a rescore switches them). */
  current: () => { store: ScoreStore; model: Model };
  clock: () => number;
  epoch?: () => string | undefined;
}): Route {
  const { clock } = deps;
  return async (req, url) => {
    const m = /^\/leads\/([^/]*)$/.exec(url.pathname);
    if (!m) return undefined;
    if (req.method !== 'GET') return notAllowed('GET');
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
    const { store, model } = deps.current();
    const found = (await store.read([leadId])).get(leadId)?.record;
    if (!found)
      return { status: 404, body: { error: 'not_found', message: `no lead ${JSON.stringify(leadId)}` } };
    return { status: 200, body: leadView(leadId, found, clock(), model, deps.epoch?.() ?? '0') };
  };
}

/** A lead as GET /leads/{id} (and the batch read) answers it. */
export function leadView(leadId: string, found: LeadRecord, now: number, model: Model, epoch: string) {
  const e = explain(found.state, now, model);
  return {
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
      eventId: transitionId(leadId, h.seq, h.from, h.to, epoch),
      sequence: h.seq,
      fromStage: h.from,
      toStage: h.to,
      cause: h.cause,
      eventTime: h.eventTime,
      decidedAt: h.at,
    })),
    modelVersion: model.version,
    asOf: now,
  };
}
