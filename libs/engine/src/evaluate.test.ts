import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateEvent, propsRead } from './evaluate.ts';
import { eventHash } from './ids.ts';
import { loadModel } from './model.ts';
import { email, event, profile, sales, T0, testModel, trial, web } from './test-support.ts';

const m = testModel;

describe('evaluateEvent: rules', () => {
  it('lists the matching rules of the event type, with the dedupe hash', () => {
    const e = web('/pricing', T0, 'id-1');
    expect(evaluateEvent(m, e)).toEqual({
      eventId: 'id-1',
      type: 'web',
      hash: eventHash('id-1'),
      eventTime: T0,
      hits: ['page'],
      signals: [],
    });
  });

  it('matches exactly the rules whose own predicate holds, reading each property once', () => {
    const events = [
      web('/p', T0),
      web('/careers/x', T0),
      web('/capped', T0),
      email('open', T0),
      email('unsubscribe', T0),
      trial('feature_used', T0),
      trial('checkout_started', T0),
      profile({ seniority: 'vp', companySize: 80 }, T0),
      profile({ seniority: 'ic' }, T0),
    ];
    for (const e of events) {
      const effect = evaluateEvent(m, e);
      const expected = m.rulesByType[e.type].filter((r) => r.matches(e.props)).map((r) => r.id);
      expect([...effect.hits, ...(effect.fit ?? [])].sort()).toEqual(expected.sort());
    }
  });

  it('only looks at rules for the event type', () => {
    // An email whose props happen to look like a page view matches no web rule.
    const e = event('email', { path: '/pricing', action: 'forward' }, T0);
    expect(evaluateEvent(m, e).hits).toEqual([]);
  });

  it('raises signals and names the disqualifying rule', () => {
    expect(evaluateEvent(m, trial('checkout_started', T0))).toMatchObject({
      hits: ['intent'],
      signals: ['intent'],
    });
    expect(evaluateEvent(m, email('unsubscribe', T0))).toMatchObject({
      hits: ['unsub'],
      disqualify: 'unsub',
    });
  });

  it('collects fit rules of a profile, and an empty list when none match', () => {
    expect(evaluateEvent(m, profile({ seniority: 'vp', companySize: 200 }, T0)).fit).toEqual([
      'fit_exec',
      'fit_size',
    ]);
    expect(evaluateEvent(m, profile({ seniority: 'ic', companySize: 10 }, T0)).fit).toEqual([]);
    expect(evaluateEvent(m, web('/p', T0)).fit).toBeUndefined();
  });

  it('reads the sales verdict and counts BANT checks against bantMinPassed', () => {
    expect(evaluateEvent(m, sales('accepted', true, T0)).sales).toEqual({
      kind: 'accepted',
      bantPassed: true,
    });
    expect(evaluateEvent(m, sales('accepted', false, T0)).sales).toEqual({
      kind: 'accepted',
      bantPassed: false,
    });
    const three = event(
      'sales',
      { verdict: 'accepted', 'bant.budget': true, 'bant.authority': true, 'bant.need': true },
      T0,
    );
    expect(evaluateEvent(m, three).sales?.bantPassed).toBe(false);
    expect(evaluateEvent({ ...m, bantMinPassed: 3 }, three).sales?.bantPassed).toBe(true);
    expect(evaluateEvent(m, sales('rejected', false, T0)).sales?.kind).toBe('rejected');
    expect(evaluateEvent(m, sales('reopened', false, T0)).sales?.kind).toBe('reopened');
    expect(evaluateEvent(m, sales('unknown', true, T0)).sales).toBeUndefined();
  });
});

