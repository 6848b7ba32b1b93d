/**
 * Compilation: validated policy documents → one frozen {@link CompiledPolicy}. Quantities become
 * numbers with units in the field names, defaults are applied, run-wide settings are merged by
 * priority (`compose.ts`).
 *
 * @module
 */
import { formatLocation, type FileProblem } from '../shared/index.js';
import { duplicateNameProblems, mergeRunWideSettings } from './compose.js';
import { loadPolicies, sortProblems, type LoadedPolicy, type PolicySourceFile } from './load.js';
import { parseClock, parseDuration, parsePercent, parseRate, parseSize, type QuantityResult } from './quantities.js';
import { API_VERSION, BudgetsSchema, ExecutionSchema, ObjectivesSchema, WEEKDAYS, WhenSchema, type PolicyDocument } from './schema.js';
import type { CompiledPolicy, CompiledRule, CompiledWindow } from './types.js';

/** Fallbacks for scoped booleans no rule sets (safe by default). */
export const SCOPED_DEFAULTS = { keepWithinAvailabilityZone: true, allowInUse: false } as const;

/** Outcome of compiling: the policy when there are no problems, else the problems. */
export interface CompileResult {
  readonly policy: CompiledPolicy | null;
  readonly problems: readonly FileProblem[];
}

/** Freezes an object graph made of plain objects and arrays. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/** The number of a quantity the schema has already accepted. */
function num(r: QuantityResult): number {
  if (!r.ok) throw new Error(`a validated quantity failed to parse: ${r.message}`);
  return r.value;
}
const opt = <T, R>(v: T | undefined, f: (v: T) => R): R | null => (v === undefined ? null : f(v));

/** Compiles one validated document into its scoped rule. */
export function compileRule(file: string, doc: PolicyDocument): CompiledRule {
  const s = doc.scope ?? {};
  const c = doc.constraints ?? {};
  return {
    name: doc.metadata.name,
    description: doc.metadata.description ?? '',
    file,
    priority: doc.priority,
    scope: {
      volumeTypes: s.volumeTypes ?? [],
      projects: s.projects ?? [],
      volumeNamePatterns: s.volumeNames ?? [],
      volumeMetadata: { ...(s.volumeMetadata ?? {}) },
      poolPatterns: s.pools ?? [],
      backends: s.backends ?? [],
      availabilityZones: s.availabilityZones ?? [],
    },
    constraints: {
      maxUtilizationPct: opt(c.capacity?.maxUtilization, (v) => num(parsePercent(v))),
      maxIopsUtilizationPct: opt(c.performance?.maxIopsUtilization, (v) => num(parsePercent(v))),
      maxThroughputUtilizationPct: opt(c.performance?.maxThroughputUtilization, (v) => num(parsePercent(v))),
      minFreeIops: c.performance?.minFreeIops ?? null,
      minFreeThroughputBytesPerSec: opt(c.performance?.minFreeThroughput, (v) => num(parseRate(v))),
      drainPoolPatterns: c.drainPools ?? [],
      excludedDestinationPatterns: c.excludeDestinations ?? [],
      pinnedVolumeRefs: c.pinnedVolumes ?? [],
      excludedVolumeRefs: c.excludedVolumes ?? [],
      keepWithinAvailabilityZone: c.keepWithinAvailabilityZone ?? null,
      allowInUse: c.allowInUse ?? null,
      antiAffinity: (c.antiAffinity ?? []).map((g) => ({ labelKey: g.labelKey, across: g.across })),
      affinity: (c.affinity ?? []).map((g) => ({ labelKey: g.labelKey, within: g.within })),
    },
  };
}

const weekOrder = (days: readonly (typeof WEEKDAYS)[number][]) => WEEKDAYS.filter((d) => days.includes(d));

/**
 * Compiles validated policies (from {@link loadPolicies}) into one frozen policy. Problems here
 * are composition problems: duplicate names and conflicting run-wide settings.
 */
