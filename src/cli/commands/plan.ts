/**
 * `ballast plan`: solve placement under the policies for an inventory (a saved file, or one built
 * now from the control plane and freshly collected telemetry), turn it into an ordered, capacity-safe plan, print it (table, JSON or
 * Markdown for a pull request) and optionally write the plan file; `--explain VOLUME` says why a
 * volume stays or moves.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { Inventory, Plan } from '../../model/index.js';
import { dryRunPlan, type DryRunResult } from '../../simulator/index.js';
import { runCollectors } from '../../telemetry/index.js';
import { makePlan, parseInventoryFile, renderPlan, renderPlanJson, PLAN_FORMATS, type PlanFormat } from '../../planner/index.js';
import { checkPolicies, parseDuration, type CompiledPolicy } from '../../policy/index.js';
import { explainVolume, solvePlacement } from '../../solver/index.js';
import { AppError, FileValidationError, formatDuration, systemClock } from '../../shared/index.js';
import { renderTable, reportError, type CliIo } from '../io.js';
import { buildInventoryFromTelemetry } from './inventory.js';
import { withTelemetry, type TelemetryContext } from './telemetry-context.js';
import { globals } from './common.js';
import { DEFAULT_POLICY_DIR, expand, readAll } from './policy.js';

interface PlanOptions {
  readonly policy?: string[];
  readonly inventory?: string;
  readonly out?: string;
  readonly format?: PlanFormat;
  readonly timeLimit: string;
  readonly explain?: string;
  readonly dryRun?: boolean;
  /** False with --no-collect: plan from the telemetry already stored (refused when stale). */
  readonly collect?: boolean;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Reads and compiles the policy files; every problem at once (`POLICY_INVALID`). */
export function loadCompiledPolicy(args: readonly string[]): CompiledPolicy {
  const expanded = expand(args.length > 0 ? args : [DEFAULT_POLICY_DIR]);
  const read = readAll(expanded.files);
  const result = checkPolicies(read.sources);
  const problems = [...expanded.problems, ...read.problems, ...result.problems];
  if (problems.length > 0 || !result.policy) {
    throw new FileValidationError('POLICY_INVALID', expanded.files.join(', ') || args.join(', '), problems);
  }
  return result.policy;
}

function readInventoryFile(file: string): Inventory {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AppError('INVENTORY_INVALID', `${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read the file (${code ?? String(e)})`}`, { cause: e });
  }
  return parseInventoryFile(file, text);
}

/** A volume of the inventory by id, or by name when exactly one volume has it. */
function findVolume(inv: Inventory, ref: string): string {
  if (inv.volumes.some((v) => v.id === ref)) return ref;
  const named = inv.volumes.filter((v) => v.name === ref);
  if (named.length === 1) return named[0]!.id;
  if (named.length > 1) throw new AppError('INVALID_INPUT', `Multiple volumes match the name '${ref}'; use the id`);
  throw new AppError('VOLUME_NOT_FOUND', `No volume with a name or ID of '${ref}' is in inventory ${inv.id}.`);
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

async function runPlan(io: CliIo, opts: PlanOptions, g: ReturnType<typeof globals>, policy: CompiledPolicy, inventory: Inventory): Promise<void> {
  const limit = parseDuration(opts.timeLimit);
  if (!limit.ok) throw new AppError('INVALID_INPUT', `--time-limit: ${limit.message}`);
  const result = await solvePlacement(inventory, policy, { timeLimitMs: limit.value, now: () => performance.now() });
  if (opts.explain !== undefined) {
    const lines = explainVolume(inventory, policy, result, findVolume(inventory, opts.explain));
    io.stdout(g.json === true ? `${JSON.stringify({ volume: opts.explain, explanation: lines }, null, 2)}\n` : `${lines.join('\n')}\n`);
    io.setExitCode(0);
    return;
  }
  if (result.infeasibility) {
    const lines = [...result.infeasibility.conflicts.map((c) => `  conflict: ${c}`), ...result.infeasibility.relaxations.map((r) => `  closest relaxation: ${r}`)];
    throw new AppError('PLAN_REFUSED', `the policies cannot all be met for inventory ${inventory.id}:\n${lines.join('\n')}`, { details: { ...result.infeasibility } });
  }
  const nowMs = Date.now();
  const policyDigest = `sha256:${sha256(JSON.stringify(policy))}`;
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const planId = `plan-${stamp}-${sha256(`${inventory.id}\n${policyDigest}`).slice(0, 8)}`;
  const plan = makePlan(inventory, policy, result, { planId, nowMs, policyDigest });
  if (opts.out !== undefined) writeAtomically(opts.out, renderPlanJson(plan));
  io.stdout(renderPlan(plan, opts.format ?? (g.json === true ? 'json' : 'table')));
  if (opts.dryRun === true) io.stdout(renderDryRun(await dryRunPlan(inventory, plan, policy), plan));
  io.setExitCode(0);
}

/** What the simulated run of the plan predicts (`--dry-run`): duration, pools touched and their peaks. */
function renderDryRun(r: DryRunResult, plan: Plan): string {
  if (plan.moves.length === 0) return '\nDry run: the plan has no moves; nothing would run.';
  const failed = r.moves.filter((m) => m.error !== null).length;
  const lines = [
    '',
    `Dry run (the shared executor on a simulated copy of the fleet, the policy's limits and windows): ${r.moves.length} of ${plan.moves.length} moves ${r.state}` +
      `${failed > 0 ? `, ${failed} not successful in simulation` : ''}; copying takes ${formatDuration(r.makespanMs)}, ${formatDuration(r.elapsedMs)} from now including waits for maintenance windows.`,
    renderTable(
      ['Pool touched', 'Peak used during the run'],
      r.poolsTouched.map((p) => [p, `${(100 * (r.peakShare[p] ?? 0)).toFixed(1)}%`]),
    ),
  ];
  return lines.join('\n');
}

