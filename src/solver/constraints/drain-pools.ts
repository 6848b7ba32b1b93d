/**
 * `drainPools`: drained pools are closed as destinations for every volume, and the movable volumes
 * a draining rule covers must leave them. Under a tight budget a drain spans runs: a volume may
 * stay only when the budget is what stops it (a pool with room would take it, the budget left would not).
 *
 * @module
 */
import { matchesGlob } from '../../policy/index.js';
import type { PoolInfo, SolveContext } from '../context.js';
import type { ConstraintPlugin } from '../plugin.js';
import type { Violation } from '../types.js';
import { budgetUse, carriedOver, destinationViolations, poolTotals } from './common.js';

export const name = 'drainPools';

function drained(ctx: SolveContext, pool: PoolInfo): string | null {
  for (const r of ctx.policy.rules) {
    for (const pat of r.constraints.drainPoolPatterns) if (matchesGlob(pat, pool.name)) return `pool ${pool.name} is drained by ${r.name}`;
  }
  return null;
}

function verify(ctx: SolveContext, placement: Int32Array): Violation[] {
  const out = destinationViolations(ctx, placement, name, (_vi, pool) => drained(ctx, pool));
  const totals = poolTotals(ctx, placement);
  const use = budgetUse(ctx, placement);
  for (const it of ctx.items) {
    if (!it.mustLeave || placement[it.vols[0] as number] !== it.cur) continue;
    if (carriedOver(ctx, placement, [it], totals, use)) continue;
    for (const i of it.vols) {
      const vi = ctx.vols[i];
      if (vi?.resolved.mustLeave) {
        out.push({ constraint: name, subject: vi.v.id, message: `volume ${vi.v.name} (${vi.v.id}, ${vi.v.sizeGiB} GiB) stays on drained pool ${vi.v.pool} (${carriedOver(ctx, placement, [it], totals, { moves: 0, gib: 0 }) ? 'the budget allows its move' : 'no pool with room accepts it'})` });
      }
    }
  }
  return out;
}

/** Drained pools. */
export const drainPools: ConstraintPlugin = {
  name,
  signature: () => '',
  allows: (ctx, _vi, pool) => drained(ctx, pool),
  verify,
};
