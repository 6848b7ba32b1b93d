/**
 * The compiled form of policies: what the solver, planner, executor and daemon read. Every
 * quantity is a number whose unit is in the field name; defaults are applied; the objects are
 * deeply frozen. The written form is {@link PolicyInput} in `schema.ts`; the two never mix.
 *
 * @module
 */
import type { Weekday } from './schema.js';

/**
 * Which volumes and pools a rule governs. An empty list (or empty record) means "any": the input
 * language forbids empty selector lists, so empty here always comes from an absent selector.
 */
export interface CompiledScope {
  /** Volume type names. */
  readonly volumeTypes: readonly string[];
  /** Project ids. */
  readonly projects: readonly string[];
  /** Volume name globs (`*`, `?`). */
  readonly volumeNamePatterns: readonly string[];
  /** Metadata key → value glob; all must match. */
  readonly volumeMetadata: Readonly<Record<string, string>>;
  /** Pool globs `host@backend#pool`. */
  readonly poolPatterns: readonly string[];
  /** Back-end references: `fast` (any host) or `host@backend`, globs allowed. */
  readonly backends: readonly string[];
  /** Availability zone names (of the pool). */
  readonly availabilityZones: readonly string[];
}

/** Anti-affinity: volumes sharing a value of `labelKey` must not share the `across` domain. */
export interface CompiledAntiAffinity {
  readonly labelKey: string;
  readonly across: 'pool' | 'backend' | 'availabilityZone';
}

/** Affinity: volumes sharing a value of `labelKey` are kept together `within` one pool or back-end. */
export interface CompiledAffinity {
  readonly labelKey: string;
  readonly within: 'pool' | 'backend';
}

/**
 * Hard constraints of one rule, for the volumes and pools of its scope. `null` means "this rule
 * does not say"; see {@link resolvePool} and {@link resolveVolume} for how rules combine.
 */
export interface CompiledConstraints {
  /** Highest used share of a pool after the plan, 0–100, on Cinder's capacity math. */
  readonly maxUtilizationPct: number | null;
  /** Highest share of a pool's rated IOPS used by p95 IOPS, 0–100. */
  readonly maxIopsUtilizationPct: number | null;
  /** Highest share of a pool's rated throughput used by p95 throughput, 0–100. */
  readonly maxThroughputUtilizationPct: number | null;
  /** IOPS left unused on each pool. */
  readonly minFreeIops: number | null;
  /** Throughput left unused on each pool, bytes per second. */
  readonly minFreeThroughputBytesPerSec: number | null;
  /** Pools (globs) closed as destinations for every volume; volumes in scope on them must leave. */
  readonly drainPoolPatterns: readonly string[];
  /** Pools (globs) volumes in scope must never move onto. */
  readonly excludedDestinationPatterns: readonly string[];
  /** Volume ids or name globs that stay where they are. */
  readonly pinnedVolumeRefs: readonly string[];
  /** Volume ids or name globs left out of planning. */
  readonly excludedVolumeRefs: readonly string[];
  readonly keepWithinAvailabilityZone: boolean | null;
  readonly allowInUse: boolean | null;
  readonly antiAffinity: readonly CompiledAntiAffinity[];
  readonly affinity: readonly CompiledAffinity[];
}

/** One policy file: a scope and the hard constraints that hold inside it. */
export interface CompiledRule {
  /** `metadata.name`, unique across files. */
  readonly name: string;
  readonly description: string;
  /** The file it came from, as given to the loader. */
  readonly file: string;
  readonly priority: number;
  readonly scope: CompiledScope;
  readonly constraints: CompiledConstraints;
}

/** Caps per run. `null` means uncapped. */
export interface CompiledBudgets {
  readonly maxMoves: number | null;
  readonly maxBytesMoved: number | null;
}

/** A price for the pools matching a pattern. */
export interface CompiledPrice {
  readonly poolPattern: string;
  readonly costPerGiBMonth: number;
}

/** Weighted objective terms (each normalized by the solver before weighting). */
export interface CompiledObjectives {
  readonly balance: {
    readonly weight: number;
    readonly by: 'capacity' | 'load' | 'both';
    readonly metric: 'max' | 'spread';
  };
  readonly cost: {
    readonly weight: number;
    /** First match wins. */
    readonly pricing: readonly CompiledPrice[];
    readonly defaultCostPerGiBMonth: number;
  };
  readonly performance: {
    readonly weight: number;
    readonly metrics: readonly ('latencyP95' | 'iops')[];
    readonly targetLatencyP95Ms: number | null;
  };
  /** Penalty per GiB moved (hysteresis). */
  readonly moveCostPerGiB: number;
  /** Least relative improvement (0–100) for a plan to be proposed. */
  readonly minGainPct: number;
}

/** How plans are carried out. */
export interface CompiledExecution {
  readonly maxConcurrentTotal: number;
  readonly maxConcurrentPerPool: number;
  readonly maxConcurrentPerBackend: number;
  readonly maxConcurrentInUse: number;
  /** Total copy bandwidth cap; `null` means uncapped. */
  readonly maxBandwidthBytesPerSec: number | null;
  readonly forceHostCopy: boolean;
  readonly lockVolume: boolean;
  readonly retypeMigrationPolicy: 'never' | 'on-demand';
  readonly moveTimeoutMs: number;
  readonly planValidForMs: number;
}

/** A recurring window in which moves may start. */
export interface CompiledWindow {
  /** In week order, mon first. */
  readonly days: readonly Weekday[];
  /** Minutes after local midnight, 0–1439. */
  readonly startMinute: number;
  /** Minutes after local midnight, 1–1440; less than `startMinute` means the next day. */
  readonly endMinute: number;
  /** IANA time zone of start and end. */
  readonly timeZone: string;
}

/** When runs happen and moves may start. */
export interface CompiledWhen {
  /** Cron expression for scheduled runs, or null for on-demand only. */
  readonly schedule: string | null;
  readonly timeZone: string;
  /** Empty means moves may start at any time. */
  readonly maintenanceWindows: readonly CompiledWindow[];
  readonly paused: boolean;
}

/** Where a run-wide setting came from: `file:line:col`. */
export type SettingOrigin = string;

/** All policy files composed: scoped rules plus the run-wide settings. Deeply frozen. */
export interface CompiledPolicy {
  readonly apiVersion: 'ballast.io/v1';
  /** One rule per file, in lexical order of file names. */
  readonly rules: readonly CompiledRule[];
  readonly budgets: CompiledBudgets;
  readonly objectives: CompiledObjectives;
  readonly execution: CompiledExecution;
  readonly when: CompiledWhen;
  /** Fallbacks for scoped booleans when no rule covering a volume sets them. */
  readonly defaults: { readonly keepWithinAvailabilityZone: boolean; readonly allowInUse: boolean };
  /**
   * Run-wide settings written in a file, by their path as written (`execution.maxConcurrent.perPool`)
   * → `file:line:col` of the winning value. Settings absent here are schema defaults.
   */
  readonly origins: Readonly<Record<string, SettingOrigin>>;
}
