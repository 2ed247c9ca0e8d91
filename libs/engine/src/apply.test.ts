import { describe, expect, it } from 'vitest';
import { applyEffect, applyEvent, initialState } from './apply.ts';
import { evaluateEvent } from './evaluate.ts';
import { explain } from './explain.ts';
import { eventHash } from './ids.ts';
import { loadModel } from './model.ts';
import { scoresAt } from './stage.ts';
import type { LeadState } from './state.ts';
import { stateFromView, stateView as view } from './state.ts';
import {
  applyAll,
  DAY,
  email,
  event,
  testModel as m,
  profile,
  sales,
  T0,
  TEST_MODEL_YAML,
  trial,
  web,
} from './test-support.ts';

const HOUR = 3_600_000;
const vp = (t: number, id?: string) => profile({ seniority: 'vp' }, t, id);

describe('applyEffect: contributions', () => {
  it('keeps [value, reference time] per rule and decays by event time', () => {
    // engagement half-life is 10d in the test model
    let s = applyEvent(undefined, web('/p', T0 + 10 * DAY), T0 + 10 * DAY, m).state;
    expect([view(s).ci, view(s).cv]).toEqual([['page'], [10, T0 + 10 * DAY]]);
    s = applyEvent(s, web('/p', T0), T0 + 10 * DAY, m).state; // late: worth half at the reference time
    expect([view(s).ci, view(s).cv]).toEqual([['page'], [15, T0 + 10 * DAY]]);
    s = applyEvent(s, web('/p', T0 + 20 * DAY), T0 + 20 * DAY, m).state; // newer: moves the reference
    expect([view(s).ci, view(s).cv]).toEqual([['page'], [17.5, T0 + 20 * DAY]]);
    expect(scoresAt(s, T0 + 30 * DAY, m)['engagement']).toBeCloseTo(8.75, 6);
  });

  it('counts an event from the future as happening now', () => {
    const s = applyEvent(undefined, web('/p', T0 + HOUR), T0, m).state;
    expect([view(s).ci, view(s).cv]).toEqual([['page'], [10, T0]]);
  });

  it('scores negative rules and leaves non-scoring rules out of the contributions', () => {
    const s = applyAll([web('/careers', T0), email('unsubscribe', T0)])!;
    expect([view(s).ci, view(s).cv]).toEqual([['neg'], [-5, T0]]);
  });
});

describe('applyEffect: idempotence', () => {
  it('reports a duplicate and changes nothing', () => {
    const e = web('/p', T0, 'dup-1');
    const first = applyEvent(undefined, e, T0, m);
    const again = applyEvent(first.state, e, T0 + HOUR, m);
    expect(again.outcome).toBe('duplicate');
    expect(again.state).toBe(first.state);
    expect(again.transition).toBeUndefined();
  });

  it('remembers the last dedupe.window event hashes, oldest first', () => {
    let s: LeadState | undefined;
    for (let i = 0; i < 6; i++) s = applyEvent(s, web('/x', T0 + i, `e${i}`), T0 + 10, m).state;
    expect(view(s!).ring).toEqual({ web: ['e2', 'e3', 'e4', 'e5'].map(eventHash).join('') });
    expect(applyEvent(s, web('/x', T0, 'e2'), T0 + 10, m).outcome).toBe('duplicate');
    expect(applyEvent(s, web('/x', T0, 'e1'), T0 + 10, m).outcome).toBe('applied');
  });

  it("keeps an original in its event type's ring however many events of other types follow", () => {
    // The trial event, then more web visits than the ring holds, then the trial event again (a
    // producer retry applied after another service raced ahead): still a duplicate.
    let s = applyEvent(undefined, trial('feature_used', T0, 'x'), T0, m).state;
    for (let i = 0; i < 10; i++) s = applyEvent(s, web('/p', T0 + i, `w${i}`), T0 + 10, m).state;
    expect(applyEvent(s, trial('feature_used', T0, 'x'), T0 + 20, m).outcome).toBe('duplicate');
    // Four more trial events (the test model keeps 4 per type) and the original is forgotten.
    for (let i = 0; i < 4; i++) s = applyEvent(s, trial('login', T0 + i, `t${i}`), T0 + 30, m).state;
    expect(applyEvent(s, trial('feature_used', T0, 'x'), T0 + 40, m).outcome).toBe('applied');
  });

  it('only matches hashes at entry boundaries', () => {
    const s = stateFromView({ ...view(initialState(m)), ring: { web: 'aaaabbbbccccdddd' } }, m);
    expect(applyEffect(s, { ...evaluateEvent(m, web('/p', T0)), hash: 'bbbbcccc' }, T0, m).outcome).toBe(
      'applied',
    );
    expect(applyEffect(s, { ...evaluateEvent(m, web('/p', T0)), hash: 'ccccdddd' }, T0, m).outcome).toBe(
      'duplicate',
    );
  });

  it('leaves the state alone for machine activity and says why', () => {
    const s = applyAll([web('/p', T0)])!;
    const bot = event('web', { path: '/p', userAgent: 'AhrefsBot/7.0' }, T0 + 1);
    expect(applyEvent(s, bot, T0 + 1, m)).toEqual({ state: s, outcome: 'filtered', reason: 'web-bot' });
  });
});

