import type { InputTopicName, RecordByTopic } from '@leadscorer/contracts';
import { prng } from '../../test/support/event-gen.ts';

/**
 * The benchmark's traffic: Avro records exactly as the website tracker, email platform, product
 * backend and CRM would publish them. Seeded, so every run measures the same events.
 *
 * Shape (the assumptions are the benchmark's, written down so results can be judged):
 * - engagement split web / email / trial = 55 / 30 / 15, plus profile snapshots (4 % of events)
 *   and sales verdicts (0.5 %);
 * - activity is skewed: 30 % of events come from a hot 10 % of leads, the rest uniformly, so a
 *   lead sees ~7 events and a hot lead ~37 at 10 events per lead on average;
 * - trial activity comes from the 30 % of leads that run a trial;
 * - machine activity is present: 3 % of visits are crawlers, 8 % of opens/clicks are privacy
 *   proxies or link scanners seconds after delivery (both score nothing, but cost a script call);
 * - arrivals span `spanMs` up to `now`; event times trail arrival by up to a minute, and 10 % by up
 *   to 6 hours (late mobile / batch uploads), so event times are out of order;
 * - 3 % of messages repeat a recent message with the same event id (producer retries).
 */
export type BenchRecord = {
  [T in InputTopicName]: { name: T; record: RecordByTopic[T] };
}[InputTopicName];

export interface WorkloadOptions {
  seed: number;
  events: number;
  leads: number;
  /** The last arrival time, epoch ms. */
  now: number;
  spanMs: number;
  /** Makes event ids unique per run and phase. */
  tag: string;
  /** Prefix of lead ids (default: tag); the latency phase sends to the drained leads. */
  leadTag?: string;
  duplicateRate?: number;
}

// The tests' seeded PRNG (mulberry32): a workload reproduces from its seed. Re-exported for
// the latency phase's live stream.
export { prng };

const BROWSERS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
];
const CRAWLER = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
// Weighted by repetition: home and product pages dominate, pricing and docs are common.
const PATHS = [
  '/',
  '/',
  '/features',
  '/features',
  '/integrations',
  '/pricing',
  '/pricing',
  '/pricing/enterprise',
  '/docs/getting-started',
  '/docs/api/events',
  '/blog/lead-scoring-101',
  '/blog/product-qualified-leads',
  '/customers/acme',
  '/careers',
  '/demo/thank-you',
];
const TRIAL_ACTIONS = [
  ...Array<string>(30).fill('login'),
  ...Array<string>(40).fill('feature_used'),
  ...Array<string>(5).fill('signup'),
  ...Array<string>(8).fill('invite_sent'),
  ...Array<string>(7).fill('billing_page_viewed'),
  ...Array<string>(6).fill('usage_limit_hit'),
  ...Array<string>(4).fill('checkout_started'),
];
const FEATURES = ['reports', 'dashboards', 'exports', 'alerts', 'api'];
const TITLES = ['Head of Growth', 'Marketing Manager', 'CTO', 'Software Engineer', 'VP Sales', 'Student'];
const SENIORITY = ['IC', 'MANAGER', 'DIRECTOR', 'VP', 'CXO', 'UNKNOWN'] as const;
const INDUSTRIES = ['software', 'saas', 'retail', 'finance', 'education', 'media'];
const COUNTRIES = ['US', 'DE', 'GB', 'FR', 'IN', 'BR', 'NL', 'JP'];
const VERDICTS = ['ACCEPTED', 'ACCEPTED', 'ACCEPTED', 'REJECTED', 'REJECTED', 'REOPENED'] as const;

const MIN = 60_000;
const HOUR = 60 * MIN;

export function leadId(tag: string, n: number): string {
  return `${tag}-${String(n).padStart(7, '0')}`;
}

/** A stream of `events` records; call next() until it returns undefined. */
export class Workload {
  private readonly o: WorkloadOptions;
  private readonly rnd: () => number;
  private readonly recent: BenchRecord[] = [];
  private n = 0;

  constructor(o: WorkloadOptions) {
    this.o = o;
    this.rnd = prng(o.seed);
  }

  get total(): number {
    return this.o.events;
  }

