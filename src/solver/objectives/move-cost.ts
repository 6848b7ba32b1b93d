/**
 * `moveCost`: GiB moved, weighted by the policy's penalty per GiB (the hysteresis knob: a move
 * must earn more than it costs).
 *
 * @module
 */
import type { ObjectivePlugin } from '../plugin.js';

export const name = 'moveCost';

/** The move-cost term. */
export const moveCost: ObjectivePlugin = {
  name,
  weight: (ctx) => ctx.policy.objectives.moveCostPerGiB,
  value: (_ctx, agg) => agg.movedGiB,
  lp: (ctx, m) => {
    const w = ctx.policy.objectives.moveCostPerGiB;
    m.cols.forEach((c, j) => {
      if (c.kind === 'flow') m.addObj(j, w);
    });
  },
  describe: (_ctx, v) => `${v.toFixed(1)} GiB moved`,
};
