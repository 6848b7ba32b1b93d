/**
 * `ballast apply PLAN_FILE` and `ballast run list|show|cancel|resume`: the executor from the
 * command line, with a live multi-line progress display on a terminal (plain lines otherwise), a
 * truthful summary, and an exit code that says whether moves failed (5) or the run was cancelled (6).
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import {
  DEFAULT_SETTINGS,
  Executor,
  guardPlan,
  newRunId,
  pidAlive,
  precheck,
  realTimers,
  renderSummary,
  RunJournal,
  settingsFromPolicy,
  summarize,
  type ExecutorDeps,
  type ExecutorEvent,
  type RunSettings,
  type RunSummary,
} from '../../executor/index.js';
import type { ControlPlane, Plan } from '../../model/index.js';
import { readPlanFile } from '../../planner/index.js';
import { compilePolicyFiles, type CompiledPolicy, type PolicySourceFile } from '../../policy/index.js';
import { AppError, FileValidationError, formatBytes, formatDuration, systemClock } from '../../shared/index.js';
import { openControlPlane } from '../control-plane-factory.js';
import { printJson, renderTable, reportError, type CliIo } from '../io.js';
import { globals } from './common.js';
import { runProgressPrinter, type RunProgressPrinter } from '../run-progress.js';

interface ApplyFlags {
  policy?: string[];
  yes?: boolean;
  dryRun?: boolean;
  force?: boolean;
  maxConcurrent?: string;
  outsideWindow?: string;
  ignoreWindows?: boolean;
}

/** Policy files (directories expand to their *.yaml), compiled; default `./policies` when present, else the schema defaults. */
function loadPolicy(paths: readonly string[] | undefined): CompiledPolicy {
  const args = paths && paths.length > 0 ? paths : existsSync('policies') ? ['policies'] : [];
  const files: PolicySourceFile[] = [];
  for (const p of args) {
    const list = statSync(p, { throwIfNoEntry: false })?.isDirectory() ? readdirSync(p).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(p, f)) : [p];
    for (const f of list) {
      if (!existsSync(f)) throw new AppError('INVALID_INPUT', `policy file ${f}: no such file`);
      files.push({ file: f, text: readFileSync(f, 'utf8') });
    }
  }
  const r = compilePolicyFiles(files);
  if (!r.policy) throw new FileValidationError('POLICY_INVALID', args.join(', '), r.problems);
  return r.policy;
}

