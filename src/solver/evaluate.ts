/**
 * The objective of a placement, term by term, recomputed from scratch with the objective plugins
 * (the numbers `PlanQuality.terms` reports).
 *
 * @module
 */
import type { Inventory, ObjectiveTerm, Placement } from '../model/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { aggregatesOf, buildContext, type SolveContext } from './context.js';
import { OBJECTIVES } from './objectives/registry.js';
import { toIndices } from './verify.js';

export interface Evaluation {
  /** Weighted sum after the plan. */
  readonly total: number;
  /** Weighted sum of the current placement. */
  readonly totalBefore: number;
  /** Each term's normalized value before and after (weight applied by the caller). */
  readonly terms: readonly ObjectiveTerm[];
}

/** Evaluates a placement given as pool indices. */
export function evaluateIndices(ctx: SolveContext, placement: Int32Array): Evaluation {
  const after = aggregatesOf(ctx, placement);
  const before = aggregatesOf(ctx, ctx.current);
  let total = 0;
  let totalBefore = 0;
  const terms = OBJECTIVES.map((o) => {
    const weight = o.weight(ctx);
    const t = { name: o.name, weight, before: o.value(ctx, before), after: o.value(ctx, after) };
    total += weight * t.after;
    totalBefore += weight * t.before;
    return t;
  });
  return { total, totalBefore, terms };
}

/** The objective of a placement (volume id → pool name; absent volumes stay), by term. */
export function evaluatePlacement(inventory: Inventory, policy: CompiledPolicy, placement: Placement): Evaluation {
  const ctx = buildContext(inventory, policy);
  return evaluateIndices(ctx, toIndices(ctx, placement).indices);
}