export function compilePolicies(policies: readonly LoadedPolicy[]): CompileResult {
  const merged = mergeRunWideSettings(policies);
  const problems = [...duplicateNameProblems(policies), ...merged.problems];
  if (problems.length > 0) return { policy: null, problems: sortProblems(problems) };

  // The merged trees hold only values the schema accepted in some file; parsing again applies defaults.
  const budgets = BudgetsSchema.parse(merged.sections['constraints.budgets']);
  const objectives = ObjectivesSchema.parse(merged.sections['objectives']);
  const execution = ExecutionSchema.parse(merged.sections['execution']);
  const when = WhenSchema.parse(merged.sections['when']);

  const windows: CompiledWindow[] = when.maintenanceWindows.map((w) => ({
    days: weekOrder(w.days),
    startMinute: num(parseClock(w.start)) % 1440,
    endMinute: num(parseClock(w.end)) === 0 ? 1440 : num(parseClock(w.end)),
    timeZone: w.timeZone ?? when.timeZone,
  }));

  const origins: Record<string, string> = {};
  for (const [key, w] of [...merged.winners].sort(([a], [b]) => (a < b ? -1 : 1))) origins[key] = formatLocation(w.location);

  const policy: CompiledPolicy = {
    apiVersion: API_VERSION,
    rules: policies.map((p) => compileRule(p.file, p.document)),
    budgets: {
      maxMoves: budgets.maxMoves ?? null,
      maxBytesMoved: opt(budgets.maxBytes, (v) => num(parseSize(v))),
    },
    objectives: {
      balance: { weight: objectives.balance.weight, by: objectives.balance.by, metric: objectives.balance.metric },
      cost: {
        weight: objectives.cost.weight,
        pricing: objectives.cost.pricing.map((p) => ({ poolPattern: p.pools, costPerGiBMonth: p.perGiBMonth })),
        defaultCostPerGiBMonth: objectives.cost.defaultPerGiBMonth,
      },
      performance: {
        weight: objectives.performance.weight,
        metrics: [...new Set(objectives.performance.metrics)],
        targetLatencyP95Ms: opt(objectives.performance.targetLatencyP95, (v) => num(parseDuration(v))),
      },
      moveCostPerGiB: objectives.moveCost.perGiB,
      minGainPct: num(parsePercent(objectives.minGain)),
    },
    execution: {
      maxConcurrentTotal: execution.maxConcurrent.total,
      maxConcurrentPerPool: execution.maxConcurrent.perPool,
      maxConcurrentPerBackend: execution.maxConcurrent.perBackend,
      maxConcurrentInUse: execution.maxConcurrent.inUse,
      maxBandwidthBytesPerSec: opt(execution.maxBandwidth, (v) => num(parseRate(v))),
      forceHostCopy: execution.forceHostCopy,
      lockVolume: execution.lockVolume,
      retypeMigrationPolicy: execution.retype.migrationPolicy,
      moveTimeoutMs: num(parseDuration(execution.moveTimeout)),
      planValidForMs: num(parseDuration(execution.planValidFor)),
    },
    when: {
      schedule: when.schedule ?? null,
      timeZone: when.timeZone,
      maintenanceWindows: windows,
      paused: when.paused,
    },
    defaults: { ...SCOPED_DEFAULTS },
    origins,
  };
  return { policy: deepFreeze(policy), problems: [] };
}

/**
 * Loads and compiles policy files in one step (no inventory checks; see `checkPolicies`).
 * Returns every problem of every file at once.
 */
export function compilePolicyFiles(files: readonly PolicySourceFile[]): CompileResult {
  const loaded = loadPolicies(files);
  // Composition problems among the valid files are reported too: all problems at once.
  const composed = compilePolicies(loaded.policies);
  if (loaded.problems.length === 0) return composed;
  return { policy: null, problems: sortProblems([...loaded.problems, ...composed.problems]) };
}
