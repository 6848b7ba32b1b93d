/**
 * The solver's contract with its callers (the planner, the CLI, the simulator, the bench). Kept in
 * its own file so the planner can be written against it while the solver grows.
 *
 * @module
 */
import type { Placement, PlanQuality } from '../model/index.js';

export type SolverEngine = 'jslp' | 'highs';

export interface SolveOptions {
  /**
   * Hard limit on the whole solve (model build, LP, rounding, repair, polish); default 10 000 ms. A
   * safety net only: every stage's work is bounded by counts (nodes, evaluations), so the plan does
   * not depend on speed; when this limit skips or stops a stage, `quality.timeLimited` is true and a
   * note names the stage.
   */
  readonly timeLimitMs?: number;
  /** LP engine; default `jslp` (javascript-lp-solver). */
  readonly engine?: SolverEngine;
  /** Milliseconds from an arbitrary origin, for time limits and `solveMs` (injected: the solver reads no clock). */
  readonly now?: () => number;
  /** Volume ids forced to be left where they are for this solve (e.g. `plan --explain` what-ifs). */
  readonly freeze?: readonly string[];
  /**
   * Engine for the LP bound when the default engine cannot produce it at this size (`highs`), for
   * benches and reports; none by default.
   */
  readonly boundEngine?: SolverEngine;
}

/** What the LP stage did (sizes, engine, the relaxation's value of each term). */
export interface LpReport {
  readonly engine: string;
  readonly columns: number;
  readonly rows: number;
  readonly classes: number;
  /** True when destinations or classes were pruned (the LP optimum is then not a bound). */
  readonly pruned: boolean;
  /** Each term's (unweighted) value at the LP optimum of the bound model; null without a bound. */
  readonly terms: Readonly<Record<string, number>> | null;
}

/** A hard constraint broken by a placement, found by the independent verifier. */
export interface Violation {
  /** The constraint plugin's name, as in the policy language: `capacity`, `drainPools`, `antiAffinity`, … */
  readonly constraint: string;
  /** The pool or volume concerned. */
  readonly subject: string;
  /** With numbers: `pool a@x#p: needs 912 GiB, limit 870 GiB (85% of 1024 GiB)`. */
  readonly message: string;
}

/** Why a volume cannot be moved at all (it stays, whatever the objective says). */
export interface FixedVolume {
  readonly volumeId: string;
  /** `pinned`, `excluded`, `in-use not allowed`, `has snapshots`, `in a group`, `replicated`, `migrating`, `status error`, … */
  readonly reason: string;
}

/** Why a moved volume moves: what it serves and by how much. */
export interface MoveReason {
  /** Rule names or `objective:<term>`. */
  readonly serves: readonly string[];
  /** In words, with numbers. */
  readonly reason: string;
}

/** When no valid placement exists: which constraints conflict, and the closest relaxation. */
export interface Infeasibility {
  /** Each with numbers, e.g. `pool a@x#p: needs 912 GiB, limit 870 GiB (85% of 1024 GiB)`. */
  readonly conflicts: readonly string[];
  /** The closest feasible relaxation, in words (e.g. `raise maxUtilization on a@x#p to 90%`). */
  readonly relaxations: readonly string[];
}

export interface SolveResult {
  /** The pool of every volume in the inventory after the plan (unchanged ones included). */
  readonly placement: Placement;
  /** Objective by term, bound, gap, method, engine, time. */
  readonly quality: PlanQuality;
  /** The verifier's verdict on `placement`; a result with violations is never turned into a plan. */
  readonly violations: readonly Violation[];
  /** Volumes that could not move, with why. */
  readonly fixed: readonly FixedVolume[];
  /** For each volume whose pool changes. */
  readonly reasons: Readonly<Record<string, MoveReason>>;
  /** Set when the policy cannot be met; `placement` is then the current placement. */
  readonly infeasibility: Infeasibility | null;
  /** Plain-language notes (budget bound, min-gain decision, time limit hit, greedy kept). */
  readonly notes: readonly string[];
  /** Every candidate the solver produced, by method: objective, GiB moved, violations (added field). */
  readonly candidates?: Readonly<Record<string, { readonly objective: number; readonly movedGiB: number; readonly violations: number }>>;
  /** The LP stage (added field); null when no LP ran. */
  readonly lp?: LpReport | null;
}
