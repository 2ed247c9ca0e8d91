/**
 * A small model and event builders shared by the engine's tests. The tests use this model rather
 * than models/default.yaml so that tuning the default model never breaks the engine's tests.
 */
import { applyEvent } from './apply.ts';
import { loadModel } from './model.ts';
import type { Model } from './model-types.ts';
import type { LeadState } from './state.ts';
import type { PropValue, ScoringEvent } from './types.ts';

export const DAY = 86_400_000;
/** A day boundary (cap windows of 1d are aligned to the epoch). */
export const T0 = Date.UTC(2025, 0, 1);

export const TEST_MODEL_YAML = `
version: test-1
dimensions:
  engagement: { halfLife: 10d }
  product: { halfLife: 5d }
  fit: { decays: false }
machineActivity:
  emailMinSecondsAfterDelivery: 10
  emailProxyAgents: [GoogleImageProxy]
  webBotAgents: ["[a-z]bot/"]
dedupe: { window: 4 }
rules:
  - { id: page, description: page, when: { type: web, where: { path: { prefix: /p } } }, dimension: engagement, points: 10 }
  - { id: neg, description: careers, when: { type: web, where: { path: { prefix: /careers } } }, dimension: engagement, points: -5 }
  - id: capped
    description: capped page
    when: { type: web, where: { path: { prefix: /capped } } }
    dimension: engagement
    points: 3
    cap: { hits: 2, window: 1d }
  - { id: open, description: open, when: { type: email, where: { action: { equals: open } } }, dimension: engagement, points: 1 }
  - { id: unsub, description: unsubscribe, when: { type: email, where: { action: { equals: unsubscribe } } }, disqualify: true }
  - { id: use, description: feature, when: { type: trial, where: { action: { equals: feature_used } } }, dimension: product, points: 10 }
  - id: intent
    description: checkout
    when: { type: trial, where: { action: { equals: checkout_started } } }
    dimension: product
    points: 5
    signal: intent
  - { id: fit_exec, description: exec, when: { type: profile, where: { seniority: { equals: vp } } }, dimension: fit, points: 20 }
  - { id: fit_size, description: size, when: { type: profile, where: { companySize: { range: { gte: 50 } } } }, dimension: fit, points: 5 }
stages:
  - name: unqualified
  - name: mql
    enter: [{ score: engagement, gte: 40 }, { score: fit, gte: 10 }]
    stay: [{ score: engagement, gte: 30 }, { score: fit, gte: 10 }]
  - name: sql
    enter: [{ salesQualified: true }]
  - name: pql
    enter: [{ score: product, gte: 30 }]
    stay: [{ score: product, gte: 20 }]
  - name: cql
    enter: [{ score: product, gte: 60 }, { signal: intent, within: 7d }]
    stay: [{ score: product, gte: 45 }, { signal: intent, within: 7d }]
`;

export const testModel: Model = loadModel(TEST_MODEL_YAML, 'test.yaml');

let counter = 0;

export function event(
  type: ScoringEvent['type'],
  props: Record<string, PropValue>,
  eventTime: number,
  eventId?: string,
): ScoringEvent {
  return { eventId: eventId ?? `evt-${++counter}`, leadId: 'lead-1', eventTime, type, props };
}

export const web = (path: string, t: number, id?: string) =>
  event('web', { url: `https://example.com${path}`, path, userAgent: 'Mozilla/5.0' }, t, id);
export const trial = (action: string, t: number, id?: string) =>
  event('trial', { accountId: 'a1', action }, t, id);
export const email = (action: string, t: number, id?: string) =>
  event('email', { action, campaignId: 'c1', messageId: 'm1', secondsSinceDelivery: 3600 }, t, id);
export const profile = (props: Record<string, PropValue>, t: number, id?: string) =>
  event('profile', props, t, id);
export const sales = (verdict: string, bant: boolean, t: number, id?: string) =>
  event(
    'sales',
    { verdict, 'bant.budget': bant, 'bant.authority': bant, 'bant.need': bant, 'bant.timeline': bant },
    t,
    id,
  );

/** Applies events in order, each at `now` (default: its own event time), returning the final state. */
export function applyAll(
  events: ScoringEvent[],
  model: Model = testModel,
  now?: number,
): LeadState | undefined {
  let state: LeadState | undefined;
  for (const e of events) state = applyEvent(state, e, now ?? e.eventTime, model).state;
  return state;
}
