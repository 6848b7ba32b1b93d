/**
 * The two plugin contracts of the solver: hard constraints and objective terms. Each plugin is one
 * file named for its key in the policy language; a plugin contributes to the model (eligibility,
 * pool limits, groups, rows of the LP), to the independent verifier, and to explanations.
 *
 * @module
 */
import type { Violation } from './types.js';
import type { Aggregates, PoolInfo, SolveContext, VolInfo } from './context.js';
import type { FlowModel } from './lp/flow-model.js';

/** A resource of a pool whose total a constraint caps. */
export type PoolResource =
  /** Net used GiB after the plan. */
  | 'gib'
  /** GiB moved onto the pool (the capacity filter checks each arrival against the pool's free space). */
  | 'inGib'
  /** GiB of thick-provisioned volumes moved onto the pool. */
  | 'inThickGib'
  /** p95 IOPS of the volumes on the pool. */
  | 'iops'
  /** p95 throughput (bytes/s) of the volumes on the pool. */
  | 'tput';

/** A cap on one resource of one pool, set by one constraint plugin. */
export interface PoolLimit {
  readonly plugin: string;
  readonly pool: number;
  readonly resource: PoolResource;
  readonly limit: number;
  /** `pool a@x#p: needs 912 GiB, limit 870 GiB (85% of 1024 GiB)` for a given amount. */
  describe(amount: number): string;
}

/**
 * A hard constraint. Every member is optional except `name` and `verify`: a plugin implements the
 * hooks its rule needs. Hooks are pure and read only the context.
 */
export interface ConstraintPlugin {
  /** The key in the policy language (`capacity`, `drainPools`, …) or a built-in (`compatibility`, `movable`). */
  readonly name: string;
  /** Why the volume may not move at all (it stays), or null. */
  fixes?(ctx: SolveContext, v: VolInfo): string | null;
  /**
   * Destination filter. `signature` groups volumes the filter treats alike (the solver computes
   * one pool mask per signature); `allows` returns why `pool` is closed to `v`, or null.
   */
  signature?(ctx: SolveContext, v: VolInfo): string;
  allows?(ctx: SolveContext, v: VolInfo, pool: PoolInfo): string | null;
  /** Caps on pool resources. */
  limits?(ctx: SolveContext): PoolLimit[];
  /** Rows and columns of the LP this rule adds beyond eligibility and pool limits (budgets). */
  lp?(ctx: SolveContext, model: FlowModel): void;
  /** Independent check of a placement (pool index per volume). Never reads the solver's state. */
  verify(ctx: SolveContext, placement: Int32Array): Violation[];
}

/** A weighted objective term. `value` is the normalized term before weighting. */
export interface ObjectivePlugin {
  /** `balance`, `cost`, `performance`, `moveCost`, or the internal `unmet`. */
  readonly name: string;
  weight(ctx: SolveContext): number;
  /** The normalized value of the term for pool aggregates. */
  value(ctx: SolveContext, agg: Aggregates): number;
  /** Adds the term to the LP (objective coefficients, auxiliary columns and rows). */
  lp(ctx: SolveContext, model: FlowModel): void;
  /** One line on what the term measures, with the value. */
  describe(ctx: SolveContext, value: number): string;
}