describe('applyEffect: caps', () => {
  const at = (h: number) => T0 + h * HOUR; // T0 starts a 1d window
  it('scores at most N hits per window and reports the rest as capped', () => {
    let s = applyAll([web('/capped', at(1)), web('/capped', at(2))], m, at(12))!;
    const third = applyEvent(s, web('/capped', at(3)), at(12), m);
    expect(third.outcome).toBe('applied');
    expect(third.capped).toEqual(['capped']);
    expect(view(third.state).cv).toEqual(view(s).cv);
    s = third.state;
    expect([view(s).ki, view(s).kw]).toEqual([['capped'], [[T0 / DAY, at(1), at(2)]]]);
  });

  it('keeps the N earliest hits of the window whatever the arrival order', () => {
    const late = applyAll([web('/capped', at(5)), web('/capped', at(9)), web('/capped', at(1))], m, at(12))!;
    const inOrder = applyAll(
      [web('/capped', at(1)), web('/capped', at(5)), web('/capped', at(9))],
      m,
      at(12),
    )!;
    expect(view(late).kw).toEqual([[T0 / DAY, at(1), at(5)]]);
    expect(scoresAt(late, at(12), m)['engagement']).toBeCloseTo(
      scoresAt(inOrder, at(12), m)['engagement']!,
      5,
    );
  });

  it('starts over in a newer window and drops hits for an older one', () => {
    let s = applyAll([web('/capped', at(1)), web('/capped', at(2)), web('/capped', at(25))], m, at(30))!;
    expect(view(s).kw).toEqual([[T0 / DAY + 1, at(25)]]);
    const old = applyEvent(s, web('/capped', at(3)), at(30), m);
    expect(old.capped).toEqual(['capped']);
    s = old.state;
    expect(view(s).kw).toEqual([[T0 / DAY + 1, at(25)]]);
  });
});

describe('applyEffect: cap window size changes', () => {
  it('starts over when the stored window was counted with another window size', () => {
    const hourly = loadModel(
      TEST_MODEL_YAML.replace('cap: { hits: 2, window: 1d }', 'cap: { hits: 2, window: 1h }'),
      'h.yaml',
    );
    const t = T0 + 5 * HOUR;
    const s = applyAll([web('/capped', t), web('/capped', t + 1)], hourly, t + 1)!;
    expect(view(s).kw).toEqual([[t / HOUR, t, t + 1]]);
    // Back to daily windows: hour index 482165 would otherwise look newer than day 20090 for decades.
    const r = applyEvent(s, web('/capped', t + 2), t + 2, m);
    expect(r.capped).toBeUndefined();
    expect(view(r.state).kw).toEqual([[T0 / DAY, t + 2]]);
  });
});

describe('applyEffect: fit, signals, verdicts', () => {
  it('replaces fit with the latest profile and ignores an older one arriving late', () => {
    const s = applyAll([vp(T0 + HOUR), profile({ seniority: 'ic', companySize: 80 }, T0)], m, T0 + DAY)!;
    expect(view(s).fit).toEqual({ t: T0 + HOUR, h: view(s).fit!.h, r: ['fit_exec'] });
    expect(scoresAt(s, T0 + 100 * DAY, m)['fit']).toBe(20); // fit never decays
    const newer = applyAll([vp(T0), profile({ seniority: 'ic' }, T0 + HOUR)], m, T0 + DAY)!;
    expect(view(newer).fit).toEqual({ t: T0 + HOUR, h: view(newer).fit!.h });
    expect(scoresAt(newer, T0 + DAY, m)['fit']).toBe(0);
  });

  it('breaks a tie in event time by the larger event hash, in either order', () => {
    const a = vp(T0, 'profile-a');
    const b = profile({ companySize: 80 }, T0, 'profile-b');
    expect(view(applyAll([a, b])!).fit).toEqual(view(applyAll([b, a])!).fit);
  });

  it('keeps the latest time of each signal', () => {
    const s = applyAll([trial('checkout_started', T0 + DAY), trial('checkout_started', T0)], m, T0 + DAY)!;
    expect(view(s).sig).toEqual({ intent: T0 + DAY });
  });

  it('qualifies on an accepted verdict with BANT passed only', () => {
    expect(applyEvent(undefined, sales('accepted', true, T0), T0, m).state.stage).toBe('sql');
    expect(applyEvent(undefined, sales('accepted', false, T0), T0, m).state.stage).toBe('unqualified');
  });

  it('disqualifies on rejection, or a disqualifying hit newer than the verdict', () => {
    expect(applyAll([sales('rejected', true, T0)])!.stage).toBe('disqualified');
    expect(applyAll([sales('accepted', true, T0), email('unsubscribe', T0 + 1)])!.stage).toBe('disqualified');
    expect(applyAll([email('unsubscribe', T0), sales('accepted', true, T0 + 1)])!.stage).toBe('sql');
    expect(applyAll([email('unsubscribe', T0), sales('accepted', true, T0)])!.stage).toBe('sql'); // tie: sales
    expect(applyAll([email('unsubscribe', T0 + 1), sales('accepted', true, T0)], m, T0 + 2)!.stage).toBe(
      'disqualified',
    );
  });

  it('re-opening clears both rejection and disqualification', () => {
    const s = applyAll([email('unsubscribe', T0), sales('rejected', false, T0 + 1)])!;
    expect(s.stage).toBe('disqualified');
    const r = applyEvent(s, sales('reopened', false, T0 + 2), T0 + 2, m);
    expect(r.state.stage).toBe('unqualified');
    expect(r.transition?.cause).toEqual({ kind: 'reopened', detail: 'sales verdict reopened' });
  });
});

