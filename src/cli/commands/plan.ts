/**
 * `ballast plan`: solve placement under the policies for an inventory (a saved file, or the
 * control plane read now), turn it into an ordered, capacity-safe plan, print it (table, JSON or
 * Markdown for a pull request) and optionally write the plan file; `--explain VOLUME` says why a
 * volume stays or moves.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { INVENTORY_SCHEMA, type FleetReader, type Inventory } from '../../model/index.js';
import { makePlan, parseInventoryFile, renderPlan, renderPlanJson, PLAN_FORMATS, type PlanFormat } from '../../planner/index.js';
import { checkPolicies, parseDuration, type CompiledPolicy } from '../../policy/index.js';
import { explainVolume, solvePlacement } from '../../solver/index.js';
import { AppError, FileValidationError } from '../../shared/index.js';
import { openControlPlane } from '../control-plane-factory.js';
import { reportError, type CliIo } from '../io.js';
import { globals } from './common.js';
import { DEFAULT_POLICY_DIR, expand, readAll } from './policy.js';

interface PlanOptions {
  readonly policy?: string[];
  readonly inventory?: string;
  readonly out?: string;
  readonly format?: PlanFormat;
  readonly timeLimit: string;
  readonly explain?: string;
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

/**
 * An inventory read from the control plane now, without telemetry (no performance, growth or
 * prices); its id is a digest of its content, so the same fleet gives the same id.
 */
// TODO(lead): switch to telemetry buildInventory (needs the telemetry store and fresh samples).
export async function liveInventory(reader: FleetReader, nowMs: number): Promise<Inventory> {
  const [pools, volumes, types] = await Promise.all([reader.listPools(), reader.listVolumes(), reader.listVolumeTypes()]);
  const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const content = {
    pools: pools.map((p) => ({ ...p, perf: null, costPerGiBMonth: null, growthGiBPerDay: null, sampledAtMs: nowMs })).sort(byName),
    volumes: volumes.map((v) => ({ ...v, perf: null })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    volumeTypes: [...types].sort(byName),
  };
  const digest = sha256(JSON.stringify({ pools: content.pools.map((p) => ({ ...p, sampledAtMs: 0 })), volumes: content.volumes, volumeTypes: content.volumeTypes }));
  return {
    schema: INVENTORY_SCHEMA,
    id: `inv-${digest.slice(0, 16)}`,
    takenAtMs: nowMs,
    source: { kind: reader.kind, name: reader.name },
    ...content,
    freshness: { windowMs: 0, oldestSampleAtMs: nowMs, store: 'none' },
  };
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

async function runPlan(io: CliIo, opts: PlanOptions, g: ReturnType<typeof globals>): Promise<void> {
  const policy = loadCompiledPolicy(opts.policy ?? []);
  const limit = parseDuration(opts.timeLimit);
  if (!limit.ok) throw new AppError('INVALID_INPUT', `--time-limit: ${limit.message}`);
  let inventory: Inventory;
  if (opts.inventory !== undefined) inventory = readInventoryFile(opts.inventory);
  else {
    const opened = await openControlPlane(io, g);
    try {
      inventory = await liveInventory(opened.controlPlane, Date.now());
    } finally {
      await opened.close();
    }
  }
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
  io.setExitCode(0);
}

/** Adds `ballast plan` to `program`. Errors are printed with their code and set the exit code. */
export function registerPlanCommands(program: Command, io: CliIo): void {
  program
    .command('plan')
    .description('Solve placement under the policies and print an ordered, capacity-safe plan of moves')
    .option('--policy <files...>', `policy files or directories (default: ${DEFAULT_POLICY_DIR}/)`)
    .option('--inventory <file>', "an inventory saved by 'ballast inventory save' (default: read the control plane now)")
    .option('--out <file>', 'also write the plan file (JSON) here')
    .addOption(new Option('--format <format>', 'output format (default: table, or json with --json)').choices([...PLAN_FORMATS]))
    .option('--time-limit <duration>', 'hard limit on the solve', '10s')
    .option('--explain <volume>', 'say why a volume (id or name) stays or moves, instead of printing the plan')
    .action(async (opts: PlanOptions, cmd: Command) => {
      const g = globals(cmd);
      try {
        await runPlan(io, opts, g);
      } catch (e) {
        reportError(io, e, g.json === true);
      }
    });
}
