/**
 * Small SVG charts for the HTML report, written as text (no library, no script, no external
 * reference): a line chart of several series over time, and a lane chart of intervals (the
 * timeline of moves). Output is deterministic: numbers are rounded to 0.1 px.
 *
 * @module
 */

/** Escapes text for XML/HTML content and attribute values. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A fixed palette (Okabe-Ito, colour-blind friendly, with wine instead of black so text never looks like a series), then repeats dashed. */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#882255'];

const f = (x: number): string => (Math.round(x * 10) / 10).toString();

/** One series of a line chart; null values break the line. */
export interface Series {
  readonly name: string;
  readonly values: readonly (number | null)[];
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  readonly title: string;
  /** X values (same length as every series' values), e.g. days. */
  readonly x: readonly number[];
  readonly xLabel: string;
  readonly yLabel: string;
  /** Formats a y tick. */
  readonly yFormat: (v: number) => string;
  /** Horizontal reference lines (limits). */
  readonly refs?: readonly { readonly y: number; readonly label: string }[];
  /** Draw as steps (cumulative counters). */
  readonly step?: boolean;
  readonly yMin?: number;
  readonly yMax?: number;
  /** `data-kind` of the chart, for tests and styling. */
  readonly kind: string;
}

const W = 760;
const H = 300;
const M = { l: 64, r: 180, t: 28, b: 40 };

function ticks(min: number, max: number, n: number): number[] {
  if (max <= min) return [min];
  const raw = (max - min) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out;
}

function frame(title: string, kind: string, xLabel: string, yLabel: string, seriesCount: number): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-kind="${esc(kind)}" data-series="${seriesCount}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`,
    `<title>${esc(title)}</title>`,
    `<text x="${M.l}" y="18" class="title">${esc(title)}</text>`,
    `<text x="${f(M.l + (W - M.l - M.r) / 2)}" y="${H - 6}" class="axis-label" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="14" y="${f(M.t + (H - M.t - M.b) / 2)}" class="axis-label" text-anchor="middle" transform="rotate(-90 14 ${f(M.t + (H - M.t - M.b) / 2)})">${esc(yLabel)}</text>`,
  ];
}