describe('stage ladder', () => {
  const pages = (n: number, t: number) => Array.from({ length: n }, () => web('/p', t));

  it('mql needs engagement over the threshold AND fit at the floor', () => {
    expect(applyAll(pages(4, T0), m, T0)!.stage).toBe('unqualified'); // no fit
    expect(applyAll([vp(T0), ...pages(3, T0)], m, T0)!.stage).toBe('unqualified'); // 30 < 40
    expect(applyAll([vp(T0), ...pages(4, T0)], m, T0)!.stage).toBe('mql');
  });

  it('skips stages: product activity goes straight to pql, and to cql with intent', () => {
    const r = applyEvent(
      applyAll([trial('feature_used', T0), trial('feature_used', T0)]),
      trial('feature_used', T0),
      T0,
      m,
    );
    expect(r.transition).toMatchObject({ from: 'unqualified', to: 'pql' });
    const uses = Array.from({ length: 6 }, (_, i) => trial('feature_used', T0 + i));
    expect(applyAll(uses, m, T0)!.stage).toBe('pql'); // 60 but no intent
    expect(applyAll([...uses, trial('checkout_started', T0)], m, T0)!.stage).toBe('cql');
    // intent older than 7d does not count
    const old = applyAll([trial('checkout_started', T0 - 8 * DAY), ...uses.slice(0, 5)], m, T0 + 10)!;
    expect(scoresAt(old, T0 + 10, m)['product']).toBeGreaterThan(50);
    expect(old.stage).toBe('pql');
  });

  it('uses stay at and below the current stage: a lead in mql stays at 35', () => {
    const s = applyAll([vp(T0), ...pages(4, T0), web('/careers', T0)], m, T0)!;
    expect(scoresAt(s, T0, m)['engagement']).toBe(35);
    expect(s.stage).toBe('mql');
    const fresh = applyAll([vp(T0), web('/careers', T0), ...pages(4, T0)], m, T0)!;
    expect(fresh.stage).toBe('unqualified'); // the same events, the negative first: never reached 40
  });

  it('falls back to lower stages with their stay thresholds', () => {
    // In pql with engagement 35: mql's stay (30) holds when pql is left.
    const s = applyAll(
      [
        vp(T0),
        ...pages(4, T0),
        web('/careers', T0),
        ...Array.from({ length: 3 }, () => trial('feature_used', T0)),
      ],
      m,
      T0,
    )!;
    expect(s.stage).toBe('pql');
    const later = T0 + 3 * DAY; // product 30 -> 19.6 < 20; engagement 35 -> 28.4 < 30
    expect(scoresAt(s, later, m)['product']).toBeLessThan(20);
    const out = applyEvent(s, web('/p', later), later, m); // +10: engagement 38.4, under mql's enter
    expect(out.transition).toMatchObject({ from: 'pql', to: 'mql', cause: { kind: 'threshold' } });
  });

  it('coming out of disqualified every stage uses enter', () => {
    const s = applyAll([vp(T0), ...pages(4, T0), web('/careers', T0)], m, T0)!; // mql at engagement 35
    const dq = applyEvent(s, email('unsubscribe', T0 + 1), T0 + 1, m);
    expect(dq.transition).toMatchObject({
      from: 'mql',
      to: 'disqualified',
      cause: { kind: 'disqualified', ruleId: 'unsub' },
    });
    const back = applyEvent(dq.state, sales('reopened', false, T0 + 2), T0 + 2, m);
    expect(back.state.stage).toBe('unqualified');
  });
});