describe('evaluateEvent: machine activity', () => {
  const open = (props: Record<string, string | number>) =>
    evaluateEvent(m, event('email', { action: 'open', campaignId: 'c', messageId: 'm', ...props }, T0));

  it('filters opens and clicks within emailMinSecondsAfterDelivery of delivery', () => {
    expect(open({ secondsSinceDelivery: 2 })).toMatchObject({
      filtered: 'email-too-soon',
      hits: [],
      signals: [],
    });
    expect(open({ secondsSinceDelivery: 9.9 }).filtered).toBe('email-too-soon');
    expect(open({ secondsSinceDelivery: 10 }).filtered).toBeUndefined();
    expect(open({ secondsSinceDelivery: 10 }).hits).toEqual(['open']);
  });

  it('derives seconds since delivery from deliveredAt when not given', () => {
    expect(open({ deliveredAt: T0 - 3_000 }).filtered).toBe('email-too-soon');
    expect(open({ deliveredAt: T0 - 60_000 }).filtered).toBeUndefined();
  });

  it('filters opens by known proxy agents, case-insensitively', () => {
    expect(
      open({ secondsSinceDelivery: 3600, userAgent: 'Mozilla/5.0 (via ggpht.com googleimageproxy)' })
        .filtered,
    ).toBe('email-proxy-agent');
    expect(
      open({ secondsSinceDelivery: 3600, userAgent: 'Mozilla/5.0 (Macintosh)' }).filtered,
    ).toBeUndefined();
  });

  it('never filters an unsubscribe', () => {
    const e = event(
      'email',
      { action: 'unsubscribe', secondsSinceDelivery: 1, userAgent: 'GoogleImageProxy' },
      T0,
    );
    expect(evaluateEvent(m, e).filtered).toBeUndefined();
  });

  it('filters web visits by bot agents', () => {
    const visit = (ua: string) => evaluateEvent(m, event('web', { path: '/pricing', userAgent: ua }, T0));
    expect(visit('Mozilla/5.0 (compatible; Googlebot/2.1)').filtered).toBe('web-bot');
    expect(visit('Mozilla/5.0 (Linux; Android 9; CUBOT P30)').filtered).toBeUndefined();
    expect(visit('Mozilla/5.0 (X11; Linux x86_64)').hits).toEqual(['page']);
  });
});

describe('propsRead', () => {
  it('names every property evaluation depends on: an event without the others evaluates the same', () => {
    const model = loadModel(
      readFileSync(join(import.meta.dirname, '../../../models/default.yaml'), 'utf8'),
      'default.yaml',
    );
    const noise = {
      url: 'https://x/pricing',
      referrer: 'https://y/',
      sessionId: 's',
      durationSeconds: 3,
      jobTitle: 'VP',
      reason: 'r',
    };
    const events = [
      event('web', { ...noise, path: '/pricing', userAgent: 'Mozilla/5.0' }, T0),
      event(
        'web',
        { ...noise, path: '/demo/thank-you', userAgent: 'Googlebot/2.1 (+http://www.google.com/bot.html)' },
        T0,
      ),
      event(
        'email',
        { action: 'open', campaignId: 'c', messageId: 'm', deliveredAt: T0 - 2_000, userAgent: 'Mozilla' },
        T0,
      ),
      event(
        'email',
        {
          action: 'click',
          campaignId: 'c',
          messageId: 'm',
          deliveredAt: T0 - 3_600_000,
          userAgent: 'x GoogleImageProxy',
        },
        T0,
      ),
      event(
        'email',
        { action: 'unsubscribe', campaignId: 'c', messageId: 'm', deliveredAt: null, userAgent: null },
        T0,
      ),
      event('trial', { accountId: 'a', action: 'checkout_started', feature: 'f', quantity: 2 }, T0),
      event(
        'profile',
        { ...noise, seniority: 'vp', companySize: 400, industry: 'software', country: 'DE' },
        T0,
      ),
      event(
        'sales',
        {
          verdict: 'accepted',
          'bant.budget': true,
          'bant.authority': true,
          'bant.need': true,
          'bant.timeline': true,
          reason: 'x',
        },
        T0,
      ),
    ];
    for (const m of [model, testModel]) {
      for (const e of events) {
        const read = new Set(propsRead(m, e.type));
        const only = {
          ...e,
          props: Object.fromEntries(Object.entries(e.props).filter(([k]) => read.has(k))),
        };
        expect(evaluateEvent(m, only), `${e.type} ${JSON.stringify(e.props)}`).toEqual(evaluateEvent(m, e));
      }
    }
    // The default model's web rules read the path; the filter reads the user agent; nothing reads the url.
    expect(propsRead(model, 'web').sort()).toEqual(['path', 'userAgent']);
  });
});