function readPlan(file: string): Plan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AppError('INVALID_INPUT', `cannot read plan file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return readPlanFile(file, text);
}

function planTable(plan: Plan): string {
  return renderTable(
    ['Move', 'Volume', 'Size', 'From', 'To', 'Kind', 'After'],
    plan.moves.map((m) => [m.id, m.volumeName || m.volumeId, `${m.sizeGiB} GiB`, m.from, m.to, m.newVolumeType ? `${m.kind} → ${m.newVolumeType}` : m.kind, m.dependsOn.join(',')]),
  );
}

/** Executor events on stderr (nothing with --json): bars on a terminal, plain lines otherwise. */
function progressPrinter(io: CliIo, json: boolean): RunProgressPrinter {
  if (json) return { onEvent: () => {}, finish: () => {} };
  return runProgressPrinter(io, { write: (s) => io.stderr(s), plainEveryMs: 5000 });
}

/** Test hook: `BALLAST_EXECUTOR_CRASH=<state>:<n>` kills this process (SIGKILL) right after the n-th transition into `state`. */
function crashHook(): ExecutorDeps['afterTransition'] {
  const spec = process.env['BALLAST_EXECUTOR_CRASH'];
  if (!spec) return undefined;
  const [state, n] = spec.split(':');
  let seen = 0;
  return (rec) => {
    if (rec.state === state && ++seen === Number(n ?? 1)) process.kill(process.pid, 'SIGKILL');
  };
}

/** Runs an executor to its end with progress; Ctrl-C (SIGINT) or SIGTERM cancels the run. */
async function drive(io: CliIo, ex: Executor, json: boolean, printer: ReturnType<typeof progressPrinter>): Promise<RunSummary> {
  const onSignal = () => ex.cancel('interrupted (SIGINT/SIGTERM)');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await ex.execute();
    printer.finish();
    if (json) printJson(io, summary);
    else io.stdout(renderSummary(summary));
    io.setExitCode(summary.counts.failed > 0 ? 5 : summary.state === 'cancelled' ? 6 : 0);
    return summary;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new AppError('INVALID_INPUT', 'refusing to apply without confirmation on a non-interactive input: pass --yes');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** Opens the control plane and the runs journal, runs `body`, always closes both; errors are reported with their code. */
async function withExecutor(io: CliIo, cmd: Command, body: (cp: ControlPlane, journal: RunJournal, json: boolean) => Promise<void>): Promise<void> {
  const g = globals(cmd);
  let opened: Awaited<ReturnType<typeof openControlPlane>> | null = null;
  let journal: RunJournal | null = null;
  try {
    opened = await openControlPlane(io, g);
    journal = RunJournal.open(join(opened.config.dataDir, 'runs.db'));
    await body(opened.controlPlane, journal, g.json === true);
  } catch (e) {
    reportError(io, e, g.json === true);
  } finally {
    journal?.close();
    await opened?.close();
  }
}

function deps(cp: ControlPlane, journal: RunJournal, onEvent: (e: ExecutorEvent) => void): ExecutorDeps {
  const hook = crashHook();
  return { controlPlane: cp, journal, clock: systemClock, timers: realTimers, pid: process.pid, onEvent, ...(hook ? { afterTransition: hook } : {}) };
}

function parsePositive(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(v)) throw new AppError('INVALID_INPUT', `${what} '${v}' must be a positive integer`);
  return Number(v);
}

export function registerApplyCommands(program: Command, io: CliIo): void {
  program
    .command('apply')
    .description('Run a plan: moves start as slots free under the policy limits, inside its windows; resumable, cancellable')
    .argument('<plan>', 'plan file (JSON, from ballast plan)')
    .option('--policy <files...>', 'policy files or directories for limits and windows (default: ./policies when present)')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--dry-run', 'check every move against live state and print what would run; change nothing')
    .option('--force', 'run an expired plan (every move is still re-checked before it starts)')
    .option('--max-concurrent <n>', 'override the total concurrency limit')
    .option('--outside-window <mode>', 'outside maintenance windows: wait (default) or stop (the run pauses, resumable)')
    .option('--ignore-windows', "start moves now, whatever the policy's maintenance windows say")
    .action(async (file: string, flags: ApplyFlags, cmd: Command) => {
      await withExecutor(io, cmd, async (cp, journal, json) => {
        const plan = readPlan(file);
        const policy = loadPolicy(flags.policy);
        const now = systemClock.nowMs();
        const notes = guardPlan(plan, await cp.listPools(), now, { force: flags.force === true });
        if (policy.when.paused && !flags.dryRun) {
          const where = policy.origins['when.paused'];
          throw new AppError('PLAN_REFUSED', `the policy is paused (when.paused: true${where ? ` at ${where}` : ''}): no move starts until it is unpaused`);
        }
        if (flags.outsideWindow !== undefined && flags.outsideWindow !== 'wait' && flags.outsideWindow !== 'stop') {
          throw new AppError('INVALID_INPUT', `--outside-window '${flags.outsideWindow}' must be wait or stop`);
        }
        const base = settingsFromPolicy(policy);
        const total = parsePositive(flags.maxConcurrent, '--max-concurrent');
        const settings: RunSettings = {
          ...base,
          ...(total ? { limits: { ...base.limits, maxConcurrentTotal: total } } : {}),
          ...(flags.outsideWindow ? { outsideWindow: flags.outsideWindow as 'wait' | 'stop' } : {}),
          ...(flags.ignoreWindows ? { windows: [] } : {}),
          pollIntervalMs: DEFAULT_SETTINGS.pollIntervalMs,
        };
        for (const n of notes) io.stderr(`note: ${n}`);
        if (!json) {
          io.stdout(`Plan ${plan.id}: ${plan.moves.length} moves, ${formatBytes(plan.totals.bytes)} (made ${formatDuration(now - plan.createdAtMs)} ago, expires in ${formatDuration(Math.max(0, plan.expiresAtMs - now))})`);
          io.stdout(planTable(plan));
          const l = settings.limits;
          io.stdout(`Limits: ${l.maxConcurrentTotal} at once, ${l.maxConcurrentPerSourcePool} per pool, ${l.maxConcurrentPerBackend} per back-end, ${l.maxConcurrentInUse} in-use${l.maxBandwidthBytesPerSec ? `, ${formatBytes(l.maxBandwidthBytesPerSec)}/s` : ''}; windows: ${settings.windows.length === 0 ? 'any time' : settings.windows.length}`);
        }
        if (flags.dryRun) {
          const rows = [];
          for (const m of plan.moves) {
            const v = precheck(await cp.getVolume(m.volumeId), m);
            rows.push([m.id, m.volumeName || m.volumeId, v.kind === 'run' ? 'would run' : `would skip: ${v.reason}`]);
          }
          if (json) printJson(io, { plan: plan.id, moves: rows.map(([id, volume, verdict]) => ({ id, volume, verdict })) });
          else io.stdout(renderTable(['Move', 'Volume', 'Verdict'], rows));
          return;
        }
        if (!flags.yes && !(await confirm(`Apply ${plan.moves.length} moves?`))) {
          io.stderr('not applied');
          io.setExitCode(6);
          return;
        }
        const printer = progressPrinter(io, json);
        const ex = Executor.create(deps(cp, journal, printer.onEvent), plan, settings, newRunId(now));
        io.stderr(`run ${ex.run.id} started (ballast run show ${ex.run.id}; ballast run cancel ${ex.run.id})`);
        await drive(io, ex, json, printer);
      });
    });

  const run = program.command('run').description('Executor runs: list, show, cancel, resume');

  run
    .command('list')
    .description('Runs, newest first')
    .action(async (_o: unknown, cmd: Command) => {
      await withExecutor(io, cmd, async (_cp, journal, json) => {
        const runs = journal.listRuns();
        if (json) return printJson(io, runs);
        io.stdout(
          renderTable(
            ['Run', 'Plan', 'State', 'Moves', 'Done', 'Skipped', 'Failed', 'Cancelled', 'Not ended', 'Created'],
            runs.map((r) => {
              const c = r.counts;
              const ended = (c['done'] ?? 0) + (c['skipped'] ?? 0) + (c['failed'] ?? 0) + (c['cancelled'] ?? 0);
              const live = r.ownerPid !== null && ['running', 'cancelling'].includes(r.state) && !pidAlive(r.ownerPid) ? 'interrupted' : r.state;
              return [r.id, r.planId, live, r.moves, c['done'] ?? 0, c['skipped'] ?? 0, c['failed'] ?? 0, c['cancelled'] ?? 0, r.moves - ended, new Date(r.createdAtMs).toISOString()];
            }),
          ),
        );
      });
    });

  run
    .command('show')
    .description('A run: its state and every move with its state, attempts and reason')
    .argument('<run>', 'run id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      await withExecutor(io, cmd, async (_cp, journal, json) => {
        const r = journal.load(id);
        if (json) return printJson(io, { run: r.run, moves: r.moves.map((m) => ({ id: m.move.id, volumeId: m.move.volumeId, state: m.state, attempts: m.attempts, reason: m.reason, errorCode: m.errorCode, bytesDone: m.bytesDone, bytesTotal: m.bytesTotal })) });
        io.stdout(`run ${r.run.id} (plan ${r.run.planId}): ${r.run.state}${r.run.note ? ` (${r.run.note})` : ''}${r.run.ownerPid ? `, process ${r.run.ownerPid}${pidAlive(r.run.ownerPid) ? '' : ' (gone)'}` : ''}`);
        io.stdout(
          renderTable(
            ['Move', 'Volume', 'From', 'To', 'State', 'Attempts', 'Bytes', 'Reason'],
            r.moves.map((m) => [m.move.id, m.move.volumeName || m.move.volumeId, m.move.from, m.move.to, m.state, m.attempts, `${formatBytes(m.bytesDone)}/${formatBytes(m.bytesTotal)}`, m.errorCode ? `[${m.errorCode}] ${m.reason ?? ''}` : (m.reason ?? '')]),
          ),
        );
      });
    });

  run
    .command('cancel')
    .description('Stop a run: no new move starts, running moves are cancelled where the control plane can')
    .argument('<run>', 'run id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      await withExecutor(io, cmd, async (cp, journal, json) => {
        const { run: r } = journal.load(id);
        if (r.state === 'finished' || r.state === 'cancelled') throw new AppError('RUN_BUSY', `run ${id} has already ${r.state === 'finished' ? 'finished' : 'been cancelled'}`);
        if (r.ownerPid !== null && r.ownerPid !== process.pid && pidAlive(r.ownerPid) && r.state !== 'paused') {
          journal.requestCancel(id, systemClock.nowMs());
          io.stderr(`asked process ${r.ownerPid} to cancel run ${id}; waiting for it to stop`);
          const deadline = Date.now() + 10 * 60_000;
          for (;;) {
            const now = journal.load(id).run;
            if (now.state === 'cancelled' || now.state === 'finished' || !pidAlive(r.ownerPid)) break;
            if (Date.now() > deadline) throw new AppError('RUN_BUSY', `run ${id} did not stop within 10 minutes`);
            await realTimers.sleep(100);
          }
          const final = journal.load(id);
          const summary = summarize(final.run, final.moves, systemClock.nowMs());
          if (json) printJson(io, summary);
          else io.stdout(renderSummary(summary));
          return;
        }
        // Nobody runs it (paused, or its process died): reconcile with the control plane, then cancel.
        const printer = progressPrinter(io, json);
        const ex = await Executor.resume(deps(cp, journal, printer.onEvent), id, pidAlive);
        ex.cancel('cancelled by ballast run cancel');
        await drive(io, ex, json, printer);
      });
    });

  run
    .command('resume')
    .description('Continue a paused or interrupted run from its journal (reconciled with the control plane first)')
    .argument('<run>', 'run id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      await withExecutor(io, cmd, async (cp, journal, json) => {
        const printer = progressPrinter(io, json);
        const ex = await Executor.resume(deps(cp, journal, printer.onEvent), id, pidAlive);
        io.stderr(`run ${id} resumed`);
        await drive(io, ex, json, printer);
      });
    });
}
