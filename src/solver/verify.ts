/**
 * The independent verifier: every constraint plugin's `verify` over a placement, recomputed from
 * the inventory and the resolved policy. It never reads the solver's model or state.
 *
 * @module
 */
import type { Inventory, Placement } from '../model/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { buildContext, type SolveContext } from './context.js';
import { CONSTRAINTS } from './constraints/registry.js';
import type { Violation } from './types.js';

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Violations of a placement given as pool indices, sorted. */
export function verifyIndices(ctx: SolveContext, placement: Int32Array): Violation[] {
  return CONSTRAINTS.flatMap((c) => c.verify(ctx, placement)).sort(
    (a, b) => cmp(a.constraint, b.constraint) || cmp(a.subject, b.subject) || cmp(a.message, b.message),
  );
}

/** A placement (volume id → pool name; absent volumes stay) as pool indices; unknown pools → violations. */
export function toIndices(ctx: SolveContext, placement: Placement): { indices: Int32Array; unknown: Violation[] } {
  const indices = ctx.current.slice();
  const unknown: Violation[] = [];
  for (const vi of ctx.vols) {
    const name = placement[vi.v.id];
    if (name === undefined || name === vi.v.pool) continue;
    const p = ctx.poolIndex.get(name);
    if (p === undefined) unknown.push({ constraint: 'compatibility', subject: vi.v.id, message: `volume ${vi.v.name} (${vi.v.id}) → ${name}: no such pool in the inventory` });
    else indices[vi.idx] = p;
  }
  return { indices, unknown };
}

/**
 * Checks every hard constraint of the policy on a placement: compatibility, capacity (headroom
 * and Cinder's capacity filter), IOPS/throughput headroom, drained and excluded pools, pinned,
 * excluded and in-use volumes, zones, anti-affinity and affinity groups, budgets. Empty = valid.
 */
export function verifyPlacement(inventory: Inventory, policy: CompiledPolicy, placement: Placement): Violation[] {
  const ctx = buildContext(inventory, policy);
  const { indices, unknown } = toIndices(ctx, placement);
  return [...unknown, ...verifyIndices(ctx, indices)];
}
