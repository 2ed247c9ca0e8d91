/** The page's only style sheet, inline: the report is one file that opens anywhere. */
export const STYLE = `
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1f2933; margin: 0; background: #fff; }
header, main { max-width: 1040px; margin: 0 auto; padding: 0 24px; }
header { border-bottom: 1px solid #d9dee3; padding-bottom: 8px; }
h1 { font-size: 26px; margin: 24px 0 8px; }
h2 { font-size: 20px; margin: 36px 0 8px; border-top: 1px solid #eef1f4; padding-top: 20px; }
h3 { font-size: 16px; margin: 20px 0 6px; }
nav a { color: #2f5f8f; text-decoration: none; }
code { background: #f3f5f7; padding: 0 4px; border-radius: 3px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border-bottom: 1px solid #e4e8ec; padding: 4px 10px; text-align: left; vertical-align: top; }
th.model { text-align: center; border-bottom: 2px solid #9aa5b1; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.leads td { max-width: 420px; }
td.nowrap { white-space: nowrap; }
.findings { padding-left: 0; list-style: none; }
.finding { margin: 6px 0; padding: 6px 10px; border-left: 4px solid #9aa5b1; background: #f8f9fa; }
.finding.second { border-color: #ee7733; }
.finding.first { border-color: #4477aa; }
.badge { display: inline-block; margin-right: 6px; font-weight: 600; font-size: 12px; text-transform: uppercase; color: #52606d; }
.headline { font-size: 17px; }
.note { color: #616e7c; font-size: 13px; }
figure.chart { margin: 12px 0 20px; }
figure.chart svg { max-width: 100%; height: auto; font-size: 11px; }
figcaption { font-size: 13px; color: #3e4c59; max-width: 640px; }
.charts { display: flex; flex-wrap: wrap; gap: 8px 24px; }
.charts figure.chart { flex: 0 1 480px; }
.legend .key { margin-left: 10px; white-space: nowrap; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
svg .grid { stroke: #e4e8ec; }
svg .reference { stroke: #616e7c; stroke-dasharray: 4 3; }
svg .tick { fill: #52606d; }
svg .label { fill: #3e4c59; font-size: 12px; }
details { margin: 4px 0; }
summary { cursor: pointer; color: #2f5f8f; }
`;
