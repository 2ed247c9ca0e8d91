import type { RecordByTopic } from './generated/index.ts';
import type { TopicName } from './topics.ts';

/**
 * One realistic record per topic. They are the examples in docs/contracts.md and in the
 * AsyncAPI document (both generated from here), and tests encode, decode and validate every one
 * of them, so a documented example is always a valid message.
 */
export const EXAMPLES: { readonly [T in TopicName]: RecordByTopic[T] } = {
  'engagement.web-visit.v1': {
    eventId: '0b9f6a8e-4a51-4a0e-9a43-3d6f1f1c2a10',
    leadId: 'lead-000123',
    eventTime: 1767262500000,
    url: 'https://www.example.com/pricing?plan=team',
    path: '/pricing',
    referrer: 'https://www.google.com/',
    userAgent:
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
    sessionId: 's-7f3c2a',
    durationSeconds: 48,
  },
  'engagement.email.v1': {
    eventId: 'esp-evt-88412907',
    leadId: 'lead-000123',
    eventTime: 1767263400000,
    action: 'CLICK',
    campaignId: 'cmp-2026-01-webinar',
    messageId: 'msg-5c1e9b7d',
    deliveredAt: 1767261600000,
    userAgent:
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
    linkUrl: 'https://www.example.com/webinar/register',
  },
  'product.trial-activity.v1': {
    eventId: 'prd-3e0c1b52',
    leadId: 'lead-000123',
    eventTime: 1767349800000,
    accountId: 'acct-4410',
    action: 'invite_sent',
    feature: 'team-workspace',
    quantity: 3,
  },
  'lead.profile.v1': {
    eventId: 'crm-prof-77102',
    leadId: 'lead-000123',
    eventTime: 1767225600000,
    jobTitle: 'Head of Marketing Operations',
    seniority: 'DIRECTOR',
    companySize: 420,
    industry: 'software',
    country: 'DE',
  },
  'sales.qualification.v1': {
    eventId: 'crm-qual-5521',
    leadId: 'lead-000123',
    eventTime: 1767610800000,
    verdict: 'ACCEPTED',
    bant: { budget: true, authority: true, need: true, timeline: false },
    reason: null,
  },
  'lead.outcome.v1': {
    eventId: 'crm-opp-closed-991',
    leadId: 'lead-000123',
    eventTime: 1770116400000,
    result: 'WON',
    opportunityId: 'opp-20931',
    amount: 24000,
    currency: 'EUR',
    reason: 'team plan, annual',
  },
  'lead.erasure-requests.v1': {
    eventId: 'dsr-2041',
    leadId: 'lead-000123',
    eventTime: 1772535600000,
    requestedBy: 'privacy-portal',
  },
  'lead.stage-changed.v1': {
    eventId: '8c3f0a52-9d1e-5b47-a6f2-0e4d9b7c1a33',
    leadId: 'lead-000123',
    fromStage: 'mql',
    toStage: 'pql',
    scores: { engagement: 46.2, product: 31.5, fit: 18 },
    cause: { kind: 'RULE', ruleId: 'trial-invite-sent', detail: 'product 31.5 >= 30' },
    triggeringEventId: 'prd-3e0c1b52',
    eventTime: 1767349800000,
    emittedAt: 1767349800412,
    modelVersion: '2026-01-15.1',
    sequence: 4,
    topRules: [
      { ruleId: 'demo_request', dimension: 'engagement', points: 23.4 },
      { ruleId: 'trial_signup', dimension: 'product', points: 16.5 },
      { ruleId: 'seniority_director', dimension: 'fit', points: 10 },
      { ruleId: 'invite_sent', dimension: 'product', points: 10 },
      { ruleId: 'pricing_page', dimension: 'engagement', points: 9.1 },
    ],
  },
  'lead.stage.v1': {
    leadId: 'lead-000123',
    stage: 'pql',
    previousStage: 'mql',
    sequence: 4,
    scores: { engagement: 46.2, product: 31.5, fit: 18 },
    stageChangeEventId: '8c3f0a52-9d1e-5b47-a6f2-0e4d9b7c1a33',
    changedAt: 1767349800000,
    recordedAt: 1767349800412,
    modelVersion: '2026-01-15.1',
  },
};
