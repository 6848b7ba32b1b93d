/**
 * `allowInUse`: attached volumes move (by live copy) only where a rule allows it.
 *
 * @module
 */
import type { VolInfo } from '../context.js';
import type { ConstraintPlugin } from '../plugin.js';
import { fixedViolations } from './common.js';

export const name = 'allowInUse';

const why = (vi: VolInfo): string | null => (vi.v.attached && !vi.resolved.allowInUse ? 'in-use not allowed' : null);

/** In-use volumes. */
export const allowInUse: ConstraintPlugin = {
  name,
  fixes: (_ctx, vi) => why(vi),
  verify: (ctx, placement) => fixedViolations(ctx, placement, name, why),
};
