/**
 * Placement, moves and plans: what the solver decides, what the planner turns it into, what the
 * executor runs. Plain data (JSON-serializable), written to plan files and reviewed in pull requests.
 *
 * @module
 */

export const PLAN_SCHEMA = 'ballast.io/plan/v1' as const;

/** The solver's decision: the destination pool of each volume it may move (volume id → pool). */
export type Placement = Readonly<Record<string, string>>;

/** How a move is carried out (decided by the planner from the inventory and the policy). */
export type MoveKind =
  /** The volume's type changes and its pool already supports the new type: no data moves. */
  | 'retype-in-place'
  /** Same driver family on both sides: the driver moves the data itself (e.g. a rename). */
  | 'driver-assisted'
  /** Host-assisted copy of an available volume (block- or file-based). */
  | 'generic-copy'
  /** Live block copy of an attached (in-use) volume, then the pivot. */
  | 'live-copy';

/** One objective term's value: before the plan, after it, and the LP bound on it. */
export interface ObjectiveTerm {
  /** `balance`, `cost`, `performance`, `moveCost`. */
  readonly name: string;
  readonly weight: number;
  readonly before: number;
  readonly after: number;
}

export interface Move {
  /** Stable within the plan: `m001`, `m002`, … in execution order. */
  readonly id: string;
  readonly volumeId: string;
  readonly volumeName: string;
  readonly sizeGiB: number;
  readonly from: string;
  readonly to: string;
  readonly kind: MoveKind;
  /** Set for a retype: the new volume type name. */
  readonly newVolumeType: string | null;
  readonly attached: boolean;
  /** Why, in words: the rule or objective it serves and by how much. */
  readonly reason: string;
  /** Rule names (`drain-hdd-b`) or objective names (`objective:balance`) the move serves. */
  readonly serves: readonly string[];
  /** Ids of moves that must finish first (they make room on `to`). */
  readonly dependsOn: readonly string[];
}

/** Used capacity of one pool before and after the plan. */
export interface PoolChange {
  readonly pool: string;
  readonly capacityGiB: number;
  readonly usedBeforeGiB: number;
  readonly usedAfterGiB: number;
  /** Highest used share (0–1) at any moment of execution, counting in-flight reservations. */
  readonly peakShare: number;
  /** The policy's limit on this pool (0–1), or null. */
  readonly limitShare: number | null;
}

/** How good the plan is, measured against the LP bound. */
export interface PlanQuality {
  /** Which method produced the placement: `mip`, `lp-round`, `greedy`, `current`. */
  readonly method: string;
  readonly engine: string;
  readonly objectiveBefore: number;
  readonly objectiveAfter: number;
  /** Lower bound on the objective from the LP relaxation; null when none was computed. */
  readonly bound: number | null;
  /** (after - bound) / (before - bound): the share of the achievable improvement left; null without a bound. */
  readonly improvementLeft: number | null;
  readonly terms: readonly ObjectiveTerm[];
  readonly solveMs: number;
  /** True when a time limit cut the search (the plan is still valid). */
  readonly timeLimited: boolean;
}

export interface Plan {
  readonly schema: typeof PLAN_SCHEMA;
  readonly id: string;
  /** The inventory it was made from. */
  readonly inventoryId: string;
  readonly inventoryTakenAtMs: number;
  readonly createdAtMs: number;
  /** After this, the executor refuses the plan (policy `execution.planValidFor`). */
  readonly expiresAtMs: number;
  /** Policy rule names in force, sorted. */
  readonly policies: readonly string[];
  /** sha256 of the compiled policy, so a plan can be matched to its policy. */
  readonly policyDigest: string;
  readonly moves: readonly Move[];
  readonly pools: readonly PoolChange[];
  readonly quality: PlanQuality;
  /** Totals. */
  readonly totals: { readonly moves: number; readonly bytes: number; readonly costPerMonthBefore: number; readonly costPerMonthAfter: number };
  /** Plain-language notes: volumes that had to stay, budgets that bound, the min-gain decision. */
  readonly notes: readonly string[];
}
