import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createCatalogue } from '@leadscorer/contracts';
import { isLeadScorerError } from '@leadscorer/errors';
import {
  buildReport,
  DEMO_DEFAULTS,
  generateDemoHistory,
  type HistoryItem,
  historyItem,
  loadHistoryFiles,
  type ModelUnderTest,
  REPORT_HTML,
  replay,
  writeReport,
} from '@leadscorer/evaluation';
import { replay as replayArchive } from '@leadscorer/replay';
import { ModelToolError, readModelFile } from '../model/load.ts';
import { type EvaluateOptions, parseOptions, USAGE, UsageError } from './options.ts';

/**
 * `npm run evaluate`: the history, the models, one replay, the report. Problems with the input
 * (options, model files, history files) are printed as their message alone: file:line and
 * field, never a stack trace.
 */

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  // Before any work: a report that cannot be written is wrong usage, found at once.
  if (existsSync(options.out) && !statSync(options.out).isDirectory()) {
    throw new UsageError(`--out: ${options.out} is a file, not a folder`);
  }
  const subjects: ModelUnderTest[] = [subject('current', options.model)];
  if (options.candidate) subjects.push(subject('candidate', options.candidate));
  const started = performance.now();
  const { items, source } = await history(options);
  const loaded = performance.now();
  const result = await replay(items, subjects, { from: options.from, to: options.to });
  const replayed = performance.now();
  const report = buildReport(result, { horizonMs: options.horizonMs, source });
  const files = writeReport(report, options.out, { maxListed: options.list });
  const done = performance.now();

  const c = report.counts;
  console.log(
    `Replayed ${c.eventsApplied} events of ${c.leads} leads (${c.won} won, ${c.lost} lost) through ${subjects.length} model${subjects.length > 1 ? 's' : ''}: history ${secs(loaded - started)}, replay ${secs(replayed - loaded)}, report ${secs(done - replayed)}.`,
  );
  console.log('');
  for (const f of report.findings) console.log(`- ${f.text}`);
  console.log('');
  console.log(`Report: ${resolve(join(options.out, REPORT_HTML))}`);
  console.log(`Tables: ${files.filter((f) => f !== REPORT_HTML).join(', ')} in ${options.out}`);
  return 0;
}

function subject(label: string, file: string): ModelUnderTest {
  return { label, file, model: readModelFile(file).model };
}

async function history(options: EvaluateOptions): Promise<{ items: HistoryItem[]; source: string }> {
  if (options.demo) {
    const records = generateDemoHistory({ ...DEMO_DEFAULTS, seed: options.seed, leads: options.leads });
    if (options.saveHistory) {
      writeFileSync(options.saveHistory, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
      console.log(`Demo history written to ${options.saveHistory} (${records.length} records).`);
    }
    const items = records.map(historyItem).filter((i) => i !== null);
    return { items, source: `seeded demo history, seed ${options.seed}, ${options.leads} leads` };
  }
  if (options.archive) return archiveHistory(options.archive, options.model);
  const loaded = await loadHistoryFiles(options.history);
  const left = loaded.left;
  if (left.deadLettered > 0) {
    console.log(
      `warning: ${left.deadLettered} records the live services would have dead-lettered are left out, e.g.`,
    );
    for (const w of loaded.warnings) console.log(`  ${w}`);
  }
  if (left.stageChanges > 0) console.log(`note: ${left.stageChanges} lead.stage-changed.v1 records ignored.`);
  if (left.unknownOutcomes > 0)
    console.log(`note: ${left.unknownOutcomes} outcomes with result UNKNOWN ignored.`);
  return { items: loaded.items, source: options.history.join(', ') };
}

/**
 * The archive as history items, in replay order: the replay engine reads it (every field
 * decoded, no time-driven moves: the evaluation makes its own) and hands over each event and
 * outcome as it goes.
 */
async function archiveHistory(
  dir: string,
  modelFile: string,
): Promise<{ items: HistoryItem[]; source: string }> {
  const items: HistoryItem[] = [];
  const catalogue = createCatalogue({ prefix: process.env.TOPIC_PREFIX ?? '' });
  const r = await replayArchive({
    model: readModelFile(modelFile).model,
    catalogue,
    archiveDir: dir,
    allFields: true,
    timeDriven: false,
    observer: {
      event: (s) => {
        items.push({ kind: 'event', at: s.time, event: s.event });
      },
      outcome: (s) => {
        const item = historyItem({ topic: 'lead.outcome.v1', timestamp: s.time, record: s.outcome });
        if (item) items.push(item);
      },
    },
  });
  return { items, source: `archive ${dir} (${r.stats.files} files)` };
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`evaluate: ${err.message}`);
      console.error('Run `npm run evaluate -- --help` for the options.');
      process.exit(2);
    }
    // A bad model or history file: its message names file, line and field.
    if (err instanceof ModelToolError || isLeadScorerError(err)) {
      console.error(err.message);
      process.exit(1);
    }
    console.error(`evaluate: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
