/**
 * Two simulations side by side (two scenarios, or one scenario under two policy sets): the
 * totals, then each pool's peak and final utilization and time to full. Deterministic text.
 *
 * @module
 */
import type { SimulationResult } from './result.js';
import { fmtSpan } from './report-text.js';

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(1)}%`);

function delta(a: number, b: number, digits = 0): string {
  const d = b - a;
  if (d === 0) return '=';
  return `${d > 0 ? '+' : ''}${d.toFixed(digits)}`;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => `  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`.trimEnd());
}

/** The comparison as text, ending with a newline. */
export function renderComparisonText(a: SimulationResult, b: SimulationResult): string {
  const A = a.scenario.name;
  const B = b.scenario.name === A ? `${A} (2)` : b.scenario.name;
  const ta = a.totals;
  const tb = b.totals;
  const out: string[] = [`Comparison: ${A} vs ${B}`, `  ${A}: ${a.scenario.file}; policies ${a.scenario.policies.join(', ')}`, `  ${B}: ${b.scenario.file}; policies ${b.scenario.policies.join(', ')}`, ''];
  out.push('Totals');
  out.push(
    ...table([
      ['', A, B, 'difference'],
      ['moves done', String(ta.movesDone), String(tb.movesDone), delta(ta.movesDone, tb.movesDone)],
      ['attempts failed', String(ta.movesFailed), String(tb.movesFailed), delta(ta.movesFailed, tb.movesFailed)],
      ['data moved GiB', String(ta.movedGiB), String(tb.movedGiB), delta(ta.movedGiB, tb.movedGiB)],
      ['time moving', fmtSpan(ta.moveTimeMs), fmtSpan(tb.moveTimeMs), tb.moveTimeMs === ta.moveTimeMs ? '=' : `${tb.moveTimeMs > ta.moveTimeMs ? '+' : '-'}${fmtSpan(Math.abs(tb.moveTimeMs - ta.moveTimeMs))}`],
      ['cost/month at start', ta.costPerMonthStart.toFixed(2), tb.costPerMonthStart.toFixed(2), delta(ta.costPerMonthStart, tb.costPerMonthStart, 2)],
      ['cost/month at end', ta.costPerMonthEnd.toFixed(2), tb.costPerMonthEnd.toFixed(2), delta(ta.costPerMonthEnd, tb.costPerMonthEnd, 2)],
      ['peak utilization', pct(Math.max(0, ...a.pools.map((p) => p.peakShare))), pct(Math.max(0, ...b.pools.map((p) => p.peakShare))), ''],
      ['violations', String(a.violations.length), String(b.violations.length), delta(a.violations.length, b.violations.length)],
      ['growth refused GiB', String(ta.growthRefusedGiB), String(tb.growthRefusedGiB), delta(ta.growthRefusedGiB, tb.growthRefusedGiB)],
    ]),
  );
  out.push('');
  out.push('Pools (peak / final utilization, time to full)');
  const names = [...new Set([...a.pools.map((p) => p.name), ...b.pools.map((p) => p.name)])].sort();
  const ttf = (d: number | null | undefined): string => (d === null || d === undefined ? 'never' : `${d.toFixed(1)}d`);
  out.push(
    ...table([
      ['pool', `${A} peak`, 'final', 'full in', `${B} peak`, 'final', 'full in'],
      ...names.map((n) => {
        const pa = a.pools.find((p) => p.name === n);
        const pb = b.pools.find((p) => p.name === n);
        return [n, pct(pa?.peakShare), pct(pa?.finalShare), pa ? ttf(pa.daysToFull) : '-', pct(pb?.peakShare), pct(pb?.finalShare), pb ? ttf(pb.daysToFull) : '-'];
      }),
    ]),
  );
  return `${out.join('\n')}\n`;
}
