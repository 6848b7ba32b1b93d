// Small hand-made inventories and policies for the solver's unit tests.
import { INVENTORY_SCHEMA, type Inventory, type InventoryPool, type InventoryVolume } from '../../src/model/index.js';
import { compilePolicyFiles, type CompiledPolicy } from '../../src/policy/index.js';

export interface PoolSpec {
  readonly total?: number;
  readonly used?: number;
  readonly az?: string;
  readonly backend?: string;
  readonly caps?: Record<string, string | number | boolean>;
  readonly price?: number | null;
  readonly ratedIops?: number | null;
  readonly latencyP95Ms?: number | null;
  readonly reserved?: number;
  readonly state?: 'up' | 'down';
}

/** A pool `h@<backend>#<name>`; `used` defaults to the sizes of its volumes (filled in by `inventory`). */
export function pool(name: string, s: PoolSpec = {}): InventoryPool {
  const backend = `h@${s.backend ?? 'b'}`;
  const total = s.total ?? 1000;
  return {
    name: `${backend}#${name}`,
    backend,
    volumeBackendName: s.backend ?? 'b',
    availabilityZone: s.az ?? 'az1',
    capacity: {
      totalCapacityGb: total,
      freeCapacityGb: total,
      provisionedCapacityGb: 0,
      maxOverSubscriptionRatio: 1,
      reservedPercentage: s.reserved ?? 0,
      thinProvisioningSupport: true,
      thickProvisioningSupport: true,
    },
    allocatedGiB: s.used ?? -1,
    capabilities: { volume_backend_name: s.backend ?? 'b', ...(s.caps ?? {}) },
    ratedIops: s.ratedIops ?? null,
    ratedThroughputBytesPerSec: null,
    perf: s.latencyP95Ms === undefined || s.latencyP95Ms === null ? null : { iopsMean: 0, iopsP95: 0, throughputMeanBytesPerSec: 0, throughputP95BytesPerSec: 0, latencyP50Ms: 1, latencyP95Ms: s.latencyP95Ms },
    costPerGiBMonth: s.price === undefined ? null : s.price,
    growthGiBPerDay: null,
    state: s.state ?? 'up',
    sampledAtMs: 0,
  };
}

export interface VolSpec {
  readonly type?: string;
  readonly attached?: boolean;
  readonly metadata?: Record<string, string>;
  readonly snapshots?: number;
  readonly status?: InventoryVolume['status'];
  readonly iops?: number;
  readonly name?: string;
}

/** A volume on pool `h@b#<pool>` (pass a full name with `@` for other back-ends). */
export function vol(id: string, poolName: string, sizeGiB: number, s: VolSpec = {}): InventoryVolume {
  const full = poolName.includes('@') ? poolName : `h@b#${poolName}`;
  return {
    id,
    name: s.name ?? id,
    sizeGiB,
    pool: full,
    volumeTypeId: `t-${s.type ?? 'std'}`,
    volumeType: s.type ?? 'std',
    projectId: 'p1',
    availabilityZone: 'az1',
    metadata: s.metadata ?? {},
    status: s.status ?? (s.attached ? 'in-use' : 'available'),
    migrationStatus: null,
    attached: s.attached ?? false,
    multiattach: false,
    snapshotCount: s.snapshots ?? 0,
    groupId: null,
    replicated: false,
    perf: s.iops === undefined ? null : { iopsP95: s.iops, throughputP95BytesPerSec: 0 },
  };
}

/** An inventory; pools without `used` get the sum of their volumes' sizes. Volumes keep the AZ of their pool. */
export function inventory(pools: InventoryPool[], vols: InventoryVolume[], types: Record<string, Record<string, string>> = {}): Inventory {
  const names = new Set(['std', ...vols.map((v) => v.volumeType)]);
  const typeList = [...names].sort().map((n) => ({ id: `t-${n}`, name: n, extraSpecs: types[n] ?? {} }));
  const fixedPools = pools.map((p) => {
    const sum = vols.filter((v) => v.pool === p.name).reduce((s, v) => s + v.sizeGiB, 0);
    const used = p.allocatedGiB < 0 ? sum : p.allocatedGiB;
    return { ...p, allocatedGiB: used, capacity: { ...p.capacity, provisionedCapacityGb: used, freeCapacityGb: Number(p.capacity.totalCapacityGb) - used } };
  });
  const az = new Map(fixedPools.map((p) => [p.name, p.availabilityZone]));
  return {
    schema: INVENTORY_SCHEMA,
    id: 'inv-test',
    takenAtMs: 0,
    source: { kind: 'generated', name: 'test' },
    pools: fixedPools.sort((a, b) => (a.name < b.name ? -1 : 1)),
    volumes: vols.map((v) => ({ ...v, availabilityZone: az.get(v.pool) ?? v.availabilityZone })).sort((a, b) => (a.id < b.id ? -1 : 1)),
    volumeTypes: typeList,
    freshness: { windowMs: 0, oldestSampleAtMs: 0, store: 'none' },
  };
}

/** Compiles policy documents given as YAML bodies (apiVersion/kind/metadata added). */
export function policy(...bodies: string[]): CompiledPolicy {
  const files = bodies.map((b, i) => ({
    file: `p${i}.yaml`,
    text: `apiVersion: ballast.io/v1\nkind: PlacementPolicy\nmetadata:\n  name: p${i}\n${b}\n`,
  }));
  const r = compilePolicyFiles(files);
  if (!r.policy) throw new Error(r.problems.map((p) => p.message).join('\n'));
  return r.policy;
}

/** A policy that only balances capacity (no move cost, no minimum gain), plus extra YAML. */
export function balancePolicy(extra = ''): CompiledPolicy {
  return policy(`objectives:\n  balance:\n    weight: 1\n  moveCost:\n    perGiB: 0\n  minGain: 0%\n${extra}`);
}