/** The inventory of a plan made from the live fleet: telemetry collected now (unless --no-collect), stale data refused. */
async function liveInventory(ctx: TelemetryContext, collectFirst: boolean): Promise<Inventory> {
  if (collectFirst) {
    const report = await runCollectors(ctx.collectors(), ctx.controlPlane, ctx.store, systemClock);
    await ctx.store.flush();
    const failed = report.outcomes.filter((o) => !o.ok);
    if (failed.some((o) => o.name === 'capacity')) {
      throw new AppError('COLLECTOR_FAILED', `the capacity collector failed, no plan is made from old numbers: ${failed.map((o) => `${o.name}: ${o.ok ? '' : o.error.message}`).join('; ')}`);
    }
  }
  return buildInventoryFromTelemetry(ctx, {});
}

/** Adds `ballast plan` to `program`. Errors are printed with their code and set the exit code. */
export function registerPlanCommands(program: Command, io: CliIo): void {
  program
    .command('plan')
    .description('Solve placement under the policies and print an ordered, capacity-safe plan of moves')
    .option('--policy <files...>', `policy files or directories (default: ${DEFAULT_POLICY_DIR}/)`)
    .option('--inventory <file>', "an inventory saved by 'ballast inventory save' (default: collect telemetry now and build one)")
    .option('--out <file>', 'also write the plan file (JSON) here')
    .addOption(new Option('--format <format>', 'output format (default: table, or json with --json)').choices([...PLAN_FORMATS]))
    .option('--time-limit <duration>', 'hard limit on the solve', '10s')
    .option('--explain <volume>', 'say why a volume (id or name) stays or moves, instead of printing the plan')
    .option('--dry-run', 'also predict the run: the shared executor on a simulated copy of the fleet (duration, pools touched, peaks)')
    .option('--no-collect', 'without --inventory: plan from the telemetry already stored instead of collecting now (refused when stale)')
    .action(async (opts: PlanOptions, cmd: Command) => {
      const g = globals(cmd);
      if (opts.inventory !== undefined) {
        try {
          await runPlan(io, opts, g, loadCompiledPolicy(opts.policy ?? []), readInventoryFile(opts.inventory));
        } catch (e) {
          reportError(io, e, g.json === true);
        }
        return;
      }
      await withTelemetry(io, cmd, async (ctx) => {
        const policy = loadCompiledPolicy(opts.policy ?? []);
        await runPlan(io, opts, g, policy, await liveInventory(ctx, opts.collect !== false));
      });
    });
}
