/**
 * The constraint registry: every hard constraint, by its name in the policy language. The order
 * is the order of `fixes` (the first reason a volume stays is the one reported).
 *
 * @module
 */
import type { ConstraintPlugin } from '../plugin.js';
import { affinity } from './affinity.js';
import { allowInUse } from './allow-in-use.js';
import { antiAffinity } from './anti-affinity.js';
import { budgets } from './budgets.js';
import { capacity } from './capacity.js';
import { compatibility } from './compatibility.js';
import { drainPools } from './drain-pools.js';
import { excludeDestinations } from './exclude-destinations.js';
import { excludedVolumes } from './excluded-volumes.js';
import { keepWithinAvailabilityZone } from './keep-within-availability-zone.js';
import { movable } from './movable.js';
import { performance } from './performance.js';
import { pinnedVolumes } from './pinned-volumes.js';

/** All constraint plugins, in evaluation order. */
export const CONSTRAINTS: readonly ConstraintPlugin[] = [
  excludedVolumes,
  movable,
  pinnedVolumes,
  allowInUse,
  compatibility,
  drainPools,
  excludeDestinations,
  keepWithinAvailabilityZone,
  affinity,
  capacity,
  performance,
  antiAffinity,
  budgets,
];

/** A constraint plugin by name. */
export const CONSTRAINT_BY_NAME: ReadonlyMap<string, ConstraintPlugin> = new Map(CONSTRAINTS.map((c) => [c.name, c]));
