/**
 * `pinnedVolumes`: volumes that stay where they are (they still count for capacity and groups).
 *
 * @module
 */
import type { VolInfo } from '../context.js';
import type { ConstraintPlugin } from '../plugin.js';
import { fixedViolations } from './common.js';

export const name = 'pinnedVolumes';

const why = (vi: VolInfo): string | null => (vi.resolved.pinned ? 'pinned' : null);

/** Pinned volumes. */
export const pinnedVolumes: ConstraintPlugin = {
  name,
  fixes: (_ctx, vi) => why(vi),
  verify: (ctx, placement) => fixedViolations(ctx, placement, name, why),
};
