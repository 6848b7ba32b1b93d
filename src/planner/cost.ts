/**
 * The monthly cost of a placement: each volume's size times its pool's price.
 *
 * @module
 */
import type { Inventory, InventoryPool } from '../model/index.js';
import { matchesGlob, type CompiledPolicy } from '../policy/index.js';

/**
 * Price of a GiB-month on a pool: the policy's pricing (first matching pattern wins), else the
 * inventory's price catalogue for the pool, else the policy's default price.
 */
export function pricePerGiBMonth(policy: CompiledPolicy, pool: InventoryPool): number {
  const rule = policy.objectives.cost.pricing.find((p) => matchesGlob(p.poolPattern, pool.name));
  if (rule) return rule.costPerGiBMonth;
  return pool.costPerGiBMonth ?? policy.objectives.cost.defaultCostPerGiBMonth;
}

/** Monthly cost of the inventory's volumes where `poolOf` places them, rounded to cents. */
export function monthlyCost(policy: CompiledPolicy, inventory: Inventory, poolOf: (volumeId: string, current: string) => string): number {
  const price = new Map(inventory.pools.map((p) => [p.name, pricePerGiBMonth(policy, p)]));
  let total = 0;
  for (const v of inventory.volumes) total += v.sizeGiB * (price.get(poolOf(v.id, v.pool)) ?? policy.objectives.cost.defaultCostPerGiBMonth);
  return Math.round(total * 100) / 100;
}
