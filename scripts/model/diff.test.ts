import { describe, expect, it } from 'vitest';
import { diffModels, renderDiff } from './diff.ts';
import { variant } from './test-support.ts';

const base = variant([]);

function diffLines(edits: [string, string][]): string[] {
  return diffModels(base.spec, variant(edits).spec).flatMap((s) => s.lines.map((l) => `${s.title}: ${l}`));
}

describe('model diff', () => {
  it('finds nothing when only comments and layout changed', () => {
    const b = variant([
      ['# Job seekers are not buyers.', '# Applicants are not buyers.'],
      ['engagement: { halfLife: 14d }', 'engagement:\n    halfLife: 14d'],
    ]);
    expect(diffModels(base.spec, b.spec)).toEqual([]);
    expect(renderDiff('a.yaml', base.spec, 'b.yaml', b.spec)).toContain('No changes');
  });

  it('names changed points, caps and matchers of a rule, with the old value', () => {
    const lines = diffLines([
      [
        '    points: 10\n    cap: { hits: 3, window: 1d }',
        '    points: 15\n    cap: { hits: 5, window: 12h }',
      ],
      ['path: { prefix: /docs }', 'path: { prefix: /documentation }'],
    ]);
    expect(lines).toEqual([
      'Rules: pricing_page: now +15 engagement points per hit (before: +10 engagement points).',
      'Rules: pricing_page: now at most 5 times per 12 hours (before: at most 3 times a day).',
      'Rules: docs_page: now counts website visits whose path starts with /documentation (before: website visits whose path starts with /docs).',
    ]);
  });

  it('lists added and removed rules with what they counted and gave', () => {
    const lines = diffLines([
      [
        '  - id: blog_post\n    description: Read a blog post\n    when: { type: web, where: { path: { prefix: /blog/ } } }\n    dimension: engagement\n    points: 1\n    cap: { hits: 5, window: 1d }',
        '  - id: webinar\n    description: Registered for a webinar\n    when: { type: web, where: { path: { pattern: "^/webinars/.+/thanks" } } }\n    dimension: engagement\n    points: 12',
      ],
    ]);
    expect(lines).toEqual([
      'Rules: New rule webinar ("Registered for a webinar") counts website visits whose path matches the pattern ^/webinars/.+/thanks: +12 engagement points.',
      'Rules: Removed rule blog_post ("Read a blog post"), which counted website visits whose path starts with /blog/: +1 engagement point, at most 5 times a day. Points leads earned from it no longer count.',
    ]);
  });

  it('says whether half-lives make points fade faster or slower', () => {
    expect(
      diffLines([
        ['engagement: { halfLife: 14d }', 'engagement: { halfLife: 3w }'],
        ['product: { halfLife: 7d }', 'product: { halfLife: 72h }'],
      ]),
    ).toEqual([
      'How points fade: engagement: points now lose half their value every 3 weeks (before: every 14 days): they fade slower.',
      'How points fade: product: points now lose half their value every 72 hours (before: every 7 days): they fade faster.',
    ]);
  });

  it('names stage thresholds to enter and to stay, signals and added or removed conditions', () => {
    const lines = diffLines([
      ['      - { score: engagement, gte: 40 }', '      - { score: engagement, gte: 35 }'],
      ['      - { score: product, gte: 15 }', '      - { score: product, gte: 20 }'],
      [
        '      - { score: product, gte: 60 }\n      - { signal: buying_intent, within: 14d }',
        '      - { score: product, gte: 60 }\n      - { signal: buying_intent, within: 7d }',
      ],
      [
        '      - { score: product, gte: 25 }\n    stay:',
        '      - { score: product, gte: 25 }\n      - { score: fit, gte: 5 }\n    stay:',
      ],
    ]);
    expect(lines).toEqual([
      'Stages: To enter MQL, the engagement score must now be at least 35 (before: 40): easier.',
      'Stages: To enter PQL, a lead now also needs fit score at least 5.',
      'Stages: To stay in PQL, the product score must now be at least 20 (before: 15): harder.',
      'Stages: To enter CQL, the latest buying_intent signal may now be up to 7 days old (before: 14 days).',
    ]);
  });

  it('reports the filters, dedupe and BANT settings', () => {
    expect(
      diffLines([
        ['emailMinSecondsAfterDelivery: 10', 'emailMinSecondsAfterDelivery: 20'],
        ['    - Pingdom\n', '    - Datadog\n'],
        ['  window: 8', '  window: 16'],
        ['  bantMinPassed: 4', '  bantMinPassed: 3'],
      ]),
    ).toEqual([
      'Other settings: Email opens and clicks within 20 seconds of delivery now count as machine activity (before: 10 seconds).',
      'Other settings: Added to the website user agents treated as bots: Datadog.',
      'Other settings: Removed from the website user agents treated as bots: Pingdom.',
      'Other settings: Each lead now remembers its last 16 event ids to ignore redelivered duplicates (before: 8).',
      'Other settings: Sales qualification now needs at least 3 of the 4 BANT checks passed (before: all 4).',
    ]);
  });

  it('warns when the model changed but its version did not, and not when it was bumped', () => {
    const same = variant([
      ['points: 25\n    cap: { hits: 1, window: 1d }', 'points: 30\n    cap: { hits: 1, window: 1d }'],
    ]);
    expect(renderDiff('a.yaml', base.spec, 'b.yaml', same.spec)).toMatch(
      /Warning: both are version default-2025\.1\. Give the new model a new version/,
    );
    const bumped = variant([
      ['points: 25\n    cap: { hits: 1, window: 1d }', 'points: 30\n    cap: { hits: 1, window: 1d }'],
      ['version: default-2025.1', 'version: default-2025.2'],
    ]);
    const text = renderDiff('a.yaml', base.spec, 'b.yaml', bumped.spec);
    expect(text).toContain('Changes from a.yaml (version default-2025.1) to b.yaml (version default-2025.2)');
    expect(text).toContain(
      'demo_request: now +30 engagement points per hit (before: +25 engagement points).',
    );
    expect(text).not.toContain('Warning');
  });
});
