/**
 * What a scenario adds to the policies in force: drain rules (a `drain` event is a rule closing
 * pools that volumes must leave, like a policy's `drainPools`) and price changes (put first in the
 * cost objective's pricing, where the first matching pattern wins).
 *
 * @module
 */
import { matchesGlob, type CompiledPolicy, type CompiledPrice, type CompiledRule } from '../policy/index.js';

/** The scenario's additions, newest price first. */
export interface PolicyOverlay {
  readonly drains: readonly { readonly patterns: readonly string[]; readonly origin: string }[];
  readonly prices: readonly CompiledPrice[];
}

/** A drain rule with an empty scope (every volume), as compile.ts would make from a policy file. */
function drainRule(index: number, patterns: readonly string[], origin: string): CompiledRule {
  return {
    name: `scenario-drain-${index + 1}`,
    description: `drain ${patterns.join(', ')} (scenario event at ${origin})`,
    file: origin,
    priority: 1000,
    scope: { volumeTypes: [], projects: [], volumeNamePatterns: [], volumeMetadata: {}, poolPatterns: [], backends: [], availabilityZones: [] },
    constraints: {
      maxUtilizationPct: null,
      maxIopsUtilizationPct: null,
      maxThroughputUtilizationPct: null,
      minFreeIops: null,
      minFreeThroughputBytesPerSec: null,
      drainPoolPatterns: [...patterns],
      excludedDestinationPatterns: [],
      pinnedVolumeRefs: [],
      excludedVolumeRefs: [],
      keepWithinAvailabilityZone: null,
      allowInUse: null,
      antiAffinity: [],
      affinity: [],
    },
  };
}

/** The policy with the scenario's drains and prices applied (a new object; the input is untouched). */
export function applyOverlay(policy: CompiledPolicy, overlay: PolicyOverlay): CompiledPolicy {
  if (overlay.drains.length === 0 && overlay.prices.length === 0) return policy;
  return {
    ...policy,
    rules: [...policy.rules, ...overlay.drains.map((d, i) => drainRule(i, d.patterns, d.origin))],
    objectives: {
      ...policy.objectives,
      cost: { ...policy.objectives.cost, pricing: [...overlay.prices, ...policy.objectives.cost.pricing] },
    },
  };
}

/** Price of a GiB-month on a pool under a policy: first matching pattern, else the pool's own, else the default. */
export function priceOf(policy: CompiledPolicy, pool: string, own: number | null): number {
  const rule = policy.objectives.cost.pricing.find((p) => matchesGlob(p.poolPattern, pool));
  return rule ? rule.costPerGiBMonth : (own ?? policy.objectives.cost.defaultCostPerGiBMonth);
}
