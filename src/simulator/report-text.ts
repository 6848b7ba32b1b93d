/**
 * The text summary of a simulation: totals, pools (peak and final utilization, time to full), the
 * events, the runs, the violations and the timeline of moves. Deterministic for a result (no wall
 * clock, no solve times), so it is what the golden files hold.
 *
 * @module
 */
import { fmtOffset } from './format.js';
import type { SimulationResult } from './result.js';

const pct = (x: number | null): string => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);
const money = (x: number): string => x.toFixed(2);
const change = (a: number, b: number): string => (a === 0 ? '' : ` (${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)}%)`);

/** `1h02m`, `3m05s`, `2d04h`. */
export function fmtSpan(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

function table(rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => `  ${r.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')}`.trimEnd());
}

/** Options of {@link renderTextSummary}. */
export interface TextSummaryOptions {
  /** At most this many moves in the timeline (the JSON has all). Default 60. */
  readonly maxMoves?: number;
}

/** The whole summary, ending with a newline. */
export function renderTextSummary(r: SimulationResult, opts: TextSummaryOptions = {}): string {
  const out: string[] = [];
  const s = r.scenario;
  const t = r.totals;
  out.push(`Scenario ${s.name}${s.description ? `: ${s.description}` : ''}`);
  out.push(`  file ${s.file}, seed ${s.seed}`);
  out.push(`  base ${s.base}`);
  out.push(`  start ${new Date(s.startMs).toISOString()}, horizon ${fmtOffset(s.horizonMs)}, ${s.rebalanceEveryMs === null ? 'no rebalancing' : `rebalance every ${fmtOffset(s.rebalanceEveryMs)}`}`);
  out.push(`  policies ${s.policies.join(', ')}`);
  out.push('');
  out.push('Totals');
  out.push(
    ...table(
      [
        ['rebalancing runs', `${t.runs} (${r.runs.filter((x) => x.plannedMoves > 0).length} with moves)`],
        ['moves', `${t.movesDone} done; ${t.movesFailed} attempts failed, ${t.movesCancelled} cancelled`],
        ['data moved', `${t.movedGiB} GiB`],
        ['time moving', `${fmtSpan(t.moveTimeMs)} (sum of the runs' makespans)`],
        ['cost per month', `${money(t.costPerMonthStart)} -> ${money(t.costPerMonthEnd)}${change(t.costPerMonthStart, t.costPerMonthEnd)}`],
        ['used capacity', `${t.usedGiBStart} GiB -> ${t.usedGiBEnd} GiB (volumes ${t.volumesStart} -> ${t.volumesEnd})`],
        ['growth refused', `${t.growthRefusedGiB} GiB`],
        ['violations', `${r.violations.length}`],
      ],
      new Set(),
    ),
  );
  out.push('');
  out.push('Pools');
  out.push(
    ...table(
      [
        ['pool', 'usable GiB', 'start', 'peak', 'final', 'limit', 'growth GiB/d', 'time to full', 'state'],
        ...r.pools.map((p) => [
          p.name,
          String(p.usableGiB),
          pct(p.startShare),
          pct(p.peakShare),
          pct(p.finalShare),
          p.limitShare === null ? '-' : `${Math.round(p.limitShare * 100)}%`,
          p.growthGiBPerDay.toFixed(2),
          p.daysToFull === null ? 'never' : `${p.daysToFull.toFixed(1)}d`,
          p.state,
        ]),
      ],
      new Set([1, 2, 3, 4, 5, 6, 7]),
    ),
  );
  out.push('');
  out.push('Events');
  if (r.events.length === 0) out.push('  none');
  for (const e of r.events) out.push(`  ${fmtOffset(e.atMs).padEnd(8)} ${e.label}: ${e.detail} [${e.origin}]`);
  out.push('');
  out.push('Runs');
  if (r.runs.length === 0) out.push('  none');
  for (const run of r.runs) {
    const head = run.plannedMoves === 0
      ? `no moves`
      : `${run.plannedMoves} moves planned (${run.plannedGiB} GiB): ${run.done} done, ${run.failed} attempts failed, ${run.cancelled} cancelled, ${run.skipped} skipped; ${run.movedGiB} GiB moved in ${fmtSpan(run.makespanMs)}`;
    out.push(`  run ${run.index + 1} at ${fmtOffset(run.atMs)}: ${head}; cost ${money(run.costPerMonthBefore)} -> ${money(run.costPerMonthAfter)}`);
    for (const n of run.notes) out.push(`    - ${n}`);
  }
  out.push('');
  out.push('Violations');
  if (r.violations.length === 0) out.push('  none');
  for (const v of r.violations) {
    const when = v.firstMs === v.lastMs ? `at ${fmtOffset(v.firstMs)}` : `${fmtOffset(v.firstMs)} to ${fmtOffset(v.lastMs)} (${v.samples} samples)`;
    out.push(`  ${v.kind} ${v.subject} ${when}: ${v.message}`);
  }
  out.push('');
  const max = opts.maxMoves ?? 60;
  out.push(`Timeline of moves${r.moves.length > max ? ` (first ${max} of ${r.moves.length}; all in the JSON)` : ''}`);
  if (r.moves.length === 0) out.push('  none');
  out.push(
    ...(r.moves.length === 0
      ? []
      : table(
          r.moves.slice(0, max).map((m) => [
            `run ${m.run + 1}`,
            fmtOffset(m.startMs),
            m.endMs === null ? '...' : fmtOffset(m.endMs),
            m.volume,
            `${m.sizeGiB} GiB`,
            `${m.from} -> ${m.to}`,
            m.kind,
            m.outcome + (m.error ? ` ${m.error}` : ''),
          ]),
          new Set([4]),
        )),
  );
  return `${out.join('\n')}\n`;
}
