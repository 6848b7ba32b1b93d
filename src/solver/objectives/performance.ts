/**
 * `performance`: headroom. `iops`: the busiest pool's p95 IOPS over its rated IOPS; `latencyP95`:
 * the share of the fleet's p95 IOPS served by pools whose p95 latency exceeds the target, weighted
 * by how far (latency / target − 1). The term is the mean of the chosen metrics.
 *
 * @module
 */
import type { Aggregates, SolveContext } from '../context.js';
import type { FlowClass, FlowModel } from '../lp/flow-model.js';
import type { ObjectivePlugin } from '../plugin.js';
import { latencyExcess, loadShare, totalIops } from './common.js';

export const name = 'performance';

function value(ctx: SolveContext, agg: Aggregates): number {
  const metrics = ctx.policy.objectives.performance.metrics;
  let sum = 0;
  if (metrics.includes('iops')) {
    let max = 0;
    for (const p of ctx.pools) {
      const s = loadShare(p, agg.iops[p.idx] as number);
      if (!Number.isNaN(s) && s > max) max = s;
    }
    sum += max;
  }
  if (metrics.includes('latencyP95')) {
    let s = 0;
    for (const p of ctx.pools) s += latencyExcess(ctx, p) * (agg.iops[p.idx] as number);
    sum += s / totalIops(ctx);
  }
  return metrics.length > 0 ? sum / metrics.length : 0;
}

function lp(ctx: SolveContext, m: FlowModel): void {
  const o = ctx.policy.objectives.performance;
  if (o.weight <= 0 || o.metrics.length === 0) return;
  const w = o.weight / o.metrics.length;
  if (o.metrics.includes('iops')) {
    const V = m.addAux('V', w);
    let hi = Number.NEGATIVE_INFINITY;
    for (const p of ctx.pools) {
      const r = p.pool.ratedIops;
      if (r === null || r <= 0) continue;
      if (m.scope && !m.scope.has(p.idx)) continue;
      const e = m.expr(p.idx, 'iops');
      if (e.terms.length === 0) {
        hi = Math.max(hi, e.c0 / r);
        continue;
      }
      m.addRow(`perf_${p.idx}`, { max: -e.c0 / r }, [...e.terms.map(([j, v]) => [j, v / r] as const), [V, -1]]);
    }
    if (hi > Number.NEGATIVE_INFINITY) m.addRow('perf_const', { max: -hi }, [[V, -1]]);
  }
  if (o.metrics.includes('latencyP95')) {
    const t = totalIops(ctx);
    for (const p of ctx.pools) m.objConst += (w * latencyExcess(ctx, p) * (m.base.iops[p.idx] as number)) / t;
    m.cols.forEach((c, j) => {
      if (c.kind !== 'flow') return;
      const cl = m.classes[c.cls] as FlowClass;
      const to = latencyExcess(ctx, ctx.pools[c.pool]!) * cl.iopsIn;
      const from = latencyExcess(ctx, ctx.pools[cl.cur]!) * cl.iopsOut;
      m.addObj(j, (w * (to - from)) / t);
    });
  }
}

/** The performance-headroom term. */
export const performance: ObjectivePlugin = {
  name,
  weight: (ctx) => ctx.policy.objectives.performance.weight,
  value,
  lp,
  describe: (_ctx, v) => `performance pressure ${(v * 100).toFixed(1)}%`,
};