/** A line chart with axes, ticks, a legend and optional reference lines. */
export function lineChart(o: LineChartOptions, series: readonly Series[]): string {
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const xs = o.x;
  const xMin = xs[0] ?? 0;
  const xMax = xs[xs.length - 1] ?? 1;
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const refs = o.refs ?? [];
  const yMin = o.yMin ?? Math.min(0, ...all);
  let yMax = o.yMax ?? Math.max(...all, ...refs.map((r) => r.y), yMin + 1e-9);
  if (yMax <= yMin) yMax = yMin + 1;
  const X = (v: number): number => M.l + (xMax === xMin ? 0 : ((v - xMin) / (xMax - xMin)) * pw);
  const Y = (v: number): number => M.t + ph - ((v - yMin) / (yMax - yMin)) * ph;
  const out = frame(o.title, o.kind, o.xLabel, o.yLabel, series.length);
  out.push(`<rect x="${M.l}" y="${M.t}" width="${pw}" height="${ph}" class="plot"/>`);
  for (const v of ticks(yMin, yMax, 5)) {
    out.push(`<line x1="${M.l}" x2="${M.l + pw}" y1="${f(Y(v))}" y2="${f(Y(v))}" class="grid"/>`);
    out.push(`<text x="${M.l - 6}" y="${f(Y(v) + 4)}" text-anchor="end" class="tick">${esc(o.yFormat(v))}</text>`);
  }
  for (const v of ticks(xMin, xMax, 8)) {
    out.push(`<line x1="${f(X(v))}" x2="${f(X(v))}" y1="${M.t + ph}" y2="${M.t + ph + 4}" class="axis"/>`);
    out.push(`<text x="${f(X(v))}" y="${M.t + ph + 16}" text-anchor="middle" class="tick">${esc(String(v))}</text>`);
  }
  for (const r of refs) {
    out.push(`<line x1="${M.l}" x2="${M.l + pw}" y1="${f(Y(r.y))}" y2="${f(Y(r.y))}" class="ref"/>`);
    out.push(`<text x="${M.l + pw - 4}" y="${f(Y(r.y) - 4)}" text-anchor="end" class="ref-label">${esc(r.label)}</text>`);
  }
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const dash = i >= PALETTE.length ? ' stroke-dasharray="6 3"' : '';
    const parts: string[] = [];
    let pen = false;
    let lastY = 0;
    s.values.forEach((v, j) => {
      if (v === null || xs[j] === undefined) {
        pen = false;
        return;
      }
      const x = X(xs[j]!);
      const y = Y(v);
      if (!pen) parts.push(`M${f(x)} ${f(y)}`);
      else if (o.step) parts.push(`L${f(x)} ${f(lastY)}L${f(x)} ${f(y)}`);
      else parts.push(`L${f(x)} ${f(y)}`);
      pen = true;
      lastY = y;
    });
    out.push(`<path class="series" data-name="${esc(s.name)}" d="${parts.join('') || `M${M.l} ${M.t + ph}`}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    const ly = M.t + 4 + i * 16;
    if (ly < H - M.b) {
      out.push(`<line x1="${W - M.r + 10}" x2="${W - M.r + 28}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"${dash}/>`);
      out.push(`<text x="${W - M.r + 32}" y="${ly + 4}" class="legend">${esc(s.name)}</text>`);
    }
  });
  out.push('</svg>');
  return out.join('\n');
}

/** One interval of the lane chart. */
export interface Interval {
  readonly lane: string;
  readonly start: number;
  readonly end: number;
  readonly label: string;
  /** `success`, `error`, `cancelled`, `running`. */
  readonly status: string;
}

/** Colours of the lane chart's intervals by outcome. */
export const STATUS_COLOR: Readonly<Record<string, string>> = { success: '#009E73', error: '#D55E00', cancelled: '#8C6D31', running: '#0072B2' };

/** A lane chart (one lane per destination, a bar per interval, at least 2 px wide). */
export function laneChart(o: { readonly title: string; readonly kind: string; readonly xLabel: string; readonly xMin: number; readonly xMax: number }, intervals: readonly Interval[], lanes: readonly string[]): string {
  const h = Math.max(H, M.t + M.b + lanes.length * 18 + 10);
  const pw = W - M.l - M.r;
  const ph = h - M.t - M.b;
  const X = (v: number): number => M.l + (o.xMax === o.xMin ? 0 : ((v - o.xMin) / (o.xMax - o.xMin)) * pw);
  const laneH = lanes.length > 0 ? ph / lanes.length : ph;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-kind="${esc(o.kind)}" data-series="${lanes.length}" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img" aria-label="${esc(o.title)}">`,
    `<title>${esc(o.title)}</title>`,
    `<text x="${M.l}" y="18" class="title">${esc(o.title)}</text>`,
    `<text x="${f(M.l + pw / 2)}" y="${h - 6}" class="axis-label" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<rect x="${M.l}" y="${M.t}" width="${pw}" height="${f(ph)}" class="plot"/>`,
  ];
  for (const v of ticks(o.xMin, o.xMax, 8)) {
    out.push(`<line x1="${f(X(v))}" x2="${f(X(v))}" y1="${M.t}" y2="${f(M.t + ph + 4)}" class="grid"/>`);
    out.push(`<text x="${f(X(v))}" y="${f(M.t + ph + 16)}" text-anchor="middle" class="tick">${esc(String(v))}</text>`);
  }
  lanes.forEach((lane, i) => {
    out.push(`<text x="${W - M.r + 8}" y="${f(M.t + i * laneH + laneH / 2 + 4)}" class="legend">${esc(lane)}</text>`);
  });
  const used = Object.keys(STATUS_COLOR).filter((k) => intervals.some((iv) => iv.status === k));
  used.forEach((k, i) => {
    const y = h - M.b + 18;
    const x = W - M.r + 8 + i * 60;
    out.push(`<rect x="${x}" y="${y - 8}" width="10" height="10" fill="${STATUS_COLOR[k]}"/><text x="${x + 13}" y="${y + 1}" class="legend">${esc(k === 'error' ? 'failed' : k)}</text>`);
  });
  const laneIndex = new Map(lanes.map((l, i) => [l, i]));
  for (const iv of intervals) {
    const i = laneIndex.get(iv.lane) ?? 0;
    const x = X(iv.start);
    const w = Math.max(2, X(iv.end) - x);
    out.push(
      `<rect class="interval" data-status="${esc(iv.status)}" x="${f(x)}" y="${f(M.t + i * laneH + 2)}" width="${f(w)}" height="${f(Math.max(2, laneH - 4))}" fill="${STATUS_COLOR[iv.status] ?? '#333333'}"><title>${esc(iv.label)}</title></rect>`,
    );
  }
  out.push('</svg>');
  return out.join('\n');
}
