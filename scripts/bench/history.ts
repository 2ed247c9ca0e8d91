/**
 * The benchmarks' seeded history: a realistic mix over `leads` leads and 60 days (45% web visits
 * with 3% bots, 25% email with privacy-proxy and too-soon opens, 22% trial activity, 3% profiles,
 * 2% sales verdicts, 0.5% outcomes), the same every run. npm run bench:replay and bench:rescore.
 */
import type { SeedMessage } from '../../libs/replay/src/test-support.ts';

/** mulberry32: seeded, so every run measures the same history. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let random = rng(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const BROWSERS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
];
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const PROXY = 'Mozilla/5.0 (Windows NT 5.1) (via ggpht.com GoogleImageProxy)';
const PATHS = [
  '/',
  '/features',
  '/pricing',
  '/docs/getting-started',
  '/docs/api/events',
  '/blog/lead-scoring-101',
  '/customers/acme',
  '/careers',
  '/demo/thank-you',
  '/integrations',
];
const TRIAL = [
  'login',
  'login',
  'feature_used',
  'feature_used',
  'feature_used',
  'invite_sent',
  'billing_page_viewed',
  'usage_limit_hit',
  'checkout_started',
  'signup',
];
const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

function message(i: number, events: number, leads: number): SeedMessage {
  const timestamp = T0 + Math.floor((i / events) * 60 * DAY);
  const leadId = `lead-${Math.floor(random() * leads)}`;
  const eventTime = timestamp - Math.floor(random() * random() * 6 * 3_600_000); // some hours late
  const base = { eventId: `evt-${i}`, leadId, eventTime };
  const r = random();
  if (r < 0.45) {
    const path = pick(PATHS);
    const record = {
      ...base,
      url: `https://www.example.com${path}?utm_source=newsletter&utm_campaign=c${i % 40}`,
      path,
      referrer: random() < 0.5 ? 'https://www.google.com/' : null,
      userAgent: random() < 0.03 ? BOT : pick(BROWSERS),
      sessionId: `s-${(i % 977).toString(36)}`,
      durationSeconds: Math.floor(random() * 300),
    };
    return { topic: 'engagement.web-visit.v1', leadId, record, timestamp };
  }
  if (r < 0.7) {
    const a = random();
    const action = a < 0.6 ? 'OPEN' : a < 0.998 ? 'CLICK' : 'UNSUBSCRIBE';
    const record = {
      ...base,
      action,
      campaignId: `cmp-${i % 30}`,
      messageId: `msg-${i}`,
      deliveredAt: eventTime - (random() < 0.15 ? 2_000 : 3_600_000),
      userAgent: random() < 0.05 ? PROXY : pick(BROWSERS),
      linkUrl: action === 'CLICK' ? 'https://www.example.com/webinar/register' : null,
    };
    return { topic: 'engagement.email.v1', leadId, record, timestamp };
  }
  if (r < 0.945) {
    const record = {
      ...base,
      accountId: `acct-${leadId}`,
      action: pick(TRIAL),
      feature: 'reports',
      quantity: null,
    };
    return { topic: 'product.trial-activity.v1', leadId, record, timestamp };
  }
  if (r < 0.975) {
    const record = {
      ...base,
      jobTitle: 'Head of Growth',
      seniority: pick(['IC', 'MANAGER', 'DIRECTOR', 'VP', 'CXO']),
      companySize: Math.floor(random() * 10_000),
      industry: pick(['software', 'retail', 'fintech']),
      country: pick(['US', 'DE', 'BR']),
    };
    return { topic: 'lead.profile.v1', leadId, record, timestamp };
  }
  if (r < 0.995) {
    const ok = random() < 0.7;
    const record = {
      ...base,
      verdict: pick(['ACCEPTED', 'ACCEPTED', 'REJECTED', 'REOPENED']),
      bant: { budget: ok, authority: ok, need: true, timeline: ok },
      reason: null,
    };
    return { topic: 'sales.qualification.v1', leadId, record, timestamp };
  }
  const won = random() < 0.3;
  const record = {
    ...base,
    result: won ? 'WON' : 'LOST',
    opportunityId: `opp-${i}`,
    amount: won ? 12_000 : null,
    currency: won ? 'EUR' : null,
    reason: null,
  };
  return { topic: 'lead.outcome.v1', leadId, record, timestamp };
}

/** `events` messages over `leads` leads, generated as they are read (no array of millions). */
export function* seededHistory(events: number, leads: number): Generator<SeedMessage> {
  random = rng(42);
  for (let i = 0; i < events; i++) yield message(i, events, leads);
}
