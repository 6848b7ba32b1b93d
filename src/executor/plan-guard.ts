/**
 * What is checked before a plan runs at all: it has not expired (unless forced), its pools exist
 * in the control plane now, and it is well-formed enough to run (ids unique, dependencies earlier).
 *
 * @module
 */
import { PLAN_SCHEMA, type FleetPool, type Plan } from '../model/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { AppError, formatDuration } from '../shared/index.js';
import { DEFAULT_SETTINGS, limitsFromPolicy, type RunSettings } from './types.js';

/** Refuses (typed errors) a plan that must not run now; returns notes for what is only worth saying. */
export function guardPlan(plan: Plan, pools: readonly FleetPool[], nowMs: number, opts: { readonly force?: boolean } = {}): string[] {
  const notes: string[] = [];
  if (plan.schema !== PLAN_SCHEMA) throw new AppError('PLAN_INVALID', `plan ${plan.id}: schema is '${String(plan.schema)}', expected '${PLAN_SCHEMA}'`);
  const seen = new Set<string>();
  for (const m of plan.moves) {
    if (seen.has(m.id)) throw new AppError('PLAN_INVALID', `plan ${plan.id}: duplicate move id ${m.id}`);
    for (const d of m.dependsOn) if (!seen.has(d)) throw new AppError('PLAN_INVALID', `plan ${plan.id}: move ${m.id} depends on ${d}, which is not an earlier move`);
    seen.add(m.id);
  }
  if (nowMs >= plan.expiresAtMs) {
    const age = `expired ${formatDuration(nowMs - plan.expiresAtMs)} ago (made from inventory ${plan.inventoryId} taken ${formatDuration(nowMs - plan.inventoryTakenAtMs)} ago)`;
    if (!opts.force) throw new AppError('PLAN_EXPIRED', `plan ${plan.id} ${age}; make a new plan, or pass --force to run it anyway (every move is re-checked before it starts)`);
    notes.push(`plan ${age}; running it because of --force`);
  }
  const live = new Set(pools.map((p) => p.name));
  const missing = [...new Set(plan.moves.flatMap((m) => [m.from, m.to]))].filter((p) => !live.has(p)).sort();
  if (missing.length > 0) throw new AppError('PLAN_INVALID', `plan ${plan.id} names pools that do not exist in the control plane: ${missing.join(', ')}`, { details: { missing } });
  // The fleet moved on since the plan's inventory: said plainly (each move is re-checked anyway).
  const byName = new Map(pools.map((p) => [p.name, p]));
  for (const c of plan.pools) {
    const now = byName.get(c.pool)?.allocatedGiB;
    if (now !== undefined && Math.abs(now - c.usedBeforeGiB) > Math.max(1, 0.05 * c.capacityGiB)) {
      notes.push(`pool ${c.pool}: ${now} GiB allocated now, ${c.usedBeforeGiB} GiB in the plan's inventory ${plan.inventoryId}: the fleet changed since; every move is re-checked before it starts`);
    }
  }
  return notes;
}

/** Run settings from a compiled policy (limits, windows, migration options), with overrides. */
export function settingsFromPolicy(policy: CompiledPolicy, overrides: Partial<RunSettings> = {}): RunSettings {
  const e = policy.execution;
  return {
    ...DEFAULT_SETTINGS,
    limits: limitsFromPolicy(e),
    windows: policy.when.maintenanceWindows,
    forceHostCopy: e.forceHostCopy,
    lockVolume: e.lockVolume,
    retypeMigrationPolicy: e.retypeMigrationPolicy,
    moveTimeoutMs: e.moveTimeoutMs,
    ...overrides,
  };
}
