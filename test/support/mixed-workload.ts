import {
  advanceTo,
  applyEvent,
  type LeadState,
  type Model,
  type ScoringEvent,
  transitionId,
} from '@leadscorer/engine';
import { expect } from 'vitest';
import { prng } from './event-gen.ts';
import { normalizeState } from './oracle.ts';

/**
 * Mixed traffic for the invariant suites (contention, kill storms) whose stage changes the engine
 * can predict exactly although several services apply a lead's events in an order nobody knows.
 * The idea: every lead has events from several services (so their commits collide), but only one
 * kind of event can move its stage, and that kind comes from one topic, in one partition's order.
 *
 *   trial leads    web, email, trial: trial moves PQL/CQL; engagement alone never reaches MQL
 *                  (these leads have no profile, so fit is 0)
 *   fit leads      web, email and one profile: engagement only grows (no negative rules, one
 *                  `now`), so MQL is entered exactly once whatever the order
 *   sales leads    web, email, sales verdicts: only verdicts (one topic) move the stage
 *   fading leads   a trial sign-up seeded ten days earlier (so they are PQL and due), then web and
 *                  email: at `now` they fall back to unqualified, moved by fading-leads or noticed
 *                  by whichever event comes first: the same (lead, sequence, from, to), the same id
 *
 * Upstream duplicates follow their original in the same topic, right after it or some events later. Each event type has its own dedupe
 * ring, so whether a duplicate is recognised cannot depend on how the services interleave:
 * events of other types never push its original out.
 */
export type LeadGroup = 'trial' | 'fit' | 'sales' | 'fading';
const GROUPS: LeadGroup[] = ['trial', 'fit', 'sales', 'fading'];
const DAY = 86_400_000;

export function testModelText(defaultText: string): string {
  return defaultText.replace(/^version: .*$/m, 'version: invariants');
}

export interface MixedWorkload {
  /** Applied first, at `now - 10 days`, by trial-activity (the fading leads' history). */
  seed: ScoringEvent[];
  /** Then all of these at `now`, by every service at once. */
  events: ScoringEvent[];
  leads: string[];
  groupOf(lead: string): LeadGroup;
}

export function mixedWorkload(o: {
  seed: number;
  leads: number;
  events: number;
  now: number;
  prefix: string;
}): MixedWorkload {
  const rnd = prng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const leads = Array.from({ length: o.leads }, (_, i) => `${o.prefix}-${i}`);
  const group = new Map(leads.map((l, i) => [l, GROUPS[i % GROUPS.length]!]));
  let n = 0;
  const id = () => `${o.prefix}-ev-${n++}`;
  const seed: ScoringEvent[] = [];
  for (const lead of leads.filter((l) => group.get(l) === 'fading')) {
    const t = o.now - 10 * DAY;
    seed.push(trial(id(), lead, t, 'signup'), trial(id(), lead, t, 'feature_used'));
  }
  const events: ScoringEvent[] = [];
  const later: { at: number; e: ScoringEvent }[] = [];
  const profiled = new Set<string>();
  for (let k = 0; k < o.events; k++) {
    const lead = pick(leads);
    const g = group.get(lead)!;
    const t = o.now - Math.floor(rnd() * 6 * DAY);
    const r = rnd();
    let e: ScoringEvent;
    if (g === 'trial' && r < 0.4) e = trial(id(), lead, t, pick(TRIAL));
    else if (g === 'fit' && r < 0.1 && !profiled.has(lead)) {
      profiled.add(lead);
      e = profile(id(), lead, t, pick(['vp', 'director']));
    } else if (g === 'sales' && r < 0.15)
      e = sales(id(), lead, t, pick(['accepted', 'accepted', 'rejected', 'reopened']));
    else if (r < 0.75) e = web(id(), lead, t, pick(PATHS));
    else e = email(id(), lead, t, pick(['open', 'open', 'click']));
    events.push(e);
    // A producer retry: the same event again, right after it in its topic, or a resend some
    // events later (the lead may have had others of its type in between: beyond the dedupe
    // window the copy counts again, in the engine alone exactly as in the system).
    if (rnd() < 0.04) events.push(e);
    if (rnd() < 0.03) later.push({ at: events.length + 1 + Math.floor(rnd() * 40), e });
    for (let i = later.length - 1; i >= 0; i--) {
      if (later[i]!.at > events.length) continue;
      events.push(later[i]!.e);
      later.splice(i, 1);
    }
  }
  for (const { e } of later) events.push(e);
  return { seed, events, leads, groupOf: (l) => group.get(l)! };
}

