/**
 * The shipped model behaves as PRODUCT.md describes. Thresholds may be tuned by marketing
 * operations; these tests pin the behaviour the brief promises, not the exact numbers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyEvent } from './apply.ts';
import { evaluateEvent } from './evaluate.ts';
import { loadModel } from './model.ts';
import type { LeadState } from './state.ts';
import { DAY, email, event, profile, sales, T0, trial, web } from './test-support.ts';
import { nextChangeAt } from './time.ts';
import type { ScoringEvent } from './types.ts';

const model = loadModel(
  readFileSync(new URL('../../../models/default.yaml', import.meta.url), 'utf8'),
  'default.yaml',
);
const HOUR = 3_600_000;

function stages(events: ScoringEvent[]): string[] {
  let s: LeadState | undefined;
  const seen: string[] = [];
  for (const e of events) {
    const r = applyEvent(s, e, e.eventTime, model);
    s = r.state;
    if (r.transition) seen.push(r.transition.to);
  }
  return seen;
}

describe('the default model', () => {
  it('a trial sign-up goes straight from unqualified to pql, and fades out within days', () => {
    const r = applyEvent(undefined, trial('signup', T0), T0, model);
    expect(r.transition).toMatchObject({
      from: 'unqualified',
      to: 'pql',
      cause: { kind: 'rule', ruleId: 'trial_signup' },
    });
    const fade = nextChangeAt(r.state, T0, model)!;
    expect((fade - T0) / DAY).toBeGreaterThan(3);
    expect((fade - T0) / DAY).toBeLessThan(7);
  });

  it('an engaged lead from the ideal customer profile becomes mql; an engaged student does not', () => {
    const visits = (t: number) => [
      web('/pricing', t),
      web('/customers/acme', t),
      web('/demo/thank-you', t + HOUR),
      email('click', t + 2 * HOUR),
    ];
    expect(stages([profile({ seniority: 'director', companySize: 300 }, T0), ...visits(T0 + HOUR)])).toEqual([
      'mql',
    ]);
    expect(
      stages([profile({ seniority: 'ic', jobTitle: 'Student', companySize: 300 }, T0), ...visits(T0)]),
    ).toEqual([]);
  });

  it('an active trial with buying intent becomes cql', () => {
    const t = (i: number) => T0 + i * HOUR;
    const path = stages([
      trial('signup', t(0)),
      trial('feature_used', t(1)),
      trial('feature_used', t(2)),
      trial('feature_used', t(2)),
      trial('invite_sent', t(3)),
      trial('usage_limit_hit', t(4)),
    ]);
    expect(path).toEqual(['pql', 'cql']);
  });

  it('sales acceptance with BANT makes sql; an unsubscribe disqualifies', () => {
    expect(stages([sales('accepted', true, T0)])).toEqual(['sql']);
    expect(stages([sales('accepted', true, T0), email('unsubscribe', T0 + HOUR)])).toEqual([
      'sql',
      'disqualified',
    ]);
  });

  it('filters privacy-proxy opens and bot visits', () => {
    const open = event('email', { action: 'open', secondsSinceDelivery: 2, userAgent: 'Mozilla/5.0' }, T0);
    const proxy = event(
      'email',
      {
        action: 'open',
        secondsSinceDelivery: 900,
        userAgent: 'Mozilla/5.0 (via ggpht.com GoogleImageProxy)',
      },
      T0,
    );
    const bot = event('web', { path: '/pricing', userAgent: 'Mozilla/5.0 (compatible; bingbot/2.0)' }, T0);
    expect([open, proxy, bot].map((e) => evaluateEvent(model, e).filtered)).toEqual([
      'email-too-soon',
      'email-proxy-agent',
      'web-bot',
    ]);
  });

  it('names as the cause the rule that pushed the move, never one that pushed against it', () => {
    // Engagement 40 at once; then a profile of a director at a mid-size SaaS company whose title
    // says intern: fit 10 + 10 + 5 - 15 = 10, just enough for MQL. The student rule (-15) has the
    // largest magnitude but held the lead back; the move up names the first rule that lifted it.
    let s: LeadState | undefined;
    for (const path of ['/demo/thank-you', '/pricing', '/customers/acme'])
      s = applyEvent(s, web(path, T0), T0, model).state;
    const profileEvent = profile(
      { seniority: 'director', jobTitle: 'Intern', companySize: 200, industry: 'saas' },
      T0,
    );
    const up = applyEvent(s, profileEvent, T0, model);
    expect(up.transition).toMatchObject({ from: 'unqualified', to: 'mql' });
    expect(up.transition?.cause).toMatchObject({ kind: 'rule', ruleId: 'seniority_director' });
    // A newer profile that drops fit below the floor moves it down: the rule that pushed down.
    const down = applyEvent(
      up.state,
      profile({ seniority: 'manager', jobTitle: 'Student assistant', companySize: 200 }, T0 + 1),
      T0 + 1,
      model,
    );
    expect(down.transition).toMatchObject({ from: 'mql', to: 'unqualified' });
    expect(down.transition?.cause).toMatchObject({ kind: 'rule', ruleId: 'student_title' });
  });

  it('names at most five top rules, largest first, fit and behaviour alike', () => {
    let s: LeadState | undefined;
    s = applyEvent(
      s,
      profile({ seniority: 'vp', companySize: 200, industry: 'saas', country: 'DE' }, T0),
      T0,
      model,
    ).state;
    for (const path of ['/pricing', '/docs/api', '/blog/x', '/customers/acme'])
      s = applyEvent(s, web(path, T0), T0, model).state;
    const r = applyEvent(s, web('/demo/thank-you', T0), T0, model);
    expect(r.transition?.to).toBe('mql');
    const top = r.transition!.topRules;
    expect(top).toHaveLength(5);
    expect(top[0]).toEqual({ ruleId: 'demo_request', dimension: 'engagement', points: 25 });
    expect(top.map((t) => Math.abs(t.points))).toEqual(
      [...top.map((t) => Math.abs(t.points))].sort((a, b) => b - a),
    );
    expect(top.map((t) => t.ruleId)).toEqual([
      'demo_request',
      'seniority_exec',
      'pricing_page',
      'company_mid',
      'case_study',
    ]);
  });
});
