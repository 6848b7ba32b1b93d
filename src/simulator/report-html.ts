/**
 * The HTML report: one self-contained page (inline CSS and SVG, no script, no external URL) that
 * opens offline in any browser. Charts: utilization per pool over time, data moved over time, the
 * timeline of moves, and cost over time; then the text summary. A comparison page puts two
 * results side by side.
 *
 * @module
 */
import { renderComparisonText } from './compare.js';
import { renderTextSummary } from './report-text.js';
import type { SimulationResult } from './result.js';
import { esc, laneChart, lineChart } from './svg.js';

const DAY = 86_400_000;

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
p.meta{color:#555;margin:0 0 12px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:16px}
svg.chart{border:1px solid #ddd;background:#fff;max-width:100%;height:auto}
svg .title{font-size:14px;font-weight:600}
svg .tick,svg .legend,svg .axis-label,svg .ref-label{font-size:11px;fill:#333}
svg .plot{fill:#fafafa;stroke:#ccc}
svg .grid{stroke:#e6e6e6}
svg .axis{stroke:#999}
svg .ref{stroke:#aa0000;stroke-dasharray:4 3}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}
pre{background:#f6f6f6;padding:12px;overflow:auto;font-size:12px}
`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

const days = (r: SimulationResult): number[] => r.sampleTimesMs.map((t) => Math.round((t / DAY) * 100) / 100);

/** Common scales, so two results side by side are drawn on the same axes. */
export interface ChartScales {
  readonly movedMaxGiB?: number;
  readonly costMax?: number;
}

/** The four charts of one result. */
export function resultCharts(r: SimulationResult, scales: ChartScales = {}): string[] {
  const x = days(r);
  const limits = [...new Set(r.pools.map((p) => p.limitShare).filter((l): l is number => l !== null))].sort();
  const util = lineChart(
    {
      title: 'Utilization per pool',
      kind: 'utilization',
      x,
      xLabel: 'days',
      yLabel: 'used share',
      yFormat: (v) => `${Math.round(v * 100)}%`,
      yMin: 0,
      yMax: Math.max(1, ...r.pools.map((p) => p.peakShare)),
      refs: limits.map((l) => ({ y: l, label: `limit ${Math.round(l * 100)}%` })),
    },
    r.pools.map((p) => ({ name: p.name, values: p.share })),
  );
  const moved = lineChart(
    { title: 'Data moved (cumulative)', kind: 'moved', x, xLabel: 'days', yLabel: 'GiB', yFormat: (v) => String(v), yMin: 0, step: true, ...(scales.movedMaxGiB ? { yMax: scales.movedMaxGiB } : {}) },
    [{ name: 'GiB moved', values: r.movedGiB }],
  );
  const lanes = [...new Set(r.moves.map((m) => m.to))].sort();
  const horizonDays = r.scenario.horizonMs / DAY;
  const timeline = laneChart(
    { title: `Timeline of moves (${r.moves.length}), by destination`, kind: 'timeline', xLabel: 'days', xMin: 0, xMax: horizonDays },
    // Failed and cancelled moves are drawn last, so a retry's success never hides its failure.
    [...r.moves].sort((a, b) => Number(a.outcome !== 'success') - Number(b.outcome !== 'success')).map((m) => ({
      lane: m.to,
      start: m.startMs / DAY,
      end: (m.endMs ?? r.scenario.horizonMs) / DAY,
      status: m.outcome,
      label: `${m.volume} ${m.sizeGiB} GiB ${m.from} -> ${m.to} (${m.kind}, ${m.outcome})`,
    })),
    lanes,
  );
  const cost = lineChart(
    { title: 'Cost per month', kind: 'cost', x, xLabel: 'days', yLabel: 'cost / month', yFormat: (v) => String(Math.round(v)), ...(scales.costMax ? { yMax: scales.costMax } : {}) },
    [{ name: 'cost per month', values: r.costPerMonth }],
  );
  return [util, moved, timeline, cost];
}

/** One chart alone on a page (for screenshots of each chart kind). */
export function renderChartPage(svg: string, title: string): string {
  return page(title, svg);
}

/** The report of one simulation. */
export function renderHtmlReport(r: SimulationResult): string {
  const s = r.scenario;
  const body = [
    `<h1>Simulation: ${esc(s.name)}</h1>`,
    `<p class="meta">${esc(s.description)}</p>`,
    `<p class="meta">${esc(s.file)} · seed ${s.seed} · start ${esc(new Date(s.startMs).toISOString())} · horizon ${Math.round(s.horizonMs / DAY)} days</p>`,
    `<h2>Charts</h2>`,
    `<div class="charts">`,
    ...resultCharts(r),
    `</div>`,
    `<h2>Summary</h2>`,
    `<pre>${esc(renderTextSummary(r))}</pre>`,
  ].join('\n');
  return page(`Ballast simulation: ${s.name}`, body);
}

/** Two results side by side: the comparison table, then each one's charts in two columns. */
export function renderHtmlComparison(a: SimulationResult, b: SimulationResult): string {
  const scales: ChartScales = {
    movedMaxGiB: Math.max(1, ...a.movedGiB, ...b.movedGiB),
    costMax: Math.max(1, ...a.costPerMonth, ...b.costPerMonth),
  };
  const ca = resultCharts(a, scales);
  const cb = resultCharts(b, scales);
  const rows = ca.map((c, i) => `<div>${c}</div>\n<div>${cb[i]}</div>`).join('\n');
  const body = [
    `<h1>Comparison: ${esc(a.scenario.name)} vs ${esc(b.scenario.name)}</h1>`,
    `<pre>${esc(renderComparisonText(a, b))}</pre>`,
    `<div class="cols">`,
    `<h2>${esc(a.scenario.name)}</h2><h2>${esc(b.scenario.name)}</h2>`,
    rows,
    `</div>`,
  ].join('\n');
  return page(`Ballast comparison: ${a.scenario.name} vs ${b.scenario.name}`, body);
}
