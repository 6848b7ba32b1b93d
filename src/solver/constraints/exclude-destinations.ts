/**
 * `excludeDestinations`: pools the rules covering a volume close to it (volumes already there may
 * stay).
 *
 * @module
 */
import { matchesGlob } from '../../policy/index.js';
import type { PoolInfo, VolInfo } from '../context.js';
import type { ConstraintPlugin } from '../plugin.js';
import { destinationViolations } from './common.js';

export const name = 'excludeDestinations';

function allows(vi: VolInfo, pool: PoolInfo): string | null {
  const hit = vi.resolved.forbiddenDestinationPatterns.find((p) => matchesGlob(p, pool.name));
  return hit === undefined ? null : `pool ${pool.name} is an excluded destination (${hit})`;
}

/** Excluded destinations. */
export const excludeDestinations: ConstraintPlugin = {
  name,
  signature: (_ctx, vi) => vi.resolved.forbiddenDestinationPatterns.join('\u0002'),
  allows: (_ctx, vi, pool) => allows(vi, pool),
  verify: (ctx, placement) => destinationViolations(ctx, placement, name, allows),
};
