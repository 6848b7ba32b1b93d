/**
 * When no valid placement was found: which constraints conflict (the verifier's findings on the
 * best attempt, with numbers, plus why stranded volumes have nowhere to go) and the closest
 * relaxations that would make the policy feasible.
 *
 * @module
 */
import type { Item, PoolInfo, SolveContext, VolInfo } from './context.js';
import { CONSTRAINTS } from './constraints/registry.js';
import type { Infeasibility, Violation } from './types.js';

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(1));

/** Conflicts and relaxations for the best (still invalid) attempt. */
export function explainInfeasibility(ctx: SolveContext, attempt: Int32Array, violations: readonly Violation[]): Infeasibility {
  const conflicts = violations.map((v) => `[${v.constraint}] ${v.message}`);
  const relaxations = new Set<string>();
  const gib = Float64Array.from(ctx.pools, (p) => p.unmanagedGiB);
  const iops = new Float64Array(ctx.pools.length);
  for (const vi of ctx.vols) {
    const p = attempt[vi.idx] as number;
    if (p < 0) continue;
    gib[p] = (gib[p] as number) + vi.v.sizeGiB;
    iops[p] = (iops[p] as number) + vi.iops;
  }
  for (const v of violations) {
    const pool = ctx.pools[ctx.poolIndex.get(v.subject) ?? -1];
    if (v.constraint === 'capacity' && pool && Number.isFinite(pool.baseGiB)) {
      const need = Math.ceil(((gib[pool.idx] as number) / pool.baseGiB) * 100);
      relaxations.add(`raise capacity.maxUtilization on ${pool.name} to ${need}% (now ${fmt(pool.resolved.maxUtilizationPct ?? 100)}%), or add ${fmt((gib[pool.idx] as number) - ((pool.resolved.maxUtilizationPct ?? 100) / 100) * pool.baseGiB)} GiB of room its volumes may use`);
    } else if (v.constraint === 'performance' && pool && (pool.pool.ratedIops ?? 0) > 0) {
      relaxations.add(`raise performance.maxIopsUtilization on ${pool.name} to ${Math.ceil(((iops[pool.idx] as number) / (pool.pool.ratedIops as number)) * 100)}%`);
    } else if (v.constraint === 'antiAffinity') {
      relaxations.add(`let a member of ${v.subject} move (unpin it or allow in-use moves), or add a ${v.subject.slice(v.subject.lastIndexOf('@') + 1)} its members may use`);
    } else if (v.constraint === 'affinity') {
      relaxations.add(`move the members of ${v.subject} together by hand, or drop the affinity group`);
    } else if (v.constraint === 'budgets') {
      relaxations.add(`raise the budgets: ${v.message}`);
    }
  }
  for (const it of ctx.items) {
    if (!it.mustLeave || attempt[it.vols[0] as number] !== it.cur) continue;
    const vi = ctx.vols[it.vols[0] as number] as VolInfo;
    if (it.eligible.length === 0) {
      conflicts.push(`[drainPools] volume ${vi.v.name} (${vi.v.id}, ${fmt(it.gib)} GiB) must leave ${vi.v.pool} but no pool accepts it: ${closedBy(ctx, vi)}`);
      relaxations.add(`open a destination for volumes of type ${vi.v.volumeType} in zone ${vi.v.availabilityZone} (check excludeDestinations, keepWithinAvailabilityZone, the drained pools)`);
    } else {
      const full = it.eligible.map((p) => blockedBy(ctx, it, p, gib)).filter((x): x is string => x !== null);
      if (full.length > 0) {
        conflicts.push(`[drainPools] volume ${vi.v.name} (${vi.v.id}, ${fmt(it.gib)} GiB) must leave ${vi.v.pool}; every pool it may use is full: ${full.slice(0, 3).join('; ')}${full.length > 3 ? `; and ${full.length - 3} more` : ''}`);
        relaxations.add(`add ${fmt(it.gib)} GiB of room on a pool of zone ${vi.v.availabilityZone} that accepts type ${vi.v.volumeType}, or raise its capacity.maxUtilization`);
      }
    }
  }
  if (relaxations.size === 0 && conflicts.length > 0) relaxations.add('relax the constraints named above');
  return { conflicts, relaxations: [...relaxations].sort() };
}

function closedBy(ctx: SolveContext, vi: VolInfo): string {
  const counts = new Map<string, number>();
  for (const p of ctx.pools) {
    if (p.idx === vi.cur) continue;
    for (const c of CONSTRAINTS) {
      if (!c.allows) continue;
      if (c.allows(ctx, vi, p) !== null) {
        counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
        break;
      }
    }
  }
  return [...counts.entries()].map(([n, k]) => `${k} pools closed by ${n}`).join(', ') || 'no other pool exists';
}

function blockedBy(ctx: SolveContext, it: Item, p: number, gib: Float64Array): string | null {
  for (const l of ctx.limits) {
    if (l.pool !== p || l.resource !== 'gib') continue;
    const after = (gib[p] as number) + it.gib;
    if (after > l.limit) return l.describe(after);
  }
  const pool = ctx.pools[p] as PoolInfo;
  return Number.isFinite(pool.baseGiB) ? null : null;
}
