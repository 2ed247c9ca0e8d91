import { describe, expect, it } from 'vitest';
import { explainModel } from './explain.ts';
import { variant } from './test-support.ts';

const text = (edits: [string, string][] = []) => explainModel('m.yaml', variant(edits).spec);

describe('model explain', () => {
  it("gives docs/model.md's PQL arithmetic for the default model", () => {
    expect(text()).toContain(
      'trial_signup alone (+25) reaches product 25; without further activity the lead leaves PQL after 7d × log2(25/15) ≈ 5.2 days.',
    );
  });

  it('works the arithmetic out from the model it is given', () => {
    const out = text([
      ['product: { halfLife: 7d }', 'product: { halfLife: 10d }'],
      ['      - { score: product, gte: 15 }', '      - { score: product, gte: 10 }'],
    ]);
    // 10 × log2(25/10) = 13.2
    expect(out).toContain('the lead leaves PQL after 10d × log2(25/10) ≈ 13.2 days.');
  });

  it('says what each stage needs, in ladder order', () => {
    const out = text();
    const stages = [...out.matchAll(/^(unqualified|MQL|SQL|PQL|CQL|disqualified)\b/gm)].map((m) => m[1]);
    expect(stages).toEqual(['unqualified', 'MQL', 'SQL', 'PQL', 'CQL', 'disqualified']);
    expect(out).toContain('Enters with: engagement score at least 40 and fit score at least 10.');
    expect(out).toContain('Stays while: engagement score at least 30 and fit score at least 10.');
    expect(out).toContain(
      'No single action reaches engagement 40; for example demo_request (+25) + pricing_page (+10) + case_study (+5) together at about the same time make 40.',
    );
    expect(out).toContain(
      'From exactly 40 without further activity, its engagement score falls below 30 after 14d × log2(40/30) ≈ 5.8 days.',
    );
    expect(out).toContain(
      'Any one of seniority_director (+10), company_mid (+10), seniority_exec (+15) alone reaches fit 10.',
    );
    expect(out).toContain('Enters with: sales accepted the lead with all 4 BANT checks passed');
    expect(out).toContain(
      'The buying_intent signal comes from invite_sent, billing_page, usage_limit, checkout_started; it counts for 14 days after the latest one.',
    );
    expect(out).toContain(
      'Any of: a sales rejection, email_unsubscribe ("Unsubscribed from marketing email").',
    );
  });

  it('lists what earns points per dimension, largest first, with caps and side effects', () => {
    const out = text();
    const product = out.slice(out.indexOf('  product:\n'), out.indexOf('  fit:\n'));
    const ids = [...product.matchAll(/^\s+[+-]\d+\s+(\w+)/gm)].map((m) => m[1]);
    expect(ids).toEqual([
      'trial_signup',
      'checkout_started',
      'usage_limit',
      'invite_sent',
      'billing_page',
      'feature_used',
      'trial_login',
    ]);
    expect(out).toMatch(
      /\+10 {2}pricing_page {7}Viewed the pricing page: website visits whose path starts with \/pricing; at most 3 times a day/,
    );
    expect(out).toContain('at most once a day; raises the buying_intent signal');
    expect(out).toContain('engagement: points lose half their value every 14 days.');
    expect(out).toContain('fit: does not fade; each newer profile replaces it.');
  });

  it('picks one fit rule per profile property when no single one is enough', () => {
    const out = text([
      ['      - { score: fit, gte: 10 }\n    stay:', '      - { score: fit, gte: 28 }\n    stay:'],
    ]);
    // Two seniorities cannot both match one profile: exec (15) + mid-size company (10) + industry (5).
    expect(out).toContain(
      'No single action reaches fit 28; for example seniority_exec (+15) + company_mid (+10) + industry_target (+5) together make 30.',
    );
  });
});
