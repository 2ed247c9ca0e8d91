import { dimensionScores, fnv1a32, type Model } from '@leadscorer/engine';
import type { LeadRecord } from './records.ts';

/**
 * What the read API's queries find a lead by: its stage, when it entered it, and per dimension an
 * order key that sorts leads by that dimension's score now, at any later time, without rewriting.
 *
 * Within one dimension every score fades by the same factor: s(t) = s(t0) * 2^(-(t - t0)/halfLife).
 * A common positive factor keeps the order of all scores, positive, zero and negative alike, so an
 * order fixed at the write time holds at every later time. The key writes that order as one number
 * that does not depend on when it was computed:
 *
 *   s > 0:  ORDER_BAND + log2(s) + t/halfLife      (= ORDER_BAND + log2 of the score at time 0)
 *   s = 0:  0
 *   s < 0:  -(ORDER_BAND + log2(-s) + t/halfLife)  (a larger debt sorts lower, and fades alike)
 *
 * log2 of a positive double is above -1075 and t/halfLife is not negative, so ORDER_BAND keeps
 * every positive key above every zero and every zero above every negative key. A dimension that
 * does not fade (fit) uses its score as it is. Precision: at t/halfLife ~ 3e7 (a one-minute
 * half-life in 2027) a double still tells apart scores 3e-9 apart (relative); leads that tie are
 * ordered by lead id.
 */
export const ORDER_BAND = 1100;

export function orderKey(score: number, now: number, halfLifeMs: number | null): number {
  if (halfLifeMs === null) return score;
  if (score === 0 || !Number.isFinite(score)) return 0;
  const k = ORDER_BAND + Math.log2(Math.abs(score)) + now / halfLifeMs;
  return score > 0 ? k : -k;
}

/**
 * The score an order key stands for at `now` (the inverse of orderKey): for tests and tools; the
 * read API shows the scores the engine computes from the record.
 */
export function scoreOfKey(key: number, now: number, halfLifeMs: number | null): number {
  if (halfLifeMs === null) return key;
  if (key === 0) return 0;
  const s = 2 ** (Math.abs(key) - ORDER_BAND - now / halfLifeMs);
  return key > 0 ? s : -s;
}

/**
 * Ties: many leads share a key (every lead without product activity has product 0; a chunk's leads
 * enter a stage at the same millisecond; fit scores repeat), and a cursor inside a large tie has to
 * skip the tie's leads before it on every page. A fraction from a hash of the lead id spreads them:
 * at most 1e-9 on score keys (scores closer than that relatively were equal to the order anyway;
 * zero keys stay inside (-1e-9, 1e-9), far from the +-26 bands of non-zero scores) and under 1 ms
 * on entry times. Leads that still tie are ordered by lead id.
 */
export function tiebreak(leadId: string): number {
  return fnv1a32(leadId) / 4_294_967_296;
}

/** A lead's place in the query indexes, as computed by the writer that commits its record. */
export interface IndexEntry {
  stage: string;
  /**
   * When the lead entered its stage (epoch ms, plus the lead's tiebreak fraction): the decision
   * time of the stage change that brought it there (its history's newest entry), or the write
   * time when its history does not say (a new lead).
   */
  enteredAt: number;
  /** Order key per model dimension, in model order (orderKey), plus the lead's tiebreak. */
  order: number[];
}

/** The entry of lead `leadId`'s `record` written at `now`. */
export function indexEntry(leadId: string, record: LeadRecord, now: number, model: Model): IndexEntry {
  const scores = dimensionScores(record.state, now, model);
  const last = record.history[0];
  const h = tiebreak(leadId);
  return {
    stage: record.state.stage,
    enteredAt: (last && last.to === record.state.stage ? last.at : now) + h,
    order: model.dimensions.map((d) => orderKey(scores[d.index]!, now, d.halfLifeMs) + h * 1e-9),
  };
}

/**
 * A write's index update: the entry of the record written, and the stage the indexes hold the
 * lead under now (the stage of the record the write replaces; undefined for a new lead). The
 * store moves the lead out of that stage's indexes when the stage differs.
 */
export interface IndexUpdate {
  before: string | undefined;
  entry: IndexEntry;
  /**
   * The order keys of the record the write replaces, computed at the same time with the same
   * model, when the indexes hold it under a listed stage (`before`). An order key does not move as
   * time passes, so a sort whose key is unchanged (a dimension the events did not touch) needs no
   * write, and neither does the entry time while the stage stays without a stage change: the store
   * skips them. Within a generation every writer writes the indexes with the generation's model,
   * so the keys Redis holds are these. Undefined: every sort is written.
   */
  previous?: readonly number[];
}

/** Per model, the listed stages as a set (previousOrder runs for every lead written). */
const listedSets = new WeakMap<Model, ReadonlySet<string>>();

/**
 * The order keys of a stored record before a write changes it (IndexUpdate.previous): only for a
 * lead in a listed stage, the only ones whose sorts a write could skip.
 */
export function previousOrder(
  leadId: string,
  record: LeadRecord,
  now: number,
  model: Model,
): number[] | undefined {
  let listed = listedSets.get(model);
  if (!listed) {
    listed = new Set(listedStages(model));
    listedSets.set(model, listed);
  }
  return listed.has(record.state.stage) ? indexEntry(leadId, record, now, model).order : undefined;
}

/** The stages a model's leads can be in: its ladder, then 'disqualified'. */
export function indexedStages(model: Model): string[] {
  return [...model.ladder.map((s) => s.name), 'disqualified'];
}

/**
 * The stages whose leads can be listed (by a score or entry time): every stage but the ladder's
 * first. Most leads never leave the first stage (unqualified), and a listing index costs about
 * 110 bytes of Redis per lead and sort, so indexing it would more than double the memory per lead
 * for a listing nobody works from (sales and CRMs work the qualified stages). Its leads are still
 * counted in the funnel and found by updatedSince. docs/model.md, "Queries".
 */
export function listedStages(model: Model): string[] {
  return indexedStages(model).slice(1);
}
