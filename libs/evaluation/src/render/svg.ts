import { scaleBand, scaleLinear, scaleUtc } from 'd3-scale';
import { line } from 'd3-shape';

/**
 * Charts as inline SVG strings, drawn here with d3's scales (ticks, nice domains) and line
 * generator: the page needs no script, no network and no canvas to show them, and a test can
 * count them. Each chart is a <figure class="chart" data-chart=id>; each series a
 * <g class="series" data-series=name> holding its bars or its line.
 */

export interface Series {
  name: string;
  /** One value per category (bars), null where there is none. */
  values: (number | null)[];
}

export interface LineSeries {
  name: string;
  points: [number, number][];
}

/** Colour-blind-safe pair (Paul Tol's bright scheme): first model blue, second orange. */
export const COLOURS = ['#4477aa', '#ee7733', '#228833', '#aa3377'];

const W = 640;
const H = 300;
const M = { top: 16, right: 16, bottom: 48, left: 56 };

export function barChart(spec: {
  id: string;
  title: string;
  caption: string;
  categories: string[];
  series: Series[];
  format: (v: number) => string;
  yLabel: string;
  /** A dashed reference line, e.g. lift 1 (average). */
  reference?: { value: number; label: string };
}): string {
  const max = Math.max(
    spec.reference?.value ?? 0,
    ...spec.series.flatMap((s) => s.values.map((v) => v ?? 0)),
  );
  const y = scaleLinear()
    .domain([0, max > 0 ? max : 1])
    .nice()
    .range([H - M.bottom, M.top]);
  const x = scaleBand()
    .domain(spec.categories)
    .range([M.left, W - M.right])
    .padding(0.2);
  const inner = scaleBand()
    .domain(spec.series.map((s) => s.name))
    .range([0, x.bandwidth()])
    .padding(0.05);
  const parts = [yAxis(y.ticks(5), y, spec.format, spec.yLabel, W)];
  // Category names of several words go on several lines: long ones would overlap.
  parts.push(
    ...spec.categories.map((c) => {
      const centre = r(x(c)! + x.bandwidth() / 2);
      const lines = c
        .split(' ')
        .map((w, i) => `<tspan x="${centre}" dy="${i === 0 ? 0 : 12}">${esc(w)}</tspan>`);
      return `<text class="tick" x="${centre}" y="${H - M.bottom + 16}" text-anchor="middle">${lines.join('')}</text>`;
    }),
  );
  spec.series.forEach((s, k) => {
    const bars = s.values.map((v, i) => {
      if (v === null) return '';
      const left = x(spec.categories[i]!)! + inner(s.name)!;
      return `<rect x="${r(left)}" y="${r(y(v))}" width="${r(inner.bandwidth())}" height="${r(y(0) - y(v))}" fill="${COLOURS[k % COLOURS.length]}"><title>${esc(`${s.name}, ${spec.categories[i]}: ${spec.format(v)}`)}</title></rect>`;
    });
    parts.push(`<g class="series" data-series="${esc(s.name)}">${bars.join('')}</g>`);
  });
  if (spec.reference) {
    const at = r(y(spec.reference.value));
    parts.push(
      `<line class="reference" x1="${M.left}" x2="${W - M.right}" y1="${at}" y2="${at}"/><text class="tick" x="${W - M.right}" y="${at - 4}" text-anchor="end">${esc(spec.reference.label)}</text>`,
    );
  }
  return figure(
    spec.id,
    spec.title,
    spec.caption,
    parts.join(''),
    spec.series.map((s) => s.name),
  );
}

export function lineChart(spec: {
  id: string;
  title: string;
  caption: string;
  series: LineSeries[];
  /** 'time': x values are epoch ms. */
  x: 'time' | 'linear';
  xDomain?: [number, number];
  yDomain?: [number, number];
  xFormat?: (v: number) => string;
  format: (v: number) => string;
  xLabel: string;
  yLabel: string;
  /** The diagonal of a ROC chart: a ranking no better than chance. */
  diagonal?: boolean;
  square?: boolean;
}): string {
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1]));
  const width = spec.square ? H + M.left : W;
  const range: [number, number] = [M.left, width - M.right];
  const xDomain = spec.xDomain ?? [Math.min(...xs, 0), Math.max(...xs, 1)];
  const xScale =
    spec.x === 'time' ? scaleUtc().domain(xDomain).range(range) : scaleLinear().domain(xDomain).range(range);
  const y = scaleLinear()
    .domain(spec.yDomain ?? [0, Math.max(1, ...ys)])
    .nice()
    .range([H - M.bottom, M.top]);
  const timeFormat = scaleUtc().domain(xDomain).tickFormat(6);
  const xFormat = spec.xFormat ?? (spec.x === 'time' ? (v: number) => timeFormat(new Date(v)) : spec.format);
  const parts = [yAxis(y.ticks(5), y, spec.format, spec.yLabel, width)];
  for (const t of xScale.ticks(6)) {
    const v = +t;
    parts.push(
      `<text class="tick" x="${r(xScale(v))}" y="${H - M.bottom + 16}" text-anchor="middle">${esc(xFormat(v))}</text>`,
    );
  }
  parts.push(
    `<text class="label" x="${r((range[0] + range[1]) / 2)}" y="${H - 8}" text-anchor="middle">${esc(spec.xLabel)}</text>`,
  );
  if (spec.diagonal) {
    parts.push(
      `<line class="reference" x1="${r(xScale(0))}" y1="${r(y(0))}" x2="${r(xScale(1))}" y2="${r(y(1))}"><title>chance</title></line>`,
    );
  }
  const path = line<[number, number]>()
    .x((p) => r(xScale(p[0])))
    .y((p) => r(y(p[1])));
  spec.series.forEach((s, k) => {
    const d = s.points.length > 0 ? (path(s.points) ?? '') : '';
    parts.push(
      `<g class="series" data-series="${esc(s.name)}"><path d="${d}" fill="none" stroke="${COLOURS[k % COLOURS.length]}" stroke-width="2"/></g>`,
    );
  });
  return figure(
    spec.id,
    spec.title,
    spec.caption,
    parts.join(''),
    spec.series.map((s) => s.name),
    width,
  );
}

function yAxis(
  ticks: number[],
  y: (v: number) => number,
  format: (v: number) => string,
  label: string,
  width: number,
): string {
  const lines = ticks.map(
    (t) =>
      `<line class="grid" x1="${M.left}" x2="${width - M.right}" y1="${r(y(t))}" y2="${r(y(t))}"/><text class="tick" x="${M.left - 6}" y="${r(y(t)) + 4}" text-anchor="end">${esc(format(t))}</text>`,
  );
  return `${lines.join('')}<text class="label" transform="translate(14 ${(H - M.bottom + M.top) / 2}) rotate(-90)" text-anchor="middle">${esc(label)}</text>`;
}

function figure(
  id: string,
  title: string,
  caption: string,
  body: string,
  names: string[],
  width = W,
): string {
  const legend = names
    .map(
      (n, k) =>
        `<span class="key"><span class="swatch" style="background:${COLOURS[k % COLOURS.length]}"></span>${esc(n)}</span>`,
    )
    .join(' ');
  return `<figure class="chart" data-chart="${esc(id)}">
<svg viewBox="0 0 ${width} ${H}" width="${width}" height="${H}" role="img" aria-label="${esc(title)}">${body}</svg>
<figcaption><b>${esc(title)}</b> <span class="legend">${legend}</span><br>${esc(caption)}</figcaption>
</figure>`;
}

/** Two decimals are plenty for pixels and keep the page small. */
function r(v: number): number {
  return Math.round(v * 100) / 100;
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
