/**
 * The objective registry: every term, by its name in the policy language (plus the internal
 * `unmet`). The weighted sum of their values is the objective the solver minimizes.
 *
 * @module
 */
import type { Aggregates, SolveContext } from '../context.js';
import type { ObjectivePlugin } from '../plugin.js';
import { balance } from './balance.js';
import { cost } from './cost.js';
import { moveCost } from './move-cost.js';
import { performance } from './performance.js';
import { unmet } from './unmet.js';

/** All objective plugins, in report order. */
export const OBJECTIVES: readonly ObjectivePlugin[] = [balance, cost, performance, moveCost, unmet];

/** Weighted total of the terms. */
export function weightedTotal(ctx: SolveContext, agg: Aggregates): number {
  let s = 0;
  for (const o of OBJECTIVES) {
    const w = o.weight(ctx);
    if (w !== 0) s += w * o.value(ctx, agg);
  }
  return s;
}
