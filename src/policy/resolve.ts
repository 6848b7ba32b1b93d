/**
 * How rules combine for one volume or one pool: the one place that says what a composed policy
 * means, so the solver, the verifier and `explain` agree.
 *
 * - A rule covers a **pool** when the pool matches its pool selectors (`pools`, `backends`,
 *   `availabilityZones`; volume selectors play no part for pools).
 * - A rule covers a **volume** when the volume matches its volume selectors and the pool it lives
 *   on matches its pool selectors.
 * - For a single-valued setting (`maxUtilizationPct`, `allowInUse`, …) the covering rule with the
 *   highest priority that sets it wins; among equal priorities the strictest value wins (lowest
 *   limit, `allowInUse: false`, `keepWithinAvailabilityZone: true`). No rule → the default.
 * - Lists (drained pools, excluded destinations, pinned, excluded, affinity groups) accumulate.
 * - A drained pool is closed as a destination for every volume, whatever the rule's scope; the
 *   volumes the draining rule covers must leave it.
 *
 * @module
 */
import { backendSelectsPool, matchesAny, matchesGlob } from './globs.js';
import type { CompiledAffinity, CompiledAntiAffinity, CompiledPolicy, CompiledRule } from './types.js';

/** What the resolver needs to know about a pool. */
export interface PoolFacts {
  /** `host@backend#pool`. */
  readonly name: string;
  readonly availabilityZone: string;
}

/** What the resolver needs to know about a volume. */
export interface VolumeFacts {
  readonly id: string;
  readonly name: string;
  /** Volume type name. */
  readonly volumeType: string;
  readonly projectId: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** The pool the volume lives on now. */
  readonly pool: PoolFacts;
}

/** The pool-level limits in force on one pool (`null`: no rule sets it). */
export interface ResolvedPool {
  readonly maxUtilizationPct: number | null;
  readonly maxIopsUtilizationPct: number | null;
  readonly maxThroughputUtilizationPct: number | null;
  readonly minFreeIops: number | null;
  readonly minFreeThroughputBytesPerSec: number | null;
  /** Names of the rules covering the pool. */
  readonly rules: readonly string[];
}

/** The volume-level constraints in force on one volume. */
export interface ResolvedVolume {
  /** Left out of planning entirely. */
  readonly excluded: boolean;
  /** Stays on its pool. */
  readonly pinned: boolean;
  /** Its current pool is drained for it: it must leave. */
  readonly mustLeave: boolean;
  readonly allowInUse: boolean;
  readonly keepWithinAvailabilityZone: boolean;
  /** Pool globs it may not move onto: every drained pool, and the destinations its rules exclude. */
  readonly forbiddenDestinationPatterns: readonly string[];
  readonly antiAffinity: readonly CompiledAntiAffinity[];
  readonly affinity: readonly CompiledAffinity[];
  /** Names of the rules covering the volume. */
  readonly rules: readonly string[];
}

/** True when the rule's pool selectors select the pool. */
export function ruleCoversPool(rule: CompiledRule, pool: PoolFacts): boolean {
  const s = rule.scope;
  if (s.poolPatterns.length > 0 && !matchesAny(s.poolPatterns, pool.name)) return false;
  if (s.backends.length > 0 && !s.backends.some((b) => backendSelectsPool(b, pool.name))) return false;
  if (s.availabilityZones.length > 0 && !s.availabilityZones.includes(pool.availabilityZone)) return false;
  return true;
}

/** True when the rule's selectors select the volume (on its current pool). */
export function ruleCoversVolume(rule: CompiledRule, v: VolumeFacts): boolean {
  const s = rule.scope;
  if (s.volumeTypes.length > 0 && !s.volumeTypes.includes(v.volumeType)) return false;
  if (s.projects.length > 0 && !s.projects.includes(v.projectId)) return false;
  if (s.volumeNamePatterns.length > 0 && !matchesAny(s.volumeNamePatterns, v.name)) return false;
  for (const [k, pattern] of Object.entries(s.volumeMetadata)) {
    const value = Object.prototype.hasOwnProperty.call(v.metadata, k) ? v.metadata[k] : undefined;
    if (value === undefined || !matchesGlob(pattern, value)) return false;
  }
  return ruleCoversPool(rule, v.pool);
}

/** A volume reference (id or name glob) matches the volume. */
function refMatches(refs: readonly string[], v: VolumeFacts): boolean {
  return refs.some((r) => r === v.id || matchesGlob(r, v.name));
}

/** Highest priority wins; ties go to `stricter(a, b)`. */
function pick<T>(rules: readonly CompiledRule[], get: (r: CompiledRule) => T | null, stricter: (a: T, b: T) => T): T | null {
  let best: { value: T; priority: number } | null = null;
  for (const r of rules) {
    const v = get(r);
    if (v === null) continue;
    if (!best || r.priority > best.priority) best = { value: v, priority: r.priority };
    else if (r.priority === best.priority) best = { value: stricter(best.value, v), priority: best.priority };
  }
  return best ? best.value : null;
}

/** The pool-level limits in force on a pool. */
export function resolvePool(policy: CompiledPolicy, pool: PoolFacts): ResolvedPool {
  const rules = policy.rules.filter((r) => ruleCoversPool(r, pool));
  return {
    maxUtilizationPct: pick(rules, (r) => r.constraints.maxUtilizationPct, Math.min),
    maxIopsUtilizationPct: pick(rules, (r) => r.constraints.maxIopsUtilizationPct, Math.min),
    maxThroughputUtilizationPct: pick(rules, (r) => r.constraints.maxThroughputUtilizationPct, Math.min),
    minFreeIops: pick(rules, (r) => r.constraints.minFreeIops, Math.max),
    minFreeThroughputBytesPerSec: pick(rules, (r) => r.constraints.minFreeThroughputBytesPerSec, Math.max),
    rules: rules.map((r) => r.name),
  };
}

/** The volume-level constraints in force on a volume. */
export function resolveVolume(policy: CompiledPolicy, v: VolumeFacts): ResolvedVolume {
  const rules = policy.rules.filter((r) => ruleCoversVolume(r, v));
  const drains = rules.flatMap((r) => r.constraints.drainPoolPatterns);
  const allDrains = policy.rules.flatMap((r) => r.constraints.drainPoolPatterns);
  const uniq = <T>(xs: readonly T[], key: (x: T) => string): T[] => [...new Map(xs.map((x) => [key(x), x])).values()];
  return {
    excluded: rules.some((r) => refMatches(r.constraints.excludedVolumeRefs, v)),
    pinned: rules.some((r) => refMatches(r.constraints.pinnedVolumeRefs, v)),
    mustLeave: matchesAny(drains, v.pool.name),
    allowInUse: pick(rules, (r) => r.constraints.allowInUse, (a, b) => a && b) ?? policy.defaults.allowInUse,
    keepWithinAvailabilityZone:
      pick(rules, (r) => r.constraints.keepWithinAvailabilityZone, (a, b) => a || b) ?? policy.defaults.keepWithinAvailabilityZone,
    forbiddenDestinationPatterns: [...new Set([...allDrains, ...rules.flatMap((r) => r.constraints.excludedDestinationPatterns)])],
    antiAffinity: uniq(rules.flatMap((r) => r.constraints.antiAffinity), (g) => `${g.labelKey}\u0000${g.across}`),
    affinity: uniq(rules.flatMap((r) => r.constraints.affinity), (g) => `${g.labelKey}\u0000${g.within}`),
    rules: rules.map((r) => r.name),
  };
}
