/**
 * Micro-benchmark of the scoring core on one core: events per second for applyEvent on a
 * realistic mix (in place, as an offline replay runs it, and copy-on-write), and the state size
 * per lead. Prints numbers, asserts nothing; the machine's other load moves them, so compare
 * runs, not single numbers.
 *   node_modules/.bin/node libs/engine/bench/apply.bench.ts [events=200000] [leads=2000]
 */
import { readFileSync } from 'node:fs';
import {
  applyEffect,
  applyEvent,
  type EventEffect,
  evaluateEvent,
  type LeadState,
  loadModel,
  type ScoringEvent,
  stateView,
} from '../src/index.ts';

const EVENTS = Number(process.argv[2] ?? 200_000);
const LEADS = Number(process.argv[3] ?? 2_000);
const model = loadModel(
  readFileSync(new URL('../../../models/default.yaml', import.meta.url), 'utf8'),
  'models/default.yaml',
);

/** mulberry32: a small seeded PRNG, so every run measures the same events. */
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

const random = rng(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const BROWSER =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
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

function makeEvent(i: number, t: number): ScoringEvent {
  const leadId = `lead-${Math.floor(random() * LEADS)}`;
  const eventTime = t - Math.floor(random() * random() * 6 * 3_600_000); // some arrive hours late
  const base = { eventId: `evt-${i}`, leadId, eventTime };
  const r = random();
  if (r < 0.45) {
    const ua =
      random() < 0.03 ? 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' : BROWSER;
    const path = pick(PATHS);
    return {
      ...base,
      type: 'web',
      props: { url: `https://example.com${path}`, path, userAgent: ua, sessionId: `s${i % 977}` },
    };
  }
  if (r < 0.7) {
    const a = random();
    const action = a < 0.6 ? 'open' : a < 0.998 ? 'click' : 'unsubscribe';
    const since = random() < 0.15 ? 2 : 3_600;
    const ua = random() < 0.05 ? 'Mozilla/5.0 (Windows NT 5.1) (via ggpht.com GoogleImageProxy)' : BROWSER;
    return {
      ...base,
      type: 'email',
      props: { action, campaignId: 'c1', messageId: `m${i}`, secondsSinceDelivery: since, userAgent: ua },
    };
  }
  if (r < 0.95)
    return {
      ...base,
      type: 'trial',
      props: { accountId: `a-${leadId}`, action: pick(TRIAL), feature: 'reports' },
    };
  if (r < 0.98) {
    return {
      ...base,
      type: 'profile',
      props: {
        seniority: pick(['ic', 'manager', 'director', 'vp', 'cxo']),
        companySize: Math.floor(random() * 10_000),
        industry: pick(['saas', 'retail', 'fintech']),
        country: pick(['US', 'DE', 'BR']),
      },
    };
  }
  const ok = random() < 0.7;
  return {
    ...base,
    type: 'sales',
    props: {
      verdict: pick(['accepted', 'accepted', 'rejected', 'reopened']),
      'bant.budget': ok,
      'bant.authority': ok,
      'bant.need': true,
      'bant.timeline': ok,
    },
  };
}

// Two months of traffic; 1% of events are redelivered right away (at-least-once delivery).
const T0 = Date.UTC(2025, 0, 1);
const events: ScoringEvent[] = [];
for (let i = 0; events.length < EVENTS; i++) {
  const e = makeEvent(i, T0 + Math.floor((i / EVENTS) * 60 * 86_400_000));
  events.push(e);
  if (random() < 0.01) events.push(e);
}
const nows = events.map(
  (e, i) => Math.max(e.eventTime, T0 + Math.floor((i / EVENTS) * 60 * 86_400_000)) + 500,
);

// States live in an array indexed by lead number, so the harness itself costs next to nothing.
const leadIndex = Int32Array.from(events, (e) => Number(e.leadId.slice('lead-'.length)));

function runApplyEvent(inPlace = false): (LeadState | undefined)[] {
  const states = new Array<LeadState | undefined>(LEADS).fill(undefined);
  const options = { inPlace };
  for (let i = 0; i < events.length; i++) {
    const lead = leadIndex[i]!;
    states[lead] = applyEvent(states[lead], events[i]!, nows[i]!, model, options).state;
  }
  return states;
}

function time(label: string, rounds: number, fn: () => unknown): void {
  fn(); // warm-up: let the JIT settle before measuring
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  samples.sort((a, b) => a - b);
  const best = samples[0]!;
  const median = samples[Math.floor(samples.length / 2)]!;
  const rate = (s: number) => Math.round(events.length / s).toLocaleString('en-US');
  console.log(
    `${label.padEnd(34)} median ${rate(median).padStart(11)} events/s   best ${rate(best).padStart(11)} events/s   (${((median / events.length) * 1e9).toFixed(0)} ns/event)`,
  );
}

console.log(`node ${process.version}, ${events.length} events over ${LEADS} leads, model ${model.version}`);
time('applyEvent in place (evaluate + apply)', 7, () => runApplyEvent(true));
time('applyEvent copy-on-write', 7, () => runApplyEvent(false));
time('evaluateEvent only', 7, () => {
  for (const e of events) evaluateEvent(model, e);
});
const effects: EventEffect[] = events.map((e) => evaluateEvent(model, e));
time('applyEffect only (pre-evaluated)', 7, () => {
  const states = new Array<LeadState | undefined>(LEADS).fill(undefined);
  for (let i = 0; i < effects.length; i++) {
    const lead = leadIndex[i]!;
    states[lead] = applyEffect(states[lead], effects[i]!, nows[i]!, model).state;
  }
});

const states = runApplyEvent().filter((s): s is LeadState => s !== undefined);
const sizes = states.map((s) => JSON.stringify(stateView(s)).length).sort((a, b) => a - b);
const q = (p: number) => sizes[Math.min(sizes.length - 1, Math.floor(p * sizes.length))]!;
const mean = Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length);
console.log(
  `state per lead, view as JSON chars (${states.length} leads, ~${Math.round(events.length / states.length)} events each): mean ${mean}  p50 ${q(0.5)}  p99 ${q(0.99)}  max ${q(1)}`,
);
// In memory: one list of model.layout.template.length doubles, the same for every lead.
console.log(
  `state per lead, in memory: ${model.layout.template.length} numbers = ${model.layout.template.length * 8} bytes of list plus a 6-field object (fixed by the model)`,
);
const stages = new Map<string, number>();
for (const s of states) stages.set(s.stage, (stages.get(s.stage) ?? 0) + 1);
console.log(`stages at the end: ${[...stages].map(([k, v]) => `${k} ${v}`).join(', ')}`);
