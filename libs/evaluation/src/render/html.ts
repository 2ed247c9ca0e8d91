import { pct } from '../findings.ts';
import type { EvaluationReport, ModelReport } from '../report.ts';
import { conversionChart, fmtAuc, liftChart, rocChart, volumeChart } from './charts.ts';
import { STYLE } from './style.ts';
import { esc } from './svg.ts';
import { verdictLabel } from './tables.ts';

/**
 * The report page for marketing operations: one self-contained HTML file (inline CSS and SVG,
 * no script, nothing fetched), the answers first, then each table with what to look at.
 */

export interface PageOptions {
  /** CSV and JSON files written next to the page, listed at its end. */
  files: string[];
  /** Leads listed in the stage-differences table (all are in the CSV). */
  maxListed: number;
}

export function renderHtml(report: EvaluationReport, options: PageOptions): string {
  const [a, b] = report.models;
  const title = b ? `${a!.label} vs ${b.label} model` : `${a!.label} model`;
  const dims = unique(report.models.flatMap((m) => m.dimensions));
  const stages = unique(report.models.flatMap((m) => m.stages));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Scoring model evaluation: ${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Does the model work? ${esc(title)}</h1>
<p>${report.models.map((m) => `The <b>${esc(m.label)}</b> model is <code>${esc(m.file)}</code> (version ${esc(m.version)}).`).join(' ')}
Both replayed the same history (${esc(report.source)}) through the scoring engine, exactly as the live services score.
Period: <b>${day(report.period.from)}</b> to <b>${day(report.period.to)}</b> (end excluded); outcomes read up to ${day(report.historyEnd)}; horizon <b>${report.horizonDays} days</b>.</p>
<nav>${[
    ['summary', 'Which model wins'],
    ['counted', 'What was counted'],
    ['conversion', 'Conversion per stage'],
    ['lift', 'Lift per decile'],
    ['roc', 'ROC curves'],
    ['precision', 'Precision and recall'],
    ['volumes', 'Weekly volumes'],
    ['differences', 'Leads that change stage'],
    ['files', 'Files'],
  ]
    .map(([id, text]) => `<a href="#${id}">${text}</a>`)
    .join(' · ')}</nav>
</header>
<main>
${summary(report)}
${counted(report)}
<section id="conversion">
<h2>Conversion per stage</h2>
<p>Look at: the stages' conversion against the <i>all leads</i> base rate. A stage worth alerting sales about converts well above it. A model that puts more leads in a stage usually lowers its conversion; the question is whether it adds winners (recall, below) or noise.</p>
${conversionChart(report)}
${sideBySide(
  report,
  'Stage',
  a!.conversion.map((r) => r.stage),
  (m, s) => {
    const r = m.conversion.find((x) => x.stage === s);
    return r ? [String(r.leads), String(r.won), pct(r.conversion), money(r.wonAmount)] : ['', '', '', ''];
  },
  ['leads', 'won', 'conversion', 'won amount'],
)}
<h3>Time from stage to won</h3>
<p>Days from the first entry into the stage to the won deal, for the leads that reached it and won: the median and the middle half (25th to 75th percentile). Shorter means the stage comes closer to the sale.</p>
${sideBySide(
  report,
  'Stage',
  a!.timeToWon.map((r) => r.stage),
  (m, s) => {
    const r = m.timeToWon.find((x) => x.stage === s);
    return r
      ? [String(r.count), days(r.median), r.p25 === null ? '' : `${days(r.p25)} to ${days(r.p75)}`]
      : ['', '', ''];
  },
  ['won', 'median days', 'middle half'],
)}
</section>
<section id="lift">
<h2>Do higher scores win more often? Lift per score decile</h2>
<p>Every Monday we rank the open leads (no outcome yet) by their score <b>as it was that morning</b>, and check who won within the next ${report.horizonDays} days. Decile 1 is the top 10%. Look at: decile 1's lift (how much more often the top leads win than average) and whether the bars fall steadily from left to right. Equal scores share a decile, so with many equal scores (fit, or leads with no activity) some deciles are empty.</p>
${dims.map((d) => liftChart(report, d)).join('\n')}
${dims
  .map(
    (d) =>
      `<details><summary>Decile table: ${esc(d)}</summary>${sideBySide(
        report,
        'Decile',
        Array.from({ length: 10 }, (_, i) => String(i + 1)),
        (m, dec) => {
          const row = m.ranking.find((r) => r.dimension === d)?.deciles[Number(dec) - 1];
          return row
            ? [
                String(row.observations),
                String(row.won),
                pct(row.winRate),
                row.lift === null ? 'n/a' : `${row.lift.toFixed(2)}x`,
                pct(row.shareOfWins),
                row.minScore === null ? '' : `${row.minScore.toFixed(1)} to ${row.maxScore!.toFixed(1)}`,
              ]
            : ['', '', '', '', '', ''];
        },
        ['leads', 'won', 'win rate', 'lift', 'share of wins', 'scores'],
      )}</details>`,
  )
  .join('\n')}
</section>
<section id="roc">
<h2>ROC curves and AUC</h2>
<p>The AUC is the chance that a lead that won within ${report.horizonDays} days had a higher score than one that did not (ties count half): 0.5 is a coin toss, 1 is perfect. Look at: which model's curve lies higher, and the AUC in the legend.</p>
${sideBySide(
  report,
  'Score',
  dims,
  (m, d) => {
    const r = m.ranking.find((x) => x.dimension === d);
    return r ? [fmtAuc(r.auc), String(r.observations), String(r.leads), pct(r.winRate)] : ['', '', '', ''];
  },
  ['AUC', 'lead-weeks', 'leads', 'won within horizon'],
)}
<div class="charts">${dims.map((d) => rocChart(report, d)).join('\n')}</div>
</section>
<section id="precision">
<h2>Stages as predictors of winning: precision and recall</h2>
<p><b>Precision</b>: of the leads that reached the stage, the share that won (the stage's hit rate). <b>Recall</b>: of all the leads that won, the share that had reached the stage before (the wins the stage caught). Look at: a candidate that raises both is better; one that trades one for the other changes how many leads sales gets.</p>
${sideBySide(
  report,
  'Stage',
  a!.precisionRecall.map((r) => r.stage),
  (m, s) => {
    const r = m.precisionRecall.find((x) => x.stage === s);
    return r
      ? [String(r.reached), String(r.reachedAndWon), pct(r.precision), pct(r.recall)]
      : ['', '', '', ''];
  },
  ['reached', 'reached and won', 'precision', 'recall'],
)}
</section>
<section id="volumes">
<h2>Stage volumes per week</h2>
<p>How many leads entered each stage each week: the alerts sales and nurture would have received. Look at: whether the candidate's volume is one sales can handle.</p>
<div class="charts">${stages.map((s) => volumeChart(report, s)).join('\n')}</div>
</section>
${differences(report, options.maxListed)}
<section id="files">
<h2>Files for other tools</h2>
<p>Every table above as CSV, and all numbers in <code>report.json</code>. Definitions: <code>docs/evaluation.md</code>.</p>
<ul>${options.files.map((f) => `<li><a href="${esc(f)}">${esc(f)}</a></li>`).join('')}</ul>
</section>
</main>
</body>
</html>
`;
}

function summary(report: EvaluationReport): string {
  const items = report.findings.map(
    (f) =>
      `<li class="finding ${f.verdict}"><span class="badge">${esc(verdictLabel(report, f.verdict))}</span> ${esc(f.text)}</li>`,
  );
  const wins = (v: string) => report.findings.filter((f) => f.verdict === v).length;
  const [a, b] = report.models;
  const headline = b
    ? `<p class="headline">The <b>${esc(b.label)}</b> model does better on ${wins('second')} and the <b>${esc(a!.label)}</b> model on ${wins('first')} of the ${report.findings.filter((f) => f.verdict !== 'unknown').length} comparisons below; ${wins('same')} are about the same${wins('trade-off') ? `, ${wins('trade-off')} a trade-off` : ''}.</p>`
    : '';
  return `<section id="summary">
<h2>Which model wins on what</h2>
${headline}
<ul class="findings">${items.join('\n')}</ul>
<p class="note">"About the same": AUCs within 0.01, rates within half a point or one standard error; smaller differences are within chance on this many leads. Look first at the ranking of the scores that drive your stages (the AUC: does a higher score mean a likelier sale?), then at the stages sales acts on (precision: how often an alert is worth it; recall: how many of the sales it flagged), then at the volumes sales would have to handle.</p>
</section>`;
}

function counted(report: EvaluationReport): string {
  const c = report.counts;
  return `<section id="counted">
<h2>What was counted</h2>
<p><b>${n(c.leads)}</b> leads had behaviour before the period ended and no deal closed before it began: <b>${n(c.won)}</b> won, ${n(c.lost)} lost, ${n(c.noOutcome)} have no outcome yet (counted as not won).
${c.closedBefore ? `${n(c.closedBefore)} leads whose deal closed before the period are left out. ` : ''}A lead's first outcome decides${c.laterOutcomes ? ` (${n(c.laterOutcomes)} later outcomes were ignored)` : ''}.
${n(c.eventsApplied)} events were replayed${c.eventsAfterPeriod ? `, ${n(c.eventsAfterPeriod)} after the period were not` : ''}. Stages count when reached before the lead's outcome; scores are taken before it, so nothing the outcome caused leaks in.</p>
</section>`;
}

function differences(report: EvaluationReport, maxListed: number): string {
  const d = report.differences;
  if (!d)
    return '<section id="differences"><h2>Leads that change stage</h2><p>Only one model: nothing to compare.</p></section>';
  const [a, b] = report.models as [ModelReport, ModelReport];
  const moved = d.matrix.filter((x) => x.first !== x.second);
  const rows = d.leads.slice(0, maxListed).map((l) => {
    const cells = l.sides.map(
      (s) =>
        `<td><b>${esc(s.endStage)}</b>${s.reached.length ? `<br><small>reached: ${s.reached.map((r) => `${esc(r.stage)} on ${r.date} <i>(${esc(r.cause)})</i>`).join('; ')}</small>` : ''}<br><small>points: ${s.rules.map((r) => `${esc(r.ruleId)} ${r.points.toFixed(1)}`).join(', ') || 'none'}</small></td>`,
    );
    return `<tr><td class="nowrap">${esc(l.leadId)}</td><td class="nowrap">${l.outcome ? `${l.outcome.toLowerCase()} ${l.outcomeDate}` : 'none yet'}</td>${cells.join('')}</tr>`;
  });
  return `<section id="differences">
<h2>Leads whose stage would differ</h2>
<p><b>${d.differing}</b> of ${d.compared} leads end the period in another stage, or reach other stages during it, under the ${esc(b.label)} model than under the ${esc(a.label)} model. Look at: the won leads first (listed first): those the ${esc(b.label)} model lifts are wins it would have flagged; the lost ones it lifts are the cost.</p>
<table><thead><tr><th>${esc(a.label)} end stage</th><th>${esc(b.label)} end stage</th><th>leads</th></tr></thead><tbody>${moved
    .map((x) => `<tr><td>${esc(x.first)}</td><td>${esc(x.second)}</td><td>${x.leads}</td></tr>`)
    .join('')}</tbody></table>
<p>${d.leads.length > maxListed ? `The first ${maxListed} of ${d.leads.length} leads; all are in <code>stage-differences.csv</code>.` : ''} Each model's column shows the stage at the end of the period, the stages reached with the rule that moved the lead in, and the rules holding its points at the end.</p>
<table class="leads"><thead><tr><th>lead</th><th>outcome</th><th>${esc(a.label)}</th><th>${esc(b.label)}</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
</section>`;
}

/** One row per key, a group of columns per model. */
function sideBySide(
  report: EvaluationReport,
  keyName: string,
  keys: string[],
  cells: (m: ModelReport, key: string) => string[],
  columns: string[],
): string {
  const groups = report.models
    .map((m) => `<th colspan="${columns.length}" class="model">${esc(m.label)}</th>`)
    .join('');
  const heads = report.models.map(() => columns.map((c) => `<th>${esc(c)}</th>`).join('')).join('');
  const body = keys
    .map(
      (k) =>
        `<tr><td>${esc(k)}</td>${report.models
          .flatMap((m) => cells(m, k).map((c) => `<td class="num">${esc(c)}</td>`))
          .join('')}</tr>`,
    )
    .join('');
  return `<table><thead><tr><th rowspan="2">${esc(keyName)}</th>${groups}</tr><tr>${heads}</tr></thead><tbody>${body}</tbody></table>`;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

function days(v: number | null): string {
  return v === null ? '' : v.toFixed(1);
}

function n(v: number): string {
  return v.toLocaleString('en-US');
}

function money(v: number): string {
  return v === 0 ? '0' : v.toLocaleString('en-US', { maximumFractionDigits: 0 });
}
