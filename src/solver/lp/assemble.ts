/**
 * Assembles the LP of a flow model: supply rows, one row per pool limit (with a penalized slack
 * where the current placement already exceeds it), the constraint plugins' rows (budgets) and the
 * objective plugins' terms.
 *
 * @module
 */
import type { Aggregates, SolveContext } from '../context.js';
import { CONSTRAINTS } from '../constraints/registry.js';
import { OBJECTIVES } from '../objectives/registry.js';
import { unmetScale } from '../objectives/common.js';
import { buildFlowModel, type FlowModel, type FlowModelOptions } from './flow-model.js';

/** The complete LP over the flows. */
export function assembleLp(ctx: SolveContext, base: Aggregates, opts: FlowModelOptions, restrictTo?: ReadonlySet<number>): FlowModel {
  const m = buildFlowModel(ctx, base, opts, restrictTo);
  const byClass: [number, number][][] = m.classes.map(() => []);
  m.cols.forEach((col, j) => {
    if (col.kind === 'flow') (byClass[col.cls] as [number, number][]).push([j, 1]);
  });
  for (const c of m.classes) m.addRow(`supply_${c.idx}`, { max: c.gib }, byClass[c.idx] as [number, number][]);
  ctx.limits.forEach((l, k) => {
    const e = m.expr(l.pool, l.resource);
    let most = e.c0;
    for (const [j, v] of e.terms) if (v > 0) most += v * (m.classes[(m.cols[j] as { cls: number }).cls]?.gib ?? 0);
    if (most <= l.limit) return;
    const terms: (readonly [number, number])[] = [...e.terms];
    if (e.c0 > l.limit + 1e-9) terms.push([m.addAux(`slack_${k}`, 0, 'slack', unmetScale(l)), -1]);
    if (terms.length > 0) m.addRow(`lim_${k}`, { max: l.limit - e.c0 }, terms);
  });
  for (const c of CONSTRAINTS) c.lp?.(ctx, m);
  for (const o of OBJECTIVES) {
    const c0 = m.objConst;
    const objs = m.cols.map((c) => c.obj);
    o.lp(ctx, m);
    const coef = new Map<number, number>();
    m.cols.forEach((c, j) => {
      const d = c.obj - (objs[j] ?? 0);
      if (d !== 0) coef.set(j, d);
    });
    m.terms.push({ name: o.name, weight: o.weight(ctx), c0: m.objConst - c0, coef });
  }
  return m;
}

/** Each term's value (unweighted) at an LP point. */
export function lpTermValues(m: FlowModel, x: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of m.terms) {
    let v = t.c0;
    for (const [j, c] of t.coef) v += c * (x[j] as number);
    out[t.name] = t.weight !== 0 ? v / t.weight : 0;
  }
  return out;
}

/** Values of a solved model: one number per column, and its objective with the constant. */
export interface LpSolution {
  readonly x: Float64Array;
  readonly objective: number;
}
