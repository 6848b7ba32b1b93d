/**
 * `capacity`: the used share of each pool after the plan stays at or below the policy's
 * `maxUtilization` (on Cinder's math: allocated over total less reserved), and what arrives on a
 * pool fits its virtual free capacity as Cinder's CapacityFilter computes it (thin and thick,
 * over-subscription, reserved percentage).
 *
 * @module
 */
import { virtualFreeGiB } from '../../model/index.js';
import type { PoolInfo, SolveContext } from '../context.js';
import type { ConstraintPlugin, PoolLimit } from '../plugin.js';
import { limitViolations, num } from './common.js';

export const name = 'capacity';

function limits(ctx: SolveContext): PoolLimit[] {
  const out: PoolLimit[] = [];
  for (const p of ctx.pools) {
    const pct = p.resolved.maxUtilizationPct;
    if (pct !== null && Number.isFinite(p.baseGiB)) {
      const limit = (pct / 100) * p.baseGiB;
      out.push({
        plugin: name,
        pool: p.idx,
        resource: 'gib',
        limit,
        describe: (a) => `pool ${p.name}: needs ${num(a)} GiB, limit ${num(limit)} GiB (${num(pct)}% of ${num(p.baseGiB)} GiB)`,
      });
    }
    const thin = virtualFreeGiB(p.pool.capacity, true);
    if (thin !== null) out.push(filterLimit(p, 'inGib', thin, 'thin'));
    const thick = virtualFreeGiB(p.pool.capacity, false);
    if (thick !== null && thick < (thin ?? Number.POSITIVE_INFINITY)) out.push(filterLimit(p, 'inThickGib', thick, 'thick'));
  }
  return out;
}

/**
 * What may arrive on a pool by Cinder's filter. A negative virtual free capacity (a pool already
 * over-subscribed) lets nothing arrive, which is a limit of 0, not a violation when nothing does.
 */
function filterLimit(p: PoolInfo, resource: 'inGib' | 'inThickGib', virtualFree: number, kind: string): PoolLimit {
  const limit = Math.max(0, virtualFree);
  return {
    plugin: name,
    pool: p.idx,
    resource,
    limit,
    describe: (a) => `pool ${p.name}: ${num(a)} GiB of ${kind} volumes arrive, capacity filter allows ${num(limit)} GiB (virtual free ${num(virtualFree)} GiB)`,
  };
}

/** Capacity headroom and Cinder's capacity filter. */
export const capacity: ConstraintPlugin = {
  name,
  limits,
  verify: (ctx, placement) => limitViolations(ctx, placement, name),
};
