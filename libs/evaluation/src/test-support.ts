/**
 * Builders of topic records for the evaluation's tests: complete records of each topic (what a
 * history file holds), with only what a test varies as arguments.
 */
import type { TopicRecord } from './history.ts';

let n = 0;
const id = () => `evt-${++n}`;

export function web(leadId: string, at: number, path: string): TopicRecord<'engagement.web-visit.v1'> {
  return {
    topic: 'engagement.web-visit.v1',
    record: {
      eventId: id(),
      leadId,
      eventTime: at,
      url: `https://www.example.com${path}`,
      path,
      referrer: null,
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
      sessionId: null,
      durationSeconds: null,
    },
  };
}

export function unsubscribe(leadId: string, at: number): TopicRecord<'engagement.email.v1'> {
  return {
    topic: 'engagement.email.v1',
    record: {
      eventId: id(),
      leadId,
      eventTime: at,
      action: 'UNSUBSCRIBE',
      campaignId: 'cmp-1',
      messageId: 'msg-1',
      deliveredAt: at - 3_600_000,
      userAgent: null,
      linkUrl: null,
    },
  };
}

export function outcome(
  leadId: string,
  at: number,
  result: 'WON' | 'LOST' | 'UNKNOWN',
  amount: number | null = null,
): TopicRecord<'lead.outcome.v1'> {
  return {
    topic: 'lead.outcome.v1',
    record: {
      eventId: id(),
      leadId,
      eventTime: at,
      result,
      opportunityId: null,
      amount,
      currency: amount === null ? null : 'EUR',
      reason: null,
    },
  };
}

/** A small model the hand-computed figures are worked out on: engagement alone decides MQL. */
export function handModel(pricing: number, blog: number): string {
  return `
version: hand-${pricing}-${blog}
dimensions:
  engagement: { halfLife: 7d }
  fit: { decays: false }
rules:
  - { id: pricing, description: pricing, when: { type: web, where: { path: { prefix: /pricing } } }, dimension: engagement, points: ${pricing} }
  - { id: blog, description: blog, when: { type: web, where: { path: { prefix: /blog } } }, dimension: engagement, points: ${blog} }
  - { id: senior, description: senior, when: { type: profile, where: { seniority: { equals: vp } } }, dimension: fit, points: 10 }
  - { id: unsub, description: unsubscribed, when: { type: email, where: { action: { equals: unsubscribe } } }, disqualify: true }
stages:
  - name: unqualified
  - name: mql
    enter: [{ score: engagement, gte: 30 }]
    stay: [{ score: engagement, gte: 20 }]
`;
}
