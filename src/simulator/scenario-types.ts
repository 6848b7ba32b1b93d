/**
 * A scenario after checking: every quantity a number with its unit in the name, every time an
 * offset from the start, every path absolute. What the runner reads.
 *
 * @module
 */
import type { TimingModel } from './timing.js';

/** A pool a scenario adds. */
export interface NewPoolSpec {
  readonly name: string;
  readonly backend: string;
  readonly volumeBackendName: string;
  readonly totalGiB: number;
  readonly thin: boolean;
  readonly maxOverSubscriptionRatio: number;
  readonly reservedPercentage: number;
  readonly availabilityZone: string;
  readonly capabilities: Readonly<Record<string, string | number | boolean>>;
  readonly costPerGiBMonth: number | null;
}

/** How a growth adds capacity over time. */
export type GrowthShape =
  /** GiB per day (negative: removed). */
  | { readonly kind: 'linear'; readonly gibPerDay: number }
  /** Compounding share of the scope's used capacity per day (0.01 = 1%/day). */
  | { readonly kind: 'compound'; readonly perDay: number }
  /** Cumulative GiB added by each time after the growth's start, linear between points. */
  | { readonly kind: 'curve'; readonly points: readonly { readonly afterMs: number; readonly gib: number }[] };

/** One growth of a pool or of a volume type, active from `fromMs` to `untilMs`. */
export interface GrowthSpec {
  readonly scope: { readonly pool: string } | { readonly volumeType: string };
  readonly fromMs: number;
  readonly untilMs: number;
  readonly shape: GrowthShape;
  readonly volumeSizeGiB: number;
  /** Type of new volumes of a pool growth; null: the most common type on the pool. */
  readonly newVolumeType: string | null;
}

/** What an event does. */
export type ScenarioAction =
  | { readonly kind: 'addPools'; readonly pools: readonly NewPoolSpec[] }
  | { readonly kind: 'removePools'; readonly pools: readonly string[] }
  | { readonly kind: 'drain'; readonly patterns: readonly string[] }
  | { readonly kind: 'growth'; readonly growth: GrowthSpec }
  | { readonly kind: 'price'; readonly pattern: string; readonly costPerGiBMonth: number }
  | { readonly kind: 'failPool'; readonly pool: string }
  | { readonly kind: 'policies'; readonly files: readonly string[] };

/** One event: when (after the start), what, and where it was written. */
export interface ScenarioEvent {
  readonly atMs: number;
  readonly action: ScenarioAction;
  /** `file:line:col` of the event. */
  readonly origin: string;
  /** One line for the timeline: `add pool ballast@nvme#a (4096 GiB)`. */
  readonly label: string;
}

/** Where the fleet at the start comes from. */
export type ScenarioBase =
  | { readonly kind: 'inventory'; readonly path: string }
  | { readonly kind: 'generate'; readonly pools: number; readonly volumes: number; readonly seed: number };

/** A checked scenario. */
export interface Scenario {
  readonly file: string;
  readonly name: string;
  readonly description: string;
  readonly seed: number;
  readonly base: ScenarioBase;
  readonly startMs: number;
  readonly horizonMs: number;
  readonly rebalance: { readonly everyMs: number; readonly firstMs: number } | null;
  readonly sampleEveryMs: number;
  readonly growthVolumeSizeGiB: number;
  readonly solveTimeLimitMs: number;
  /** Policy files in force from the start (absolute paths). */
  readonly policies: readonly string[];
  readonly timing: TimingModel;
  /** Sorted by time, then as written. */
  readonly events: readonly ScenarioEvent[];
}
