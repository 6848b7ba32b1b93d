/** A small inventory for simulator tests, written out in full (no generator, no hidden defaults). */
import { INVENTORY_SCHEMA, type Inventory, type InventoryPool, type InventoryVolume } from '../../src/model/index.js';

export const T0 = Date.parse('2027-01-04T00:00:00Z');
export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

/** A pool `ballast@<backend>#<name>` of `total` GiB (thin, over-subscription 1). */
export function pool(backend: string, name: string, total: number, extra: Partial<InventoryPool> = {}): InventoryPool {
  return {
    name: `ballast@${backend}#${name}`,
    backend: `ballast@${backend}`,
    volumeBackendName: backend,
    availabilityZone: 'nova',
    capacity: { totalCapacityGb: total, freeCapacityGb: total, provisionedCapacityGb: 0, maxOverSubscriptionRatio: 1, reservedPercentage: 0, thinProvisioningSupport: true, thickProvisioningSupport: false },
    allocatedGiB: 0,
    capabilities: {},
    ratedIops: null,
    ratedThroughputBytesPerSec: null,
    perf: null,
    costPerGiBMonth: null,
    growthGiBPerDay: null,
    state: 'up',
    sampledAtMs: T0,
    ...extra,
  };
}

/** A standard, available, detached volume. */
export function volume(n: number, poolName: string, sizeGiB: number, extra: Partial<InventoryVolume> = {}): InventoryVolume {
  return {
    id: `vol-${String(n).padStart(3, '0')}`,
    name: `v${n}`,
    sizeGiB,
    pool: poolName,
    volumeTypeId: 'type-standard',
    volumeType: 'standard',
    projectId: 'p',
    availabilityZone: 'nova',
    metadata: {},
    status: 'available',
    migrationStatus: null,
    attached: false,
    multiattach: false,
    snapshotCount: 0,
    groupId: null,
    replicated: false,
    perf: null,
    ...extra,
  };
}

/** An inventory of the given pools and volumes, with a `standard` type (any pool) and a `gold` type (back-end `fast`). */
export function inventory(pools: InventoryPool[], volumes: InventoryVolume[]): Inventory {
  return {
    schema: INVENTORY_SCHEMA,
    id: 'test-inventory',
    takenAtMs: T0,
    source: { kind: 'generated', name: 'test' },
    pools: pools.map((p) => ({ ...p, allocatedGiB: volumes.filter((v) => v.pool === p.name).reduce((s, v) => s + v.sizeGiB, 0) })),
    volumes,
    volumeTypes: [
      { id: 'type-gold', name: 'gold', extraSpecs: { volume_backend_name: 'fast' } },
      { id: 'type-standard', name: 'standard', extraSpecs: {} },
    ],
    freshness: { windowMs: 0, oldestSampleAtMs: T0, store: 'none' },
  };
}
