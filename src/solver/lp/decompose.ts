/**
 * Decomposition of a fleet too big for one dense javascript-lp-solver tableau: its independent
 * parts (connected components of pool ↔ eligible destination; with `keepWithinAvailabilityZone`,
 * the zones), one pruned flow LP each.
 *
 * @module
 */
import { aggregatesOf, type SolveContext } from '../context.js';
import { assembleLp } from './assemble.js';
import type { FlowModel } from './flow-model.js';

/** Largest dense tableau (cells) given to javascript-lp-solver. */
export const JSLP_MAX_CELLS = 3_000_000;

/** Candidate pruning for big instances: fewer destinations per class, classes that can gain only. */
export function prunedModels(ctx: SolveContext, base: ReturnType<typeof aggregatesOf>, scoped = true): FlowModel[] {
  return components(ctx).map((items) => {
    const wide = assembleLp(ctx, base, { maxDests: Number.POSITIVE_INFINITY, sizeBuckets: false, pruneSources: true, scoped }, items);
    if (wide.denseCells() <= JSLP_MAX_CELLS) return wide;
    // columns ≈ classes × k, rows ≈ the wide model's: pick k so the dense tableau fits
    const k = Math.max(1, Math.floor(JSLP_MAX_CELLS / ((wide.rows.length + 1) * Math.max(1, wide.classes.length))));
    return assembleLp(ctx, base, { maxDests: k, sizeBuckets: false, pruneSources: true, scoped }, items);
  });
}

/** Independent parts of the fleet: items grouped by the connected components of pool ↔ destination. */
function components(ctx: SolveContext): Set<number>[] {
  const parent = Int32Array.from(ctx.pools, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i] as number] as number;
    return i;
  };
  for (const it of ctx.items) for (const p of it.eligible) parent[find(p)] = find(it.cur);
  const byRoot = new Map<number, Set<number>>();
  for (const it of ctx.items) {
    if (it.eligible.length === 0) continue;
    const r = find(it.cur);
    const set = byRoot.get(r) ?? new Set<number>();
    set.add(it.idx);
    byRoot.set(r, set);
  }
  return [...byRoot.entries()].sort((a, b) => a[0] - b[0]).map(([, set]) => set);
}
