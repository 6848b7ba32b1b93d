/**
 * `movable` (built-in): Cinder's rules on which volumes can migrate at all. Volumes with
 * snapshots, in a group, replicated, already migrating, or in a status other than `available` /
 * `in-use` stay where they are.
 *
 * @module
 */
import { isMigrating } from '../../model/index.js';
import type { VolInfo } from '../context.js';
import type { ConstraintPlugin } from '../plugin.js';
import { fixedViolations } from './common.js';

export const name = 'movable';

function why(vi: VolInfo): string | null {
  const v = vi.v;
  if (v.snapshotCount > 0) return `has snapshots (${v.snapshotCount})`;
  if (v.groupId !== null) return `in a group (${v.groupId})`;
  if (v.replicated) return 'replicated';
  if (isMigrating(v.migrationStatus)) return `migrating (${String(v.migrationStatus)})`;
  if (v.status !== 'available' && v.status !== 'in-use') return `status ${v.status}`;
  return null;
}

/** Volumes Cinder would refuse to migrate are fixed. */
export const movable: ConstraintPlugin = {
  name,
  fixes: (_ctx, vi) => why(vi),
  verify: (ctx, placement) => fixedViolations(ctx, placement, name, why),
};
