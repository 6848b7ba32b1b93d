/**
 * `keepWithinAvailabilityZone`: a volume covered by it only moves to pools of its own zone.
 *
 * @module
 */
import type { PoolInfo, VolInfo } from '../context.js';
import type { ConstraintPlugin } from '../plugin.js';
import { destinationViolations } from './common.js';

export const name = 'keepWithinAvailabilityZone';

function allows(vi: VolInfo, pool: PoolInfo): string | null {
  if (!vi.resolved.keepWithinAvailabilityZone || pool.az === vi.v.availabilityZone) return null;
  return `pool ${pool.name} is in zone ${pool.az}, the volume in ${vi.v.availabilityZone}`;
}

/** Zone confinement. */
export const keepWithinAvailabilityZone: ConstraintPlugin = {
  name,
  signature: (_ctx, vi) => (vi.resolved.keepWithinAvailabilityZone ? vi.v.availabilityZone : '*'),
  allows: (_ctx, vi, pool) => allows(vi, pool),
  verify: (ctx, placement) => destinationViolations(ctx, placement, name, allows),
};
