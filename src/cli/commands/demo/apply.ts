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
  renderProgressLines,
  renderSummary,
  RunJournal,
  settingsFromPolicy,
  type ExecutorEvent,
  type RunSettings,
  type RunSummary,
} from '../../../executor/index.js';
import type { Plan } from '../../../model/index.js';
import type { CompiledPolicy } from '../../../policy/index.js';
import { formatBytes, systemClock } from '../../../shared/index.js';
import type { CliIo } from '../../io.js';
import type { DemoContext } from './context.js';

const ENDED = new Set(['done', 'skipped', 'failed', 'cancelled']);

/** Executor events as a redrawn block on a terminal (stderr), or transitions and a line every 2 s otherwise. */
function printer(io: CliIo): { onEvent: (e: ExecutorEvent) => void; finish: () => void } {
  let drawn = 0;
  let lastDraw = 0;
  let lastLine = 0;
  const clear = () => {
    if (drawn > 0) process.stderr.write(`\x1b[${drawn}A\x1b[J`);
    drawn = 0;
  };
  return {
    onEvent(e) {
      const now = Date.now();
      if (e.kind === 'transition' && (!io.isTTY || ENDED.has(e.to))) {
        if (io.isTTY) clear();
        io.stdout(`   ${e.moveId}: ${e.from} → ${e.to}${e.reason ? ` (${e.reason})` : ''}`);
      } else if (e.kind === 'run' && e.note) {
        if (io.isTTY) clear();
        io.stdout(`   run ${e.state}: ${e.note}`);
      } else if (e.kind === 'progress') {
        if (io.isTTY && now - lastDraw >= 200) {
          lastDraw = now;
          clear();
          const lines = renderProgressLines(e.progress, { bars: true });
          process.stderr.write(`${lines.join('\n')}\n`);
          drawn = lines.length;
        } else if (!io.isTTY && now - lastLine >= 2000) {
          lastLine = now;
          io.stdout(`   ${renderProgressLines(e.progress, { bars: false }).at(-1)!}`);
        }
      }
    },
    finish: () => {
      if (io.isTTY) clear();
    },
  };
}

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
    const p = printer(ctx.io);
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
