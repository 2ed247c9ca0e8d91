import type { ScoringEvent } from '@leadscorer/engine';

/**
 * Deterministic random engagement events for differential tests: a realistic mix of web,
 * email, trial, profile and sales events over a set of leads, with out-of-order event times
 * and upstream duplicates (the same event id sent again). Seeded, so a failure reproduces.
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POSITIVE_PATHS = [
  '/pricing',
  '/pricing/enterprise',
  '/docs/api',
  '/blog/scoring',
  '/customers/acme',
  '/demo/thank-you',
  '/',
];
const PATHS = [
  '/pricing',
  '/pricing/enterprise',
  '/docs/api',
  '/blog/scoring',
  '/careers',
  '/customers/acme',
  '/demo/thank-you',
  '/',
];
const AGENTS = ['Mozilla/5.0 (Macintosh) Safari/605.1', 'Googlebot/2.1 (+http://www.google.com/bot.html)'];
const EMAIL = ['open', 'open', 'open', 'click', 'click', 'unsubscribe'];
const POSITIVE_EMAIL = ['open', 'open', 'open', 'click', 'click'];
const TRIAL = [
  'signup',
  'login',
  'feature_used',
  'feature_used',
  'invite_sent',
  'billing_page_viewed',
  'usage_limit_hit',
  'checkout_started',
];
const SENIORITY = ['ic', 'manager', 'director', 'vp', 'cxo'];
const INDUSTRY = ['software', 'retail', 'finance', 'education'];
const VERDICTS = ['accepted', 'accepted', 'rejected', 'reopened'];

export interface GenOptions {
  seed: number;
  leads: number;
  events: number;
  /** Arrival ("now") of the first event and the step between arrivals, ms. */
  start: number;
  stepMs: number;
  /** Event times lag arrival by up to this much (out of order), ms. */
  maxLagMs: number;
  /** Share of events that repeat an earlier event id (upstream duplicates). */
  duplicateRate?: number;
  /** Repeat the event just generated instead of a random earlier one (a producer retry). */
  adjacentDuplicates?: boolean;
  /** Leave out events of negative-point rules (careers page, unsubscribe): see the engine's
   * order-independence caveat; services consuming several topics interleave them freely. */
  positiveOnly?: boolean;
  leadPrefix?: string;
}

export interface GeneratedEvent {
  event: ScoringEvent;
  /** When the event arrives (the processing `now`). */
  arrival: number;
}

export function generateEvents(o: GenOptions): GeneratedEvent[] {
  const rnd = prng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const out: GeneratedEvent[] = [];
  const paths = o.positiveOnly ? POSITIVE_PATHS : PATHS;
  const emails = o.positiveOnly ? POSITIVE_EMAIL : EMAIL;
  for (let n = 0; n < o.events; n++) {
    const arrival = o.start + n * o.stepMs;
    if (out.length > 0 && rnd() < (o.duplicateRate ?? 0.03)) {
      const again = o.adjacentDuplicates ? out[out.length - 1]! : out[Math.floor(rnd() * out.length)]!;
      out.push({ event: again.event, arrival });
      continue;
    }
    const leadId = `${o.leadPrefix ?? 'lead'}-${Math.floor(rnd() * o.leads)}`;
    const eventTime = arrival - Math.floor(rnd() * o.maxLagMs);
    const base = { eventId: `ev-${o.seed}-${n}`, leadId, eventTime };
    const r = rnd();
    let event: ScoringEvent;
    if (r < 0.4) {
      event = {
        ...base,
        type: 'web',
        props: {
          url: `https://example.com${pick(paths)}`,
          path: pick(paths),
          userAgent: rnd() < 0.9 ? AGENTS[0]! : AGENTS[1]!,
        },
      };
    } else if (r < 0.65) {
      const deliveredAt = eventTime - Math.floor(rnd() * 3_600_000);
      event = {
        ...base,
        type: 'email',
        props: {
          action: pick(emails),
          campaignId: 'c1',
          messageId: `m${n}`,
          deliveredAt,
          secondsSinceDelivery: Math.floor((eventTime - deliveredAt) / 1000),
          userAgent: AGENTS[0]!,
        },
      };
    } else if (r < 0.9) {
      event = {
        ...base,
        type: 'trial',
        props: { accountId: `acct-${leadId}`, action: pick(TRIAL), feature: 'reports', quantity: 1 },
      };
    } else if (r < 0.96) {
      event = {
        ...base,
        type: 'profile',
        props: {
          jobTitle: 'Head of Growth',
          seniority: pick(SENIORITY),
          companySize: Math.floor(rnd() * 5000),
          industry: pick(INDUSTRY),
          country: 'DE',
        },
      };
    } else {
      const pass = rnd() < 0.7;
      event = {
        ...base,
        type: 'sales',
        props: {
          verdict: pick(VERDICTS),
          'bant.budget': pass,
          'bant.authority': true,
          'bant.need': true,
          'bant.timeline': pass,
          reason: null,
        },
      };
    }
    out.push({ event, arrival });
  }
  return out;
}
