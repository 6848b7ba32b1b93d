/**
 * `excludedVolumes`: volumes left out of planning (only their used capacity counts).
 *
 * @module
 */
import type { VolInfo } from '../context.js';
import type { ConstraintPlugin } from '../plugin.js';
import { fixedViolations } from './common.js';

export const name = 'excludedVolumes';

const why = (vi: VolInfo): string | null => (vi.resolved.excluded ? 'excluded' : null);

/** Excluded volumes. */
export const excludedVolumes: ConstraintPlugin = {
  name,
  fixes: (_ctx, vi) => why(vi),
  verify: (ctx, placement) => fixedViolations(ctx, placement, name, why),
};
