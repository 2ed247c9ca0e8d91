import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '@leadscorer/engine';
import { describe, expect, it } from 'vitest';
import { historyItem } from '../history.ts';
import { replay } from '../replay.ts';
import { buildReport } from '../report.ts';
import { DAY_MS } from '../time.ts';
import { DEMO_DEFAULTS, generateDemoHistory } from './generator.ts';

const MODELS = join(import.meta.dirname, '../../../../models');
const model = (file: string) => loadModel(readFileSync(join(MODELS, file), 'utf8'), file);

describe('the demo history', () => {
  it('is the same for the same seed and differs for another', () => {
    const small = { ...DEMO_DEFAULTS, leads: 30 };
    expect(generateDemoHistory(small)).toEqual(generateDemoHistory(small));
    expect(generateDemoHistory({ ...small, seed: 8 })).not.toEqual(generateDemoHistory(small));
  });

  it('lets a model that weights research and intent win, and one that weights newsletters lose', {
    timeout: 60_000,
  }, async () => {
    const items = generateDemoHistory({ ...DEMO_DEFAULTS, leads: 500 })
      .map(historyItem)
      .filter((i) => i !== null);
    const result = await replay(items, [
      { label: 'current', file: 'default.yaml', model: model('default.yaml') },
      { label: 'intent', file: 'intent-weighted.yaml', model: model('candidates/intent-weighted.yaml') },
      {
        label: 'newsletter',
        file: 'newsletter-heavy.yaml',
        model: model('candidates/newsletter-heavy.yaml'),
      },
    ]);
    const report = buildReport(result, { horizonMs: 90 * DAY_MS, source: 'demo' });
    const auc = (m: number) => report.models[m]!.ranking.find((r) => r.dimension === 'engagement')!.auc!;
    // Margins well beyond the findings' "about the same" (0.01), so the demo shows a clear answer.
    expect(auc(1) - auc(0)).toBeGreaterThan(0.03);
    expect(auc(0) - auc(2)).toBeGreaterThan(0.05);
    // Outcomes the evaluation needs: wins, losses and open leads, with a base rate a B2B team knows.
    const c = report.counts;
    expect(c.won / c.leads).toBeGreaterThan(0.08);
    expect(c.won / c.leads).toBeLessThan(0.25);
    expect(c.lost).toBeGreaterThan(0);
    expect(c.noOutcome).toBeGreaterThan(0);
  });
});
