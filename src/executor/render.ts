/**
 * Text for people: progress lines (one per active move plus the run) and the final summary.
 * Deterministic for a given input.
 *
 * @module
 */
import { formatBytes, formatDuration } from '../shared/index.js';
import type { RunProgress, RunSummary } from './types.js';

function bar(done: number, total: number, width: number): string {
  const pct = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(pct * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(pct * 100).toFixed(0).padStart(3)}%`;
}

const eta = (ms: number | null) => (ms === null ? '--' : formatDuration(ms));

/** One line per moving volume, then the run's totals (and what it waits for). */
export function renderProgressLines(p: RunProgress, opts: { readonly bars: boolean } = { bars: true }): string[] {
  const lines = p.active.map((a) => {
    const head = `${a.moveId} ${a.volumeName.padEnd(12).slice(0, 24)} ${a.state.padEnd(11)}`;
    const bytes = `${formatBytes(a.bytesDone)}/${formatBytes(a.bytesTotal)} ${formatBytes(Math.round(a.rateBytesPerSec))}/s ETA ${eta(a.etaMs)}`;
    return opts.bars ? `${head} ${bar(a.bytesDone, a.bytesTotal, 20)} ${bytes}` : `${head} ${bytes}`;
  });
  const c = p.counts;
  const counts = `done ${c.done} skipped ${c.skipped} failed ${c.failed} cancelled ${c.cancelled} running ${c.running + c.prechecking + c.verifying} pending ${c.pending}`;
  const total = `${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)} ${formatBytes(Math.round(p.rateBytesPerSec))}/s ETA ${eta(p.etaMs)}`;
  lines.push(`${opts.bars ? `run ${bar(p.bytesDone, p.bytesTotal, 20)}` : 'run'} ${total} | ${counts}${p.waitingFor ? ` | waiting: ${p.waitingFor}` : ''}`);
  return lines;
}

/** The final summary: counts, then each skipped, failed and cancelled move with its reason. */
export function renderSummary(s: RunSummary): string {
  const c = s.counts;
  const out = [
    `run ${s.runId} (plan ${s.planId}): ${s.state}${s.note ? ` (${s.note})` : ''}`,
    `  done ${c.done}, skipped ${c.skipped}, failed ${c.failed}, cancelled ${c.cancelled}, not ended ${s.remaining.length}; ${formatBytes(s.bytesMoved)} copied${s.doneWithoutByteCounts > 0 ? ` (+ ${s.doneWithoutByteCounts} moves whose control plane reports no byte counts)` : ''} in ${formatDuration(s.elapsedMs)}`,
  ];
  for (const m of s.skipped) out.push(`  skipped   ${m.moveId} ${m.volume}: ${m.reason}`);
  for (const m of s.failed) out.push(`  failed    ${m.moveId} ${m.volume} [${m.code}] after ${m.attempts} attempt(s): ${m.reason}`);
  for (const m of s.cancelled) out.push(`  cancelled ${m.moveId} ${m.volume}: ${m.reason}`);
  for (const m of s.remaining) out.push(`  remaining ${m.moveId} ${m.volume}: ${m.state}`);
  if (s.remaining.length > 0) out.push(`  resume with: ballast run resume ${s.runId}`);
  return out.join('\n');
}
