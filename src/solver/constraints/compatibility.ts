/**
 * `compatibility` (built-in): a volume may only move to a pool that is up and whose capabilities
 * satisfy its volume type's extra specs (Cinder's CapabilitiesFilter).
 *
 * @module
 */
import { capabilitiesMatch } from '../../model/index.js';
import type { PoolInfo, VolInfo } from '../context.js';
import type { ConstraintPlugin } from '../plugin.js';
import { destinationViolations } from './common.js';

export const name = 'compatibility';

function allows(vi: VolInfo, pool: PoolInfo): string | null {
  if (pool.pool.state !== 'up') return `pool ${pool.name} is down`;
  const caps = { volume_backend_name: pool.pool.volumeBackendName, ...pool.pool.capabilities };
  const m = capabilitiesMatch(vi.extraSpecs, caps);
  return m.pass ? null : `type ${vi.v.volumeType}: ${m.reason}`;
}

/** Type and capability compatibility of destinations. */
export const compatibility: ConstraintPlugin = {
  name,
  signature: (_ctx, vi) => `${vi.v.volumeTypeId}/${vi.v.volumeType}`,
  allows: (_ctx, vi, pool) => allows(vi, pool),
  verify: (ctx, placement) => destinationViolations(ctx, placement, name, allows),
};
