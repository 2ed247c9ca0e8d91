import type { RecordByTopic, TopicName } from '@leadscorer/contracts';
import type { TopicRecord } from '../history.ts';
import { DAY_MS, WEEK_MS } from '../time.ts';
import { Random } from './random.ts';

/**
 * A seeded history with a known answer. Every lead has a hidden propensity to buy that drives
 * both what it does and whether it wins: research (pricing, customer stories, demo requests)
 * and buying intent in the trial (invites, billing, usage limits, checkout) grow with it, and
 * so does its chance to win. Other behaviour is noise the propensity does not drive: newsletter
 * fans open and click every email and read the blog, tinkerers try every feature of the trial.
 * A model that weights the research and the intent over the newsletter and the tinkering ranks
 * the buyers higher, and the evaluation shows it (models/candidates/intent-weighted.yaml).
 */

export interface DemoOptions {
  seed: number;
  leads: number;
  /** A Monday 00:00 UTC: the history's first week. */
  start: number;
  /** Weeks of history; leads arrive in the first two thirds of it. */
  weeks: number;
}

export const DEMO_DEFAULTS: DemoOptions = { seed: 7, leads: 2000, start: Date.UTC(2025, 0, 6), weeks: 39 };

const BROWSERS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
];
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const TARGET_INDUSTRIES = ['software', 'saas', 'fintech', 'ecommerce', 'media'];
const OTHER_INDUSTRIES = ['manufacturing', 'education', 'government', 'retail'];
const SERVED = ['US', 'GB', 'DE', 'FR', 'NL', 'SE', 'AU', 'CA'];
const NOT_SERVED = ['BR', 'IN', 'JP', 'ZA'];
const FEATURES = ['dashboards', 'reports', 'integrations', 'alerts', 'api', 'workflows'];

export function generateDemoHistory(options: DemoOptions = DEMO_DEFAULTS): TopicRecord[] {
  const random = new Random(options.seed);
  const records: TopicRecord[] = [];
  const end = options.start + options.weeks * WEEK_MS;
  const arrivalSpan = Math.floor((options.weeks * 2) / 3) * WEEK_MS;
  const width = String(options.leads).length;
  for (let i = 1; i <= options.leads; i++) {
    const lead = new DemoLead(random, `lead-${String(i).padStart(width, '0')}`, records);
    lead.live(options.start + Math.floor(random.next() * arrivalSpan), end);
  }
  return records.sort((a, b) => a.timestamp! - b.timestamp!);
}

/** One lead's life: a profile, weekly behaviour until its deal closes or it goes quiet, an outcome. */
class DemoLead {
  private readonly propensity: number;
  private readonly fan: number;
  private readonly tinkerer: number;
  private n = 0;
  private trialSince = Number.NaN;
  private unsubscribed = false;
  private readonly random: Random;
  private readonly id: string;
  private readonly out: TopicRecord[];

  constructor(random: Random, id: string, out: TopicRecord[]) {
    this.random = random;
    this.id = id;
    this.out = out;
    // Uniform; the chance to win grows with its cube, so the keenest few buy most often.
    this.propensity = random.next();
    this.fan = random.next();
    this.tinkerer = random.next();
  }

  live(arrival: number, end: number): void {
    const { random, propensity: p } = this;
    const won = random.chance(0.02 + 0.5 * p ** 3);
    const close = won
      ? arrival + (21 + Math.floor(random.next() * 120)) * DAY_MS
      : random.chance(0.45)
        ? arrival + (30 + Math.floor(random.next() * 150)) * DAY_MS
        : Number.POSITIVE_INFINITY;
    const until = Math.min(close, end);
    this.profile(arrival);
    for (let week = arrival; week < until; week += WEEK_MS) this.week(week, Math.min(week + WEEK_MS, until));
    if (won && close < end) this.buyingSignals(close);
    if (close < end) this.outcome(close, won);
  }

  private week(from: number, to: number): void {
    const { random, propensity: p, fan, tinkerer } = this;
    const at = () => from + Math.floor(random.next() * (to - from));
    // Noise the propensity does not drive: newsletters and the blog (fans read them for months),
    // docs, job seekers, bots.
    if (!this.unsubscribed) {
      // Two newsletters a week, Tuesday and Thursday mornings.
      for (const day of [1, 3]) {
        const delivered = from + day * DAY_MS + 9 * 3_600_000;
        if (delivered >= to) continue;
        if (random.chance(0.1 + 0.85 * fan)) this.email(delivered, 'OPEN');
        if (random.chance(0.05 + 0.85 * fan)) this.email(delivered, 'CLICK');
        if (random.chance(0.08)) this.email(delivered, 'OPEN', PROXY);
      }
      if (random.chance(0.01 * (1 - fan))) {
        this.email(from, 'UNSUBSCRIBE');
        this.unsubscribed = true;
      }
    }
    for (let k = random.poisson(6 * fan); k > 0; k--) this.visit(at(), `/blog/post-${random.int(1, 80)}`);
    for (let k = random.poisson(0.6); k > 0; k--) this.visit(at(), `/docs/${random.pick(FEATURES)}`);
    if (p < 0.1 && random.chance(0.2)) this.visit(at(), '/careers');
    if (random.chance(0.05)) this.visit(at(), '/pricing', BOT);
    // Research: driven by the propensity.
    for (let k = random.poisson(2 * p * p); k > 0; k--) this.visit(at(), '/pricing');
    for (let k = random.poisson(1.2 * p * p); k > 0; k--)
      this.visit(at(), `/customers/story-${random.int(1, 12)}`);
    if (random.chance(0.06 * p * p)) this.demoRequest(at());
    // The trial: tinkerers use every feature; buyers show intent.
    if (Number.isNaN(this.trialSince) && random.chance(0.003 + 0.02 * tinkerer + 0.08 * p * p)) {
      this.trialSince = at();
      this.trial(this.trialSince, 'signup');
    }
    if (Number.isNaN(this.trialSince)) return;
    const start = Math.max(from, this.trialSince);
    const inTrial = () => start + Math.floor(random.next() * (to - start));
    for (let k = random.poisson(1 + 2 * tinkerer + 2 * p); k > 0; k--) this.trial(inTrial(), 'login');
    for (let k = random.poisson(0.5 + 6 * tinkerer + p); k > 0; k--) this.trial(inTrial(), 'feature_used');
    for (let k = random.poisson(1.5 * p * p); k > 0; k--) this.trial(inTrial(), 'invite_sent', 2);
    if (random.chance(0.5 * p * p)) this.trial(inTrial(), 'billing_page_viewed');
    if (random.chance(0.3 * p * p + 0.1 * tinkerer)) this.trial(inTrial(), 'usage_limit_hit');
  }

