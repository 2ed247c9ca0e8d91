import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

/**
 * Refreshes docs/evaluation-report.png, the README's picture of the demo report: the verdicts
 * and the engagement lift chart, shot by Debian's chromium and stacked into one image, then
 * reduced to a 256-colour palette by pngquant when it is installed (the file stays small).
 *   node scripts/evaluate/screenshot.ts
 */

const ROOT = resolve(import.meta.dirname, '../..');
const TARGET = join(ROOT, 'docs/evaluation-report.png');
const WIDTH = 1000;

const dir = mkdtempSync(join(tmpdir(), 'evaluation-shot-'));
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ],
});
try {
  execFileSync(process.execPath, [join(ROOT, 'scripts/evaluate/cli.ts'), '--demo', '--out', dir], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  const page = await browser.newPage({ viewport: { width: WIDTH, height: 800 } });
  await page.goto(pathToFileURL(join(dir, 'report.html')).href);
  // The page has not scrolled: the box's bottom is its place on the page.
  const summaryEnd = await page.$eval('#summary .findings', (e) => e.getBoundingClientRect().bottom);
  const top = await page.screenshot({
    fullPage: true,
    clip: { x: 0, y: 0, width: WIDTH, height: summaryEnd + 16 },
  });
  const lift = await page.locator('figure[data-chart="lift-engagement"]').screenshot();
  // Stack the two shots on one page and shoot that: no image library needed.
  const sheet = await browser.newPage({ viewport: { width: WIDTH, height: 400 } });
  await sheet.setContent(
    `<body style="margin:0;background:#fff"><img src="data:image/png;base64,${top.toString('base64')}" style="display:block"><hr style="border:0;border-top:1px dashed #9aa5b1;margin:0 24px"><img src="data:image/png;base64,${lift.toString('base64')}" style="display:block;margin:8px 24px"></body>`,
  );
  await sheet.screenshot({ path: TARGET, fullPage: true });
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
if (existsSync('/usr/bin/pngquant')) {
  spawnSync('/usr/bin/pngquant', ['--force', '--skip-if-larger', '--output', TARGET, '256', TARGET], {
    stdio: 'inherit',
  });
}
console.log(`${TARGET}: ${Math.round(statSync(TARGET).size / 1024)} KiB`);
