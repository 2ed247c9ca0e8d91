import type { InputTopicName, RecordByTopic } from '@leadscorer/contracts';

/**
 * Demo personas: each a timeline of events (seconds after the demo starts). Together they show
 * every kind of stage change in about a minute: MQL, SQL, PQL, CQL, a fading lead moving back
 * down, machine activity that scores nothing, and a disqualified lead.
 */
export interface Step {
  at: number;
  topic: InputTopicName;
  record: (lead: string, id: string, now: number) => RecordByTopic[InputTopicName];
}

export interface Persona {
  name: string;
  description: string;
  steps: Step[];
}

const HUMAN = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15';

const visit = (at: number, path: string, userAgent = HUMAN): Step => ({
  at,
  topic: 'engagement.web-visit.v1',
  record: (leadId, eventId, now) => ({
    eventId,
    leadId,
    eventTime: now,
    url: `https://www.example.com${path}`,
    path,
    referrer: null,
    userAgent,
    sessionId: null,
    durationSeconds: 40,
  }),
});

const email = (
  at: number,
  action: 'OPEN' | 'CLICK' | 'UNSUBSCRIBE',
  secondsAfterDelivery: number,
  userAgent = HUMAN,
): Step => ({
  at,
  topic: 'engagement.email.v1',
  record: (leadId, eventId, now) => ({
    eventId,
    leadId,
    eventTime: now,
    action,
    campaignId: 'autumn-launch',
    messageId: `msg-${leadId}`,
    deliveredAt: now - secondsAfterDelivery * 1000,
    userAgent,
    linkUrl: action === 'CLICK' ? 'https://www.example.com/pricing' : null,
  }),
});

const trial = (at: number, action: string, feature: string | null = null): Step => ({
  at,
  topic: 'product.trial-activity.v1',
  record: (leadId, eventId, now) => ({
    eventId,
    leadId,
    eventTime: now,
    accountId: `acct-${leadId}`,
    action,
    feature,
    quantity: 1,
  }),
});

const profile = (
  at: number,
  seniority: 'IC' | 'MANAGER' | 'DIRECTOR' | 'VP' | 'CXO',
  companySize: number,
): Step => ({
  at,
  topic: 'lead.profile.v1',
  record: (leadId, eventId, now) => ({
    eventId,
    leadId,
    eventTime: now,
    jobTitle: 'Head of Growth',
    seniority,
    companySize,
    industry: 'software',
    country: 'DE',
  }),
});

const verdict = (at: number, v: 'ACCEPTED' | 'REJECTED' | 'REOPENED', bant: boolean): Step => ({
  at,
  topic: 'sales.qualification.v1',
  record: (leadId, eventId, now) => ({
    eventId,
    leadId,
    eventTime: now,
    verdict: v,
    bant: { budget: bant, authority: bant, need: bant, timeline: bant },
    reason: v === 'REJECTED' ? 'no budget this year' : null,
  }),
});

export const PERSONAS: Persona[] = [
  {
    name: 'casual-visitor',
    description: 'reads a blog post and the docs, stays unqualified',
    steps: [visit(1, '/blog/lead-scoring-101'), visit(8, '/docs/getting-started')],
  },
  {
    name: 'engaged-reader',
    description:
      'a director at a mid-size software company reads pricing, clicks emails, asks for a demo: MQL, then sales accepts: SQL',
    steps: [
      profile(0, 'DIRECTOR', 400),
      visit(2, '/pricing'),
      email(5, 'CLICK', 3600),
      visit(8, '/customers/acme'),
      visit(11, '/pricing/enterprise'),
      visit(14, '/demo/thank-you'),
      verdict(30, 'ACCEPTED', true),
    ],
  },
  {
    name: 'trial-user',
    description: 'signs up for a trial (PQL), uses it for real, invites seats and opens billing: CQL',
    steps: [
      trial(3, 'signup'),
      trial(6, 'feature_used', 'reports'),
      trial(8, 'feature_used', 'dashboards'),
      trial(10, 'invite_sent'),
      trial(12, 'feature_used', 'alerts'),
      trial(13, 'usage_limit_hit'),
      trial(14, 'billing_page_viewed'),
    ],
  },
  {
    name: 'fading-trial',
    description: 'signs up and tries one feature (PQL), never comes back: moved back down by fading-leads',
    steps: [trial(4, 'signup'), trial(6, 'feature_used', 'reports')],
  },
  {
    name: 'bot',
    description: 'a crawler hammering the pricing page: filtered as machine activity, scores nothing',
    steps: [1, 2, 3, 4, 5, 6].map((s) =>
      visit(s, '/pricing', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'),
    ),
  },
  {
    name: 'privacy-proxy',
    description: 'email opens by a privacy proxy and a link scanner seconds after delivery: filtered',
    steps: [
      email(
        2,
        'OPEN',
        1,
        'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
      ),
      email(3, 'CLICK', 2),
    ],
  },
  {
    name: 'disqualified',
    description: 'engages, then sales rejects the lead: disqualified (nurture)',
    steps: [
      profile(0, 'VP', 2000),
      visit(3, '/pricing'),
      visit(6, '/demo/thank-you'),
      email(9, 'CLICK', 7200),
      verdict(20, 'REJECTED', false),
    ],
  },
];
