/**
 * The inventory of the simulated fleet at one moment, as telemetry would build it from a real one:
 * the control plane's pools and volumes, prices from the policies in force, growth from the
 * scenario's recent history. The simulator knows its fleet exactly, so freshness is perfect.
 *
 * @module
 */
import { INVENTORY_SCHEMA, type Inventory, type InventoryPool, type InventoryVolume } from '../model/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { SimFleet } from './fleet.js';
import { priceOf } from './policy-overlay.js';

/** Builds the inventory of `fleet` at `nowMs`; `growthOf` gives a pool's recent growth (GiB/day). */
export function buildSimInventory(fleet: SimFleet, policy: CompiledPolicy, nowMs: number, id: string, sourceName: string, growthOf: (pool: string) => number | null): Inventory {
  const pools: InventoryPool[] = fleet.listPools().map((p) => ({
    ...p,
    perf: null,
    costPerGiBMonth: priceOf(policy, p.name, fleet.pools.get(p.name)!.costPerGiBMonth),
    growthGiBPerDay: growthOf(p.name),
    sampledAtMs: nowMs,
  }));
  const volumes: InventoryVolume[] = [...fleet.volumes.values()]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((v) => ({ ...fleet.toFleetVolume(v), perf: v.perf }));
  return {
    schema: INVENTORY_SCHEMA,
    id,
    takenAtMs: nowMs,
    source: { kind: 'simulated', name: sourceName },
    pools,
    volumes,
    volumeTypes: fleet.listVolumeTypes(),
    freshness: { windowMs: 0, oldestSampleAtMs: nowMs, store: 'none' },
  };
}

/** Monthly cost of the fleet's volumes under the policy's prices, to the cent. */
export function fleetMonthlyCost(fleet: SimFleet, policy: CompiledPolicy): number {
  const price = new Map<string, number>();
  let total = 0;
  for (const v of fleet.volumes.values()) {
    let p = price.get(v.pool);
    if (p === undefined) {
      p = priceOf(policy, v.pool, fleet.pools.get(v.pool)?.costPerGiBMonth ?? null);
      price.set(v.pool, p);
    }
    total += v.sizeGiB * p;
  }
  return Math.round(total * 100) / 100;
}
