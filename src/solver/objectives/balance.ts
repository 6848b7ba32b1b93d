/**
 * `balance`: the fullest pool's utilization (`max`) or the gap between the fullest and the
 * emptiest (`spread`), by used capacity, by load (p95 IOPS over rated IOPS) or both. In the LP:
 * U ≥ share of every pool (and L ≤ it for `spread`).
 *
 * @module
 */
import type { PoolInfo, SolveContext } from '../context.js';
import type { FlowModel } from '../lp/flow-model.js';
import type { ObjectivePlugin } from '../plugin.js';
import { balanceKinds, shareRange } from './common.js';

export const name = 'balance';

function lp(ctx: SolveContext, m: FlowModel): void {
  const w = ctx.policy.objectives.balance.weight;
  if (w <= 0) return;
  const spread = ctx.policy.objectives.balance.metric === 'spread';
  const U = m.addAux('U', w);
  const L = spread ? m.addAux('L', -w) : -1;
  // pools no flow touches give constant rows: one row each for their highest and lowest share
  let hi = Number.NEGATIVE_INFINITY;
  let lo = Number.POSITIVE_INFINITY;
  for (const kind of balanceKinds(ctx)) {
    for (const p of ctx.pools) {
      const denom = kind === 'cap' ? p.baseGiB : (p.pool.ratedIops ?? 0);
      if (!Number.isFinite(denom) || denom <= 0) continue;
      if (m.scope && !m.scope.has(p.idx)) continue;
      const e = m.expr(p.idx, kind === 'cap' ? 'gib' : 'iops');
      if (e.terms.length === 0) {
        hi = Math.max(hi, e.c0 / denom);
        lo = Math.min(lo, e.c0 / denom);
        continue;
      }
      const scaled = e.terms.map(([j, v]) => [j, v / denom] as const);
      m.addRow(`bal_u_${kind}_${p.idx}`, { max: -e.c0 / denom }, [...scaled, [U, -1]]);
      if (spread) m.addRow(`bal_l_${kind}_${p.idx}`, { max: e.c0 / denom }, [...scaled.map(([j, v]) => [j, -v] as const), [L, 1]]);
    }
  }
  if (hi > Number.NEGATIVE_INFINITY) m.addRow('bal_u_const', { max: -hi }, [[U, -1]]);
  if (spread && lo < Number.POSITIVE_INFINITY) m.addRow('bal_l_const', { max: lo }, [[L, 1]]);
}

/** The balance term. */
export const balance: ObjectivePlugin = {
  name,
  weight: (ctx) => ctx.policy.objectives.balance.weight,
  value: (ctx, agg) => {
    const r = shareRange(ctx, agg, balanceKinds(ctx));
    return ctx.policy.objectives.balance.metric === 'spread' ? r.max - r.min : r.max;
  },
  lp,
  describe: (ctx, v) =>
    `${ctx.policy.objectives.balance.metric === 'spread' ? 'utilization spread' : 'fullest pool'} by ${ctx.policy.objectives.balance.by}: ${(v * 100).toFixed(1)}%`,
};

/** Pools with a capacity share, for callers that report per-pool utilization. */
export function poolsWithShare(ctx: SolveContext): PoolInfo[] {
  return ctx.pools.filter((p) => Number.isFinite(p.baseGiB) && p.baseGiB > 0);
}
