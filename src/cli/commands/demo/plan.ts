/**
 * Demo step: the repository's policy files, copied into the demo directory, compiled; the
 * placement solved on the inventory; the plan made, written as a plan file, read back the way
 * `ballast apply` reads it, and printed as the table rendering.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Inventory, Plan } from '../../../model/index.js';
import { makePlan, readPlanFile, renderPlan, renderPlanJson } from '../../../planner/index.js';
import type { CompiledPolicy } from '../../../policy/index.js';
import { AppError } from '../../../shared/index.js';
import { solvePlacement } from '../../../solver/index.js';
import { loadCompiledPolicy } from '../plan.js';
import { sha256, type DemoContext } from './context.js';

/** The policy files of the repository the demo plans with (all four of `policies/`). */
export const DEMO_POLICIES = ['default-balance.yaml', 'drain-hdd-b.yaml', 'gold-latency.yaml', 'cost-tiering.yaml'] as const;

/** The repository's `policies/` folder, found upwards from this file (src/ or dist/src/). */
function repoPolicyDir(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(d, 'policies');
    if (existsSync(join(candidate, DEMO_POLICIES[0])) && existsSync(join(d, 'package.json'))) return candidate;
    const up = dirname(d);
    if (up === d) throw new AppError('INVALID_INPUT', `cannot find the repository's policies/ folder above ${fileURLToPath(import.meta.url)}`);
    d = up;
  }
}

/** The compiled demo policy, the folder it was read from, and where its files were copied from. */
export interface DemoPolicy {
  readonly policy: CompiledPolicy;
  readonly folder: string;
  readonly copiedFrom: string;
}

/** Copies the policy files into `<dir>/policies` and compiles them (as `ballast plan --policy <dir>/policies`). */
export async function demoPolicies(ctx: DemoContext): Promise<DemoPolicy> {
  const copiedFrom = repoPolicyDir();
  const folder = join(ctx.dir, 'policies');
  await mkdir(folder, { recursive: true });
  for (const f of DEMO_POLICIES) await copyFile(join(copiedFrom, f), join(folder, f));
  return { policy: loadCompiledPolicy([folder]), folder, copiedFrom };
}

/** Says which policies are in force and what each asks for. */
export function describePolicies(ctx: DemoContext, p: DemoPolicy): void {
  ctx.say(`Policies in ${p.folder} (copied from ${p.copiedFrom}):`);
  ctx.say('  default-balance: every pool at most 85%, used capacity balanced, a move must pay for the data it copies, attached volumes stay');
  ctx.say('  gold-latency:    gold pools at most 75%, replicas of one app never share a pool, pg-primary-* pinned, attached gold volumes may move');
  ctx.say('  drain-hdd-b:     empty ballast@capacity#hdd-b, attached volumes included (a live copy)');
  ctx.say('  cost-tiering:    cold volumes never on SSD, pools priced');
}

/**
 * Solves, makes the plan (id and digest as `ballast plan` makes them), writes `<dir>/plan.json`,
 * reads it back through the plan-file checks, prints the table, and returns the plan read back.
 */
export async function planMoves(ctx: DemoContext, inventory: Inventory, policy: CompiledPolicy): Promise<Plan> {
  const result = await solvePlacement(inventory, policy, { timeLimitMs: 10_000, now: () => performance.now() });
  if (result.infeasibility) {
    throw new AppError('PLAN_REFUSED', `the policies cannot all be met: ${result.infeasibility.conflicts.join('; ')}`, { details: { ...result.infeasibility } });
  }
  const nowMs = Date.now();
  const policyDigest = `sha256:${sha256(JSON.stringify(policy))}`;
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const planId = `plan-${stamp}-${sha256(`${inventory.id}\n${policyDigest}`).slice(0, 8)}`;
  const made = makePlan(inventory, policy, result, { planId, nowMs, policyDigest });
  const file = join(ctx.dir, 'plan.json');
  const text = renderPlanJson(made);
  await writeFile(file, text);
  const plan = readPlanFile(file, text);
  ctx.say(renderPlan(plan, 'table').trimEnd());
  ctx.say(`Plan file: ${file}`);
  if (plan.moves.length === 0) throw new AppError('DEMO_CHECK_FAILED', `the plan has no moves: ${plan.notes.join('; ')}`);
  return plan;
}