const PATHS = ['/pricing', '/docs/api', '/blog/scoring', '/customers/acme', '/demo/thank-you', '/'];
const TRIAL = ['login', 'feature_used', 'feature_used', 'invite_sent', 'usage_limit_hit', 'checkout_started'];

function web(eventId: string, leadId: string, eventTime: number, path: string): ScoringEvent {
  return {
    eventId,
    leadId,
    eventTime,
    type: 'web',
    props: { url: `https://example.com${path}`, path, userAgent: 'Mozilla/5.0 (Macintosh) Safari/605.1' },
  };
}

function email(eventId: string, leadId: string, eventTime: number, action: string): ScoringEvent {
  const deliveredAt = eventTime - 3_600_000;
  return {
    eventId,
    leadId,
    eventTime,
    type: 'email',
    props: {
      action,
      campaignId: 'c1',
      messageId: `m-${eventId}`,
      deliveredAt,
      secondsSinceDelivery: 3600,
      userAgent: 'Mozilla/5.0',
    },
  };
}

function trial(eventId: string, leadId: string, eventTime: number, action: string): ScoringEvent {
  return {
    eventId,
    leadId,
    eventTime,
    type: 'trial',
    props: { accountId: `a-${leadId}`, action, feature: 'reports', quantity: 1 },
  };
}

function profile(eventId: string, leadId: string, eventTime: number, seniority: string): ScoringEvent {
  return {
    eventId,
    leadId,
    eventTime,
    type: 'profile',
    props: { jobTitle: 'Head of Growth', seniority, companySize: 400, industry: 'software', country: 'DE' },
  };
}

function sales(eventId: string, leadId: string, eventTime: number, verdict: string): ScoringEvent {
  return {
    eventId,
    leadId,
    eventTime,
    type: 'sales',
    props: {
      verdict,
      'bant.budget': true,
      'bant.authority': true,
      'bant.need': true,
      'bant.timeline': true,
      reason: null,
    },
  };
}

export interface Expected {
  states: Map<string, LeadState>;
  /** transitionId of every stage change the engine makes. */
  ids: Set<string>;
}

/** The engine alone: the seed at now - 10 days, the events at now, then what fading does at now. */
export function expectedOutcome(w: MixedWorkload, now: number, model: Model): Expected {
  const states = new Map<string, LeadState>();
  const ids = new Set<string>();
  const apply = (e: ScoringEvent, at: number) => {
    const r = applyEvent(states.get(e.leadId), e, at, model);
    states.set(e.leadId, r.state);
    if (r.transition) ids.add(transitionId(e.leadId, r.transition.seq, r.transition.from, r.transition.to));
  };
  for (const e of w.seed) apply(e, now - 10 * DAY);
  for (const e of w.events) apply(e, now);
  for (const [lead, s] of states) {
    const r = advanceTo(s, now, model);
    if (!r.transition) continue;
    states.set(lead, r.state);
    ids.add(transitionId(lead, r.transition.seq, r.transition.from, r.transition.to));
  }
  return { states, ids };
}

/** Everything of a state that cannot depend on the interleaving: all but the dedupe ring's order. */
export function expectSameOutcome(got: LeadState, want: LeadState, lead: string): void {
  const { c: gc, ring: gr, ...g } = normalizeState(got);
  const { c: wc, ring: wr, ...w } = normalizeState(want);
  expect(g, `state of ${lead}`).toEqual(w);
  // Each event type's ring is that type's last events in its topic's order: the same whatever
  // the other services did meanwhile.
  expect(gr, `dedupe rings of ${lead}`).toEqual(wr);
  expect(Object.keys(gc).sort(), `contributions of ${lead}`).toEqual(Object.keys(wc).sort());
  for (const [rule, [v, t]] of Object.entries(wc)) {
    expect(gc[rule]![1], `${lead} ${rule} time`).toBe(t);
    expect(Math.abs(gc[rule]![0] - v), `${lead} ${rule} value`).toBeLessThanOrEqual(
      1e-6 * Math.max(1, Math.abs(v)),
    );
  }
}
