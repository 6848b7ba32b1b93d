/**
 * `unmet` (internal): how far the placement is from meeting the rules a budget can postpone: GiB
 * still on drained pools, and excess over pool limits that were already exceeded (GiB, or percent
 * of the limit for IOPS and throughput). Its weight exceeds any gain, so every plan meets as much
 * as the budget allows; it is 0 for any placement that meets every rule.
 *
 * @module
 */
import type { Aggregates, SolveContext } from '../context.js';
import type { FlowClass, FlowModel } from '../lp/flow-model.js';
import type { ObjectivePlugin } from '../plugin.js';
import { unmetScale, unmetWeight } from './common.js';

export const name = 'unmet';

function value(ctx: SolveContext, agg: Aggregates): number {
  let s = agg.mustLeaveGiB;
  for (const l of ctx.limits) {
    const a = (agg[l.resource] as Float64Array)[l.pool] as number;
    if (a > l.limit) s += (a - l.limit) * unmetScale(l);
  }
  return s;
}

function lp(ctx: SolveContext, m: FlowModel): void {
  const W = unmetWeight(ctx);
  m.objConst += W * m.base.mustLeaveGiB;
  m.cols.forEach((c, j) => {
    if (c.kind === 'flow' && (m.classes[c.cls] as FlowClass).mustLeave) m.addObj(j, -W);
    if (c.kind === 'slack') m.addObj(j, W * c.scale);
  });
}

/** The unmet-rules term. */
export const unmet: ObjectivePlugin = {
  name,
  weight: unmetWeight,
  value,
  lp,
  describe: (_ctx, v) => (v > 0 ? `rules not yet met: ${v.toFixed(1)} units (GiB on drained or over-full pools)` : 'every rule met'),
};
