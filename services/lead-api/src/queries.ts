import type { IncomingMessage } from 'node:http';
import type { LeadRecord, ScoreStore } from '@leadscorer/core';
import { type Model, scoresAt } from '@leadscorer/engine';
import type { Route } from '@leadscorer/runtime';
import {
  type Direction,
  ENTERED,
  type IndexPosition,
  type Page,
  type RedisLeadQueries,
} from '@leadscorer/store';
import { leadView, MAX_ID, notAllowed } from './api.ts';
import { bodyValidator, describe, queryValidator } from './validate.ts';

type Answer = NonNullable<Awaited<ReturnType<Route>>>;

/** The active generation as the query routes need it (a rescore switches it). */
export interface QueryGeneration {
  store: ScoreStore;
  queries: RedisLeadQueries;
  model: Model;
}

const MAX_BODY = 64 * 1024;
const DEFAULT_LIMIT = 50;

/**
 * What a cursor carries: the query it belongs to and the position after which the next page
 * starts (an index key and a lead id). base64url JSON: opaque to clients, checked when it comes
 * back (a cursor of another query, or a made-up one, is a 400, never a wrong page).
 */
type Cursor =
  | { v: 1; q: 'stage'; stage: string; sort: string; order: Direction; k: number; i: string }
  | { v: 1; q: 'updated'; k: number; i: string };

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(raw: string): Cursor | undefined {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor;
    if (c.v !== 1 || typeof c.k !== 'number' || !Number.isFinite(c.k) || typeof c.i !== 'string')
      return undefined;
    if (c.q === 'updated') return c;
    if (
      c.q === 'stage' &&
      typeof c.stage === 'string' &&
      typeof c.sort === 'string' &&
      (c.order === 'asc' || c.order === 'desc')
    )
      return c;
  } catch {
    // not base64url JSON: refused below
  }
  return undefined;
}

const bad = (message: string, error = 'bad_parameter'): Answer => ({ status: 400, body: { error, message } });

/** An ISO 8601 time with a zone, or epoch milliseconds. */
export function parseTime(raw: string): number | undefined {
  if (/^\d{1,16}$/.test(raw)) return Number(raw);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(raw)) return undefined;
  const t = Date.parse(raw);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * GET /leads (a stage's leads; leads written since a time), POST /leads:batchGet, GET /stages.
 * The clock is read once per request, here at the edge.
 */
export function queryRoutes(deps: {
  current: () => QueryGeneration;
  clock: () => number;
  epoch?: () => string | undefined;
}): Route {
  const listQuery = queryValidator('/leads', 'get');
  const stagesQuery = queryValidator('/stages', 'get');
  const batchBody = bodyValidator('BatchGetRequest');
  return async (req, url) => {
    if (url.pathname === '/leads') {
      if (req.method !== 'GET') return notAllowed('GET');
      const parsed = listQuery(url);
      if (!parsed.ok) return { status: 400, body: parsed.problem };
      return list(deps.current(), parsed.query, deps.clock());
    }
    if (url.pathname === '/stages') {
      if (req.method !== 'GET') return notAllowed('GET');
      const parsed = stagesQuery(url);
      if (!parsed.ok) return { status: 400, body: parsed.problem };
      const { queries, model } = deps.current();
      const now = deps.clock();
      const funnel = await queries.funnel();
      const stages = queries.stages.map((stage) => ({ stage, leads: funnel[stage] ?? 0 }));
      return {
        status: 200,
        body: {
          stages,
          total: stages.reduce((n, s) => n + s.leads, 0),
          asOf: now,
          modelVersion: model.version,
        },
      };
    }
    if (url.pathname === '/leads:batchGet') {
      if (req.method !== 'POST') return notAllowed('POST');
      const type = String(req.headers['content-type'] ?? '');
      if (!/^application\/json\s*(;|$)/i.test(type))
        return { status: 415, body: { error: 'unsupported_media_type', message: 'send application/json' } };
      const raw = await readBody(req, MAX_BODY);
      if (raw === undefined)
        return { status: 413, body: { error: 'too_large', message: `the body is over ${MAX_BODY} bytes` } };
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return bad('the body is not JSON', 'bad_request');
      }
      if (!batchBody(body)) return bad(describe(batchBody.errors, 'body'), 'bad_request');
      const ids = [...new Set((body as { leadIds: string[] }).leadIds)];
      const wrong = ids.find((id) => id.length > MAX_ID || id.trim() !== id);
      if (wrong !== undefined)
        return bad(`leadIds: ${JSON.stringify(wrong)} has surrounding whitespace`, 'bad_request');
      const { store, model } = deps.current();
      const read = await store.read(ids);
      const now = deps.clock();
      const epoch = deps.epoch?.() ?? '0';
      return {
        status: 200,
        body: {
          leads: ids
            .filter((id) => read.has(id))
            .map((id) => leadView(id, read.get(id)!.record, now, model, epoch)),
          notFound: ids.filter((id) => !read.has(id)),
        },
      };
    }
    return undefined;
  };
}

