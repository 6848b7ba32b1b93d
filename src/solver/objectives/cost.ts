/**
 * `cost`: the monthly storage cost (GiB × pool price), over the current placement's cost (1.0 =
 * as today). Prices: the inventory's, else the policy's first matching pricing entry, else its
 * default.
 *
 * @module
 */
import type { Col, FlowClass, FlowModel } from '../lp/flow-model.js';
import type { PoolInfo, SolveContext } from '../context.js';
import type { ObjectivePlugin } from '../plugin.js';
import { costNorm } from './common.js';

export const name = 'cost';

/** Monthly cost under pool totals. */
export function monthlyCost(ctx: SolveContext, gib: Float64Array): number {
  let s = 0;
  for (const p of ctx.pools) s += p.price * (gib[p.idx] as number);
  return s;
}

function lp(ctx: SolveContext, m: FlowModel): void {
  const w = ctx.policy.objectives.cost.weight;
  if (w <= 0) return;
  const n = costNorm(ctx);
  m.objConst += (w * monthlyCost(ctx, m.base.gib)) / n;
  m.cols.forEach((c: Col, j) => {
    if (c.kind !== 'flow') return;
    const from = (m.classes[c.cls] as FlowClass).cur;
    m.addObj(j, (w * ((ctx.pools[c.pool] as PoolInfo).price - (ctx.pools[from] as PoolInfo).price)) / n);
  });
}

/** The cost term. */
export const cost: ObjectivePlugin = {
  name,
  weight: (ctx) => ctx.policy.objectives.cost.weight,
  value: (ctx, agg) => monthlyCost(ctx, agg.gib) / costNorm(ctx),
  lp,
  describe: (ctx, v) => `monthly cost ${(v * costNorm(ctx)).toFixed(2)} (${(v * 100).toFixed(1)}% of today's)`,
};
