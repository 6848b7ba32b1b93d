/**
 * What a simulation produces: a timeline sampled at regular times, the runs of the optimizer, every
 * move, the events and the constraint violations. Plain data (the JSON output); the text and HTML
 * reports are rendered from it.
 *
 * @module
 */
import type { MoveKind } from '../model/index.js';

export const SIMULATION_RESULT_SCHEMA = 'ballast.io/simulation/v1' as const;

/** One pool over the simulation. Arrays are aligned with {@link SimulationResult.sampleTimesMs}. */
export interface PoolSeries {
  readonly name: string;
  readonly backend: string;
  /** Usable capacity (total less reserved), GiB; at the end of the simulation (or when removed). */
  readonly usableGiB: number;
  /** The policy's limit on the pool at the end (0–1), or null. */
  readonly limitShare: number | null;
  /** Used share (0–1) at each sample, reservations of moves in flight included; null when the pool did not exist. */
  readonly share: readonly (number | null)[];
  readonly startShare: number | null;
  readonly peakShare: number;
  readonly finalShare: number | null;
  /** Growth at the end of the simulation (GiB/day, over the last 30 days). */
  readonly growthGiBPerDay: number;
  /** Days until the pool is full at that growth; null when it does not grow (or no longer exists). */
  readonly daysToFull: number | null;
  readonly state: 'up' | 'down' | 'removed';
}

/** One move the simulated control plane ran. */
export interface SimulatedMove {
  /** Index of the rebalancing run (0-based). */
  readonly run: number;
  readonly volume: string;
  readonly sizeGiB: number;
  readonly from: string;
  readonly to: string;
  readonly kind: MoveKind;
  /** Offsets from the start, ms. */
  readonly startMs: number;
  readonly endMs: number | null;
  readonly outcome: 'success' | 'error' | 'cancelled' | 'running';
  readonly error: string | null;
}

/** One run of solve → plan → execute. */
export interface RebalanceRun {
  readonly index: number;
  /** Offset from the start, ms. */
  readonly atMs: number;
  readonly planId: string | null;
  readonly plannedMoves: number;
  readonly plannedGiB: number;
  readonly done: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly skipped: number;
  readonly movedGiB: number;
  /** From the first move's start to the last move's end, ms. */
  readonly makespanMs: number;
  readonly costPerMonthBefore: number;
  readonly costPerMonthAfter: number;
  /** Why no plan, solver notes, executor notes. */
  readonly notes: readonly string[];
}

/** A scenario event as it happened. */
export interface EventRecord {
  readonly atMs: number;
  readonly label: string;
  readonly origin: string;
  /** What it did, with numbers (volumes affected, GiB). */
  readonly detail: string;
}

/** A hard limit broken over a stretch of the simulation, or a loss. */
export interface ViolationRecord {
  /** `maxUtilization`, `poolRemovedWithVolumes`, `poolFailed`, `growthRefused`, `solver`. */
  readonly kind: string;
  readonly subject: string;
  readonly firstMs: number;
  readonly lastMs: number;
  /** Samples at which it held (1 for one-off losses). */
  readonly samples: number;
  readonly message: string;
}

/** Everything a simulation produced. */
export interface SimulationResult {
  readonly schema: typeof SIMULATION_RESULT_SCHEMA;
  readonly scenario: {
    readonly name: string;
    readonly description: string;
    readonly file: string;
    readonly seed: number;
    readonly startMs: number;
    readonly horizonMs: number;
    readonly rebalanceEveryMs: number | null;
    readonly policies: readonly string[];
    readonly base: string;
  };
  /** Offsets from the start, ms. */
  readonly sampleTimesMs: readonly number[];
  readonly pools: readonly PoolSeries[];
  /** Monthly cost at each sample. */
  readonly costPerMonth: readonly number[];
  /** GiB moved (finished moves) up to each sample. */
  readonly movedGiB: readonly number[];
  readonly runs: readonly RebalanceRun[];
  readonly moves: readonly SimulatedMove[];
  readonly events: readonly EventRecord[];
  readonly violations: readonly ViolationRecord[];
  readonly totals: {
    readonly runs: number;
    readonly movesDone: number;
    readonly movesFailed: number;
    readonly movesCancelled: number;
    readonly movedGiB: number;
    /** Sum of the runs' makespans, ms. */
    readonly moveTimeMs: number;
    readonly costPerMonthStart: number;
    readonly costPerMonthEnd: number;
    readonly volumesStart: number;
    readonly volumesEnd: number;
    readonly usedGiBStart: number;
    readonly usedGiBEnd: number;
    readonly growthRefusedGiB: number;
  };
}
