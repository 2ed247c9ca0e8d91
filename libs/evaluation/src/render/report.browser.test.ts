import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadModel } from '@leadscorer/engine';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DEFAULTS, generateDemoHistory } from '../demo/generator.ts';
import { historyItem } from '../history.ts';
import { replay } from '../replay.ts';
import { buildReport } from '../report.ts';
import { DAY_MS } from '../time.ts';
import { REPORT_HTML, writeReport } from '../write.ts';

/**
 * The report page in a real browser: Debian's chromium (scripts/ensure-tools.sh installs it when
 * it can; without it this suite is skipped), driven by playwright-core, which brings no browser
 * of its own. It renders, every chart is there with a series per model, nothing is fetched and
 * nothing is logged as an error.
 */

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];
const MODELS = join(import.meta.dirname, '../../../../models');
const dir = mkdtempSync(join(tmpdir(), 'report-page-'));
let browser: Browser;

async function writeDemoReport(out: string, candidate: boolean): Promise<string> {
  const load = (f: string) => ({
    label: f.includes('candidates') ? 'candidate' : 'current',
    file: f,
    model: loadModel(readFileSync(join(MODELS, f), 'utf8'), f),
  });
  const subjects = [load('default.yaml'), ...(candidate ? [load('candidates/intent-weighted.yaml')] : [])];
  const items = generateDemoHistory({ ...DEMO_DEFAULTS, leads: 150 })
    .map(historyItem)
    .filter((i) => i !== null);
  const report = buildReport(await replay(items, subjects), { horizonMs: 90 * DAY_MS, source: 'demo' });
  writeReport(report, out, { maxListed: 20 });
  return join(out, REPORT_HTML);
}

interface DOMRectLike {
  width: number;
  height: number;
}

interface PageFacts {
  errors: string[];
  requests: string[];
  charts: {
    id: string;
    width: number;
    height: number;
    series: { name: string; marks: number; drawn: number }[];
  }[];
  text: string;
}

async function open(file: string): Promise<PageFacts> {
  const page = await browser.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  const charts = await page.$$eval('figure.chart', (figures) =>
    figures.map((f) => {
      const svg = f.querySelector('svg')!.getBoundingClientRect();
      return {
        id: f.getAttribute('data-chart') ?? '',
        width: svg.width,
        height: svg.height,
        series: [...f.querySelectorAll('g.series')].map((g) => {
          // The project's types have no DOM: the one method used, typed by hand.
          const marks = [...g.querySelectorAll('rect, path')] as unknown as { getBBox(): DOMRectLike }[];
          return {
            name: g.getAttribute('data-series') ?? '',
            marks: marks.length,
            // A mark the browser drew has a box: a bar of a non-zero value, a path with points.
            drawn: marks.filter((m) => {
              const b = m.getBBox();
              return b.width > 0 || b.height > 0;
            }).length,
          };
        }),
      };
    }),
  );
  // biome-ignore lint/performance/useDomNodeTextContent: the text as rendered, what a reader sees
  const text = await page.innerText('body');
  await page.close();
  return { errors, requests, charts, text };
}

const haveChromium = existsSync(CHROMIUM);

describe.skipIf(!haveChromium)('the report page in chromium', () => {
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('renders every chart with a series per model, fetches nothing and logs no error', {
    timeout: 60_000,
  }, async () => {
    const file = await writeDemoReport(join(dir, 'two'), true);
    const page = await open(file);
    expect(page.errors).toEqual([]);
    expect(page.requests).toEqual([pathToFileURL(file).href]);
    const dims = ['engagement', 'product', 'fit'];
    const stages = ['mql', 'sql', 'pql', 'cql', 'disqualified'];
    expect(page.charts.map((c) => c.id)).toEqual([
      'conversion',
      ...dims.map((d) => `lift-${d}`),
      ...dims.map((d) => `roc-${d}`),
      ...stages.map((s) => `volume-${s}`),
    ]);
    for (const chart of page.charts) {
      expect(chart.width, chart.id).toBeGreaterThan(200);
      expect(chart.height, chart.id).toBeGreaterThan(200);
      expect(
        chart.series.map((s) => s.name.split(' ')[0]),
        chart.id,
      ).toEqual(['current', 'candidate']);
      for (const s of chart.series) expect(s.drawn, `${chart.id} ${s.name}`).toBeGreaterThan(0);
    }
    // Bars: one per stage row of the conversion table, one per decile with leads.
    const conversion = page.charts[0]!;
    expect(conversion.series[0]!.marks).toBe(7);
    expect(page.text).toContain('Which model wins on what');
    expect(page.text).toMatch(/The candidate model does better on \d+ and the current model on \d+/);
  });

  it('shows one series per chart for a model evaluated alone', { timeout: 60_000 }, async () => {
    const page = await open(await writeDemoReport(join(dir, 'one'), false));
    expect(page.errors).toEqual([]);
    expect(page.charts).toHaveLength(12);
    for (const chart of page.charts)
      expect(chart.series.map((s) => s.name.split(' ')[0])).toEqual(['current']);
    expect(page.text).toContain('Only one model: nothing to compare.');
  });
});