async function list(g: QueryGeneration, q: Record<string, string | number>, now: number): Promise<Answer> {
  const { queries, model } = g;
  const limit = (q['limit'] as number | undefined) ?? DEFAULT_LIMIT;
  let cursor: Cursor | undefined;
  if (q['cursor'] !== undefined) {
    cursor = decodeCursor(String(q['cursor']));
    if (!cursor) return bad('cursor: not a cursor this API gave out');
  }
  const stageParam = q['stage'] as string | undefined;
  const sinceParam = q['updatedSince'] as string | undefined;
  const mode =
    cursor?.q ?? (stageParam !== undefined ? 'stage' : sinceParam !== undefined ? 'updated' : undefined);
  if (stageParam !== undefined && sinceParam !== undefined)
    return bad('stage and updatedSince: give one of them (two different queries)');
  if (!mode) return bad('stage or updatedSince: one of them is required (or a cursor)');

  if (mode === 'updated') {
    if (stageParam !== undefined || q['sort'] !== undefined || q['order'] !== undefined)
      return bad('stage, sort, order: not parameters of an updatedSince query');
    let from: IndexPosition;
    if (cursor) from = { key: cursor.k, id: cursor.i };
    else {
      const since = parseTime(String(sinceParam));
      if (since === undefined)
        return bad(
          'updatedSince: expected an ISO 8601 time with a zone (2026-06-01T08:00:00Z) or epoch milliseconds',
        );
      // Position (since, ''): every lead id sorts after '', so the write at `since` is included.
      from = { key: since * 1000, id: '' };
    }
    const page = await queries.updatedPage(0, limit, from);
    const last = page.entries[page.entries.length - 1];
    const resume = last ? { key: last.key, id: last.id } : from;
    return {
      status: 200,
      body: {
        items: await summaries(g, page, now, true),
        hasMore: page.next !== undefined,
        nextCursor: encodeCursor({ v: 1, q: 'updated', k: resume.key, i: resume.id }),
        asOf: now,
        modelVersion: model.version,
      },
    };
  }

  // A stage's leads.
  if (sinceParam !== undefined) return bad('updatedSince: not a parameter of a stage query');
  const stage = cursor?.q === 'stage' ? cursor.stage : String(stageParam);
  if (stageParam !== undefined && stageParam !== stage) return bad("stage: differs from the cursor's");
  if (!queries.stages.includes(stage))
    return bad(
      `stage: ${JSON.stringify(stage)} is not a stage of model ${model.version} (${queries.stages.join(', ')})`,
    );
  if (!queries.listed.includes(stage))
    return bad(
      `stage: ${JSON.stringify(stage)}, the first stage, is not listed (most leads are in it; GET /stages counts them, updatedSince finds them); listed: ${queries.listed.join(', ')}`,
    );
  const sortParam = q['sort'] as string | undefined;
  const sort =
    cursor?.q === 'stage'
      ? cursor.sort
      : sortParam === undefined || sortParam === 'enteredAt'
        ? ENTERED
        : sortParam.slice('score:'.length);
  if (
    cursor?.q === 'stage' &&
    sortParam !== undefined &&
    sortParam !== (sort === ENTERED ? 'enteredAt' : `score:${sort}`)
  )
    return bad("sort: differs from the cursor's");
  const dims = model.dimensions.map((d) => d.name);
  if (sort !== ENTERED && !dims.includes(sort))
    return bad(
      `sort: ${JSON.stringify(sort)} is not a dimension of model ${model.version} (${dims.map((d) => `score:${d}`).join(', ')}, or enteredAt)`,
    );
  const orderParam = q['order'] as Direction | undefined;
  const order: Direction = cursor?.q === 'stage' ? cursor.order : (orderParam ?? 'desc');
  if (orderParam !== undefined && orderParam !== order) return bad("order: differs from the cursor's");
  const after = cursor ? { key: cursor.k, id: cursor.i } : undefined;
  const page = await queries.stagePage(stage, sort, order, limit, after);
  return {
    status: 200,
    body: {
      items: await summaries(g, page, now, false),
      hasMore: page.next !== undefined,
      nextCursor: page.next
        ? encodeCursor({ v: 1, q: 'stage', stage, sort, order, k: page.next.key, i: page.next.id })
        : null,
      asOf: now,
      modelVersion: model.version,
    },
  };
}

/** The page's leads as stored now (a lead erased since the index was read is left out). */
async function summaries(g: QueryGeneration, page: Page, now: number, updated: boolean) {
  if (page.entries.length === 0) return [];
  const read = await g.store.read(page.entries.map((e) => e.id));
  const out = [];
  for (const e of page.entries) {
    const found = read.get(e.id);
    if (!found) continue;
    out.push({
      ...summary(e.id, found.record, now, g.model),
      ...(updated ? { updatedAt: Math.floor(e.key / 1000) } : {}),
    });
  }
  return out;
}

function summary(leadId: string, r: LeadRecord, now: number, model: Model) {
  const last = r.history[0];
  return {
    leadId,
    stage: r.state.stage,
    scores: scoresAt(r.state, now, model),
    sequence: r.state.seq,
    stageEnteredAt: last && last.to === r.state.stage ? last.at : null,
  };
}

/** The request body, or undefined past `max` bytes (the rest is not read). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    // Past the limit the rest is read and dropped, so that the 413 reaches the client.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) parts.push(chunk);
    });
    req.on('end', () => resolve(size > max ? undefined : Buffer.concat(parts)));
    req.on('error', reject);
  });
}
