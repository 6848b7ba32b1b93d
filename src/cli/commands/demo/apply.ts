/**
 * Demo step: the plan run by the shared executor (`src/executor`, as `ballast apply` runs it),
 * journaled in the deployment's `runs.db`, with a live progress block on a terminal and plain
 * lines otherwise, then the run summary.
 *
 * @module
 */
import { join } from 'node:path';
import {
  DEFAULT_SETTINGS,
  Executor,
  guardPlan,
  newRunId,
  realTimers,
  renderSummary,
  RunJournal,
  settingsFromPolicy,
  type RunSettings,
  type RunSummary,
} from '../../../executor/index.js';
import type { Plan } from '../../../model/index.js';
import type { CompiledPolicy } from '../../../policy/index.js';
import { formatBytes, systemClock } from '../../../shared/index.js';
import type { DemoContext } from './context.js';
import { runProgressPrinter } from '../../run-progress.js';


/**
 * Runs the plan with the policy's limits and bandwidth. Maintenance windows are ignored (as
 * `ballast apply --ignore-windows`): the demo runs now, whatever the hour.
 */
export async function applyPlan(ctx: DemoContext, plan: Plan, policy: CompiledPolicy): Promise<RunSummary> {
  const now = systemClock.nowMs();
  for (const n of guardPlan(plan, await ctx.controlPlane.listPools(), now)) ctx.say(`   note: ${n}`);
  const base = settingsFromPolicy(policy);
  const settings: RunSettings = { ...base, windows: [], pollIntervalMs: DEFAULT_SETTINGS.pollIntervalMs };
  const l = settings.limits;
  ctx.say(
    `Limits from the policies: ${l.maxConcurrentTotal} at once, ${l.maxConcurrentPerSourcePool} per pool, ${l.maxConcurrentPerBackend} per back-end, ${l.maxConcurrentInUse} in-use` +
      `${l.maxBandwidthBytesPerSec ? `, ${formatBytes(l.maxBandwidthBytesPerSec)}/s` : ''}; maintenance windows ignored (as --ignore-windows)`,
  );
  const journal = RunJournal.open(join(ctx.config.dataDir, 'runs.db'));
  try {
    const p = runProgressPrinter(ctx.io, { write: (s) => ctx.io.stdout(s), prefix: '   ', plainEveryMs: 2000 });
    const ex = Executor.create({ controlPlane: ctx.controlPlane, journal, clock: systemClock, timers: realTimers, pid: process.pid, onEvent: p.onEvent }, plan, settings, newRunId(now));
    ctx.say(`Run ${ex.run.id} started (journal: ${join(ctx.config.dataDir, 'runs.db')})`);
    const summary = await ex.execute();
    p.finish();
    ctx.say(renderSummary(summary).trimEnd());
    return summary;
  } finally {
    journal.close();
  }
}
