import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHtml } from './render/html.ts';
import { reportTables, toCsv } from './render/tables.ts';
import type { EvaluationReport } from './report.ts';

export const REPORT_HTML = 'report.html';
export const REPORT_JSON = 'report.json';

/** Writes the page, report.json and one CSV per table into `dir` (created if missing). */
export function writeReport(report: EvaluationReport, dir: string, options: { maxListed: number }): string[] {
  mkdirSync(dir, { recursive: true });
  const tables = reportTables(report);
  const files = [REPORT_JSON, ...tables.map((t) => `${t.name}.csv`)];
  writeFileSync(join(dir, REPORT_JSON), `${JSON.stringify(report, null, 2)}\n`);
  for (const t of tables) writeFileSync(join(dir, `${t.name}.csv`), toCsv(t));
  writeFileSync(join(dir, REPORT_HTML), renderHtml(report, { files, maxListed: options.maxListed }));
  return [REPORT_HTML, ...files];
}