describe('transitions', () => {
  it('carry from, to, scores, cause, event and the next sequence number', () => {
    const s = applyAll([vp(T0), web('/p', T0), web('/p', T0), web('/p', T0), web('/capped', T0)], m, T0)!;
    const r = applyEvent(s, web('/p', T0 + HOUR, 'the-event'), T0 + 2 * HOUR, m);
    expect(r.transition).toEqual({
      from: 'unqualified',
      to: 'mql',
      scores: scoresAt(r.state, T0 + 2 * HOUR, m),
      cause: {
        kind: 'rule',
        ruleId: 'page',
        detail: expect.stringMatching(/^engagement 42\.8 >= 40, fit 20 >= 10$/),
      },
      eventId: 'the-event',
      eventTime: T0 + HOUR,
      seq: 1,
      // The rules behind the scores at the decision, largest first: with no more than five rules
      // they add up to the scores.
      topRules: [
        { ruleId: 'page', dimension: 'engagement', points: expect.closeTo(39.8, 1) },
        { ruleId: 'fit_exec', dimension: 'fit', points: 20 },
        { ruleId: 'capped', dimension: 'engagement', points: expect.closeTo(2.98, 2) },
      ],
    });
    const tr = r.transition!;
    expect(tr.topRules[0]!.points + tr.topRules[2]!.points).toBeCloseTo(tr.scores.engagement!, 5);
    expect(r.state.seq).toBe(1);
    expect(r.state.stage).toBe('mql');
  });

  it('name the sales verdict and the rule that changed the stage', () => {
    const sql = applyEvent(undefined, sales('accepted', true, T0), T0, m).transition;
    expect(sql?.cause).toEqual({ kind: 'sales-verdict', detail: 'sales qualified (BANT passed)' });
    const rejected = applyEvent(undefined, sales('rejected', true, T0), T0, m).transition;
    expect(rejected?.cause).toEqual({ kind: 'sales-verdict', detail: 'sales verdict rejected' });
    const s = applyAll([vp(T0), ...Array.from({ length: 3 }, () => web('/p', T0))], m, T0)!;
    const byFit = applyEvent(
      applyAll([...Array.from({ length: 4 }, () => web('/p', T0))], m, T0),
      vp(T0),
      T0,
      m,
    );
    expect(byFit.transition?.cause).toMatchObject({ kind: 'rule', ruleId: 'fit_exec' });
    expect(applyEvent(s, web('/p', T0), T0, m).transition?.cause.ruleId).toBe('page');
  });
  it('name a rule that scored, never a capped hit of the same event', () => {
    // Two rules match /zz pages: "promo_big" (20 points, 1 a day) and "promo_small" (10).
    const text = TEST_MODEL_YAML.replace(
      'rules:\n',
      `rules:
  - id: promo_big
    description: big
    when: { type: web, where: { path: { prefix: /zz } } }
    dimension: engagement
    points: 20
    cap: { hits: 1, window: 1d }
  - { id: promo_small, description: small, when: { type: web, where: { path: { prefix: /zz } } }, dimension: engagement, points: 10 }
`,
    );
    const promo = loadModel(text, 'promo.yaml');
    // 20 + 10 at the first visit; at the second the big rule is capped: 30 + 10 = 40, MQL.
    const s = applyAll([vp(T0), web('/zz', T0)], promo, T0)!;
    expect(s.stage).toBe('unqualified');
    const r = applyEvent(s, web('/zz', T0), T0, promo);
    expect(r.capped).toEqual(['promo_big']);
    expect(r.transition?.to).toBe('mql');
    expect(r.transition?.cause).toMatchObject({ kind: 'rule', ruleId: 'promo_small' });
  });
});

describe('explain', () => {
  it('lists decayed contributions largest first, and the fit rules', () => {
    const s = applyAll(
      [
        profile({ seniority: 'vp', companySize: 120 }, T0),
        web('/p', T0),
        web('/careers', T0),
        trial('feature_used', T0),
        trial('feature_used', T0),
        trial('feature_used', T0),
      ],
      m,
      T0,
    )!;
    const x = explain(s, T0 + 10 * DAY, m);
    expect(x.contributions.map((c) => [c.ruleId, c.value])).toEqual([
      ['use', 7.5], // 30 points, product half-life 5d: a quarter left after 10d
      ['page', 5],
      ['neg', -2.5],
    ]);
    expect(x.fit.map((f) => [f.ruleId, f.points])).toEqual([
      ['fit_exec', 20],
      ['fit_size', 5],
    ]);
    expect(x.scores).toEqual({ engagement: 2.5, product: 7.5, fit: 25 });
  });
});