  next(): BenchRecord | undefined {
    const { o, rnd } = this;
    if (this.n >= o.events) return undefined;
    const i = this.n++;
    if (this.recent.length > 0 && rnd() < (o.duplicateRate ?? 0.03)) {
      return this.recent[Math.floor(rnd() * this.recent.length)]!;
    }
    const arrival = o.now - o.spanMs + Math.floor((i / o.events) * o.spanMs);
    const lag = rnd() < 0.9 ? Math.floor(rnd() * MIN) : Math.floor(rnd() * 6 * HOUR);
    const eventTime = arrival - lag;
    const hot = rnd() < 0.3;
    const leadN = hot ? Math.floor(rnd() * o.leads * 0.1) : Math.floor(rnd() * o.leads);
    const r = rnd();
    let rec: BenchRecord;
    if (r < 0.04) rec = this.profile(i, leadN, eventTime);
    else if (r < 0.045) rec = this.sales(i, leadN, eventTime);
    else {
      const e = rnd();
      if (e < 0.55) rec = this.web(i, leadN, eventTime);
      else if (e < 0.85) rec = this.email(i, leadN, eventTime);
      else rec = this.trial(i, trialLead(leadN, o.leads), eventTime);
    }
    if (this.recent.length < 1024) this.recent.push(rec);
    else this.recent[i % 1024] = rec;
    return rec;
  }

  private base(i: number, leadN: number, eventTime: number) {
    return { eventId: `${this.o.tag}-e${i}`, leadId: leadId(this.o.leadTag ?? this.o.tag, leadN), eventTime };
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)]!;
  }

  web(i: number, leadN: number, eventTime: number): BenchRecord {
    const path = this.pick(PATHS);
    const bot = this.rnd() < 0.03;
    return {
      name: 'engagement.web-visit.v1',
      record: {
        ...this.base(i, leadN, eventTime),
        url: `https://www.example.com${path}`,
        path,
        referrer: this.rnd() < 0.3 ? 'https://www.google.com/' : null,
        userAgent: bot ? CRAWLER : this.pick(BROWSERS),
        sessionId: `s${leadN}-${Math.floor(eventTime / HOUR)}`,
        durationSeconds: Math.floor(this.rnd() * 300),
      },
    };
  }

  email(i: number, leadN: number, eventTime: number): BenchRecord {
    const machine = this.rnd() < 0.08;
    const a = this.rnd();
    const action = a < 0.005 ? 'UNSUBSCRIBE' : a < 0.67 ? 'OPEN' : 'CLICK';
    const deliveredAt = machine
      ? eventTime - Math.floor(this.rnd() * 3_000)
      : eventTime - 30_000 - Math.floor(this.rnd() * 48 * HOUR);
    const campaign = Math.floor(eventTime / (24 * HOUR)) % 50;
    return {
      name: 'engagement.email.v1',
      record: {
        ...this.base(i, leadN, eventTime),
        action,
        campaignId: `cmp-${campaign}`,
        messageId: `msg-${campaign}-${leadN}`,
        deliveredAt,
        userAgent: machine ? PROXY : this.pick(BROWSERS),
        linkUrl: action === 'CLICK' ? 'https://www.example.com/pricing' : null,
      },
    };
  }

  trial(i: number, leadN: number, eventTime: number, action?: string): BenchRecord {
    const act = action ?? this.pick(TRIAL_ACTIONS);
    return {
      name: 'product.trial-activity.v1',
      record: {
        ...this.base(i, leadN, eventTime),
        accountId: `acct-${leadN}`,
        action: act,
        feature: act === 'feature_used' ? this.pick(FEATURES) : null,
        quantity: act === 'invite_sent' ? 1 + Math.floor(this.rnd() * 3) : null,
      },
    };
  }

  profile(i: number, leadN: number, eventTime: number): BenchRecord {
    return {
      name: 'lead.profile.v1',
      record: {
        ...this.base(i, leadN, eventTime),
        jobTitle: this.pick(TITLES),
        seniority: this.pick(SENIORITY),
        companySize: Math.floor(10 ** (1 + this.rnd() * 4)),
        industry: this.pick(INDUSTRIES),
        country: this.pick(COUNTRIES),
      },
    };
  }

  sales(i: number, leadN: number, eventTime: number): BenchRecord {
    const pass = this.rnd() < 0.7;
    return {
      name: 'sales.qualification.v1',
      record: {
        ...this.base(i, leadN, eventTime),
        verdict: this.pick(VERDICTS),
        bant: { budget: pass, authority: true, need: true, timeline: pass || this.rnd() < 0.5 },
        reason: null,
      },
    };
  }
}

/** Maps any lead number onto the 30 % of leads that run a trial (numbers with n mod 10 < 3). */
function trialLead(n: number, leads: number): number {
  const m = n - (n % 10) + (n % 3);
  return m < leads ? m : n % 3;
}