  /** Buyers close with a burst of intent in the last weeks (when the trial is on). */
  private buyingSignals(close: number): void {
    if (Number.isNaN(this.trialSince) || this.trialSince > close - 12 * DAY_MS) return;
    const at = (days: number) => close - days * DAY_MS + this.random.int(0, 8) * 3_600_000;
    this.trial(at(12), 'billing_page_viewed');
    this.trial(at(9), 'invite_sent', 3);
    this.trial(at(4), 'checkout_started');
  }

  private profile(at: number): void {
    const { random, propensity: p } = this;
    const r = random.next();
    const seniority =
      r < 0.08 + 0.15 * p ? 'VP' : r < 0.2 + 0.25 * p ? 'DIRECTOR' : r < 0.55 ? 'MANAGER' : 'IC';
    const student = seniority === 'IC' && random.chance(0.25 * (1 - p));
    this.emit('lead.profile.v1', at, {
      jobTitle: student ? 'Student assistant' : `${seniority.toLowerCase()} of operations`,
      seniority,
      companySize: random.chance(0.45 + 0.35 * p)
        ? random.int(50, 5000)
        : random.chance(0.5)
          ? random.int(1, 49)
          : random.int(5001, 90000),
      industry: random.chance(0.4 + 0.4 * p) ? random.pick(TARGET_INDUSTRIES) : random.pick(OTHER_INDUSTRIES),
      country: random.chance(0.7 + 0.25 * p) ? random.pick(SERVED) : random.pick(NOT_SERVED),
    });
  }

  private demoRequest(at: number): void {
    const { random, propensity: p } = this;
    this.visit(at, '/demo/thank-you');
    const keen = random.chance(p);
    this.emit('sales.qualification.v1', at + random.int(1, 4) * DAY_MS, {
      verdict: keen || random.chance(0.6) ? 'ACCEPTED' : 'REJECTED',
      bant: {
        budget: keen || random.chance(0.3),
        authority: keen || random.chance(0.5),
        need: true,
        timeline: keen,
      },
      reason: null,
    });
  }

  private visit(at: number, path: string, userAgent = BROWSERS[this.n % BROWSERS.length]!): void {
    this.emit('engagement.web-visit.v1', at, {
      url: `https://www.example.com${path}`,
      path,
      referrer: null,
      userAgent,
      sessionId: `s-${this.id}-${Math.floor(at / DAY_MS)}`,
      durationSeconds: this.random.int(5, 300),
    });
  }

  private email(delivered: number, action: 'OPEN' | 'CLICK' | 'UNSUBSCRIBE', userAgent?: string): void {
    // A proxy fetches seconds after delivery; people read hours later.
    const at = delivered + (userAgent === PROXY ? 2_000 : this.random.int(1, 30) * 3_600_000);
    const campaign = `cmp-${new Date(delivered).toISOString().slice(0, 10)}`;
    this.emit('engagement.email.v1', at, {
      action,
      campaignId: campaign,
      messageId: `msg-${this.id}-${campaign}`,
      deliveredAt: delivered,
      userAgent: userAgent ?? BROWSERS[0]!,
      linkUrl: action === 'CLICK' ? 'https://www.example.com/blog/newsletter' : null,
    });
  }

  private trial(at: number, action: string, quantity: number | null = null): void {
    this.emit('product.trial-activity.v1', at, {
      accountId: `acct-${this.id}`,
      action,
      feature: action === 'feature_used' ? this.random.pick(FEATURES) : null,
      quantity,
    });
  }

  private outcome(at: number, won: boolean): void {
    this.emit('lead.outcome.v1', at, {
      result: won ? 'WON' : 'LOST',
      opportunityId: `opp-${this.id}`,
      amount: won ? this.random.int(4, 60) * 1000 : null,
      currency: won ? 'EUR' : null,
      reason: null,
    });
  }

  /** A record with its envelope; the Kafka timestamp a moment after the event time. */
  private emit<T extends TopicName>(topic: T, eventTime: number, body: Record<string, unknown>): void {
    const record = {
      eventId: `${this.id}-${++this.n}`,
      leadId: this.id,
      eventTime,
      ...body,
    } as RecordByTopic[T];
    this.out.push({ topic, timestamp: eventTime + this.random.int(0, 3000), record } as TopicRecord);
  }
}
