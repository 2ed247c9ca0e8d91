/**
 * @leadscorer/evaluation: does the model work? Replays a history of scoring events and outcomes
 * through the current and a candidate model with the engine in process, and reports conversion
 * per stage, lift and ROC AUC per score, precision and recall of the stages, weekly stage
 * volumes and the leads whose stage differs. docs/evaluation.md defines every number.
 *
 *   const history = await loadHistoryFiles(['history.jsonl']);          // or any HistoryItem source
 *   const result = await replay(history.items, [current, candidate], { from, to });
 *   const report = buildReport(result, { horizonMs: 90 * DAY_MS, source: 'history.jsonl' });
 *   writeReport(report, 'out', { maxListed: 100 });
 */
export { DEMO_DEFAULTS, type DemoOptions, generateDemoHistory } from './demo/generator.ts';
export type { ModelSide, StageDifference, StageDifferences } from './differences.ts';
export type { Finding, Verdict } from './findings.ts';
export { byArrival, type HistoryItem, historyItem, type Outcome, type TopicRecord } from './history.ts';
export { type LoadedHistory, loadHistoryFiles, parseHistoryLine } from './jsonl.ts';
export { areaUnder, deciles, midranks, type RocPoint, rocAuc, rocCurve, spread } from './metrics.ts';
export type { DecileRow, DimensionRanking } from './ranking.ts';
export { type ModelUnderTest, type Replay, type ReplayOptions, replay } from './replay.ts';
export { buildReport, type EvaluationOptions, type EvaluationReport, type ModelReport } from './report.ts';
export { DAY_MS, WEEK_MS, weekStart } from './time.ts';
export { REPORT_HTML, REPORT_JSON, writeReport } from './write.ts';
