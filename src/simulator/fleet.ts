/**
 * The simulated fleet: the mutable state behind the simulated control plane (pools, volumes, volume
 * types, prices), made from an {@link Inventory} and changed by scenario events and by moves.
 *
 * Used capacity is Cinder's allocated capacity: the sum of the sizes of the volumes on a pool plus
 * the destinations reserved by moves in flight (Ballast reserves at acceptance, section 4 of the
 * design). Thin pools are taken as fully written.
 *
 * @module
 */
import {
  capabilitiesMatch,
  capacityFilter,
  type FleetPool,
  type FleetVolume,
  type Inventory,
  type InventoryPool,
  type InventoryVolume,
  type InventoryVolumeType,
  type PoolCapacity,
  type VolumePerf,
} from '../model/index.js';
import { AppError } from '../shared/index.js';

/** One pool of the simulated fleet. */
export interface SimPool {
  readonly name: string;
  readonly backend: string;
  readonly volumeBackendName: string;
  readonly availabilityZone: string;
  totalGiB: number;
  readonly reservedPercentage: number;
  readonly thin: boolean;
  readonly maxOverSubscriptionRatio: number | 'auto';
  readonly capabilities: Readonly<Record<string, string | number | boolean>>;
  readonly ratedIops: number | null;
  readonly ratedThroughputBytesPerSec: number | null;
  state: 'up' | 'down';
  /** Volumes' sizes plus in-flight reservations (GiB). */
  allocatedGiB: number;
  costPerGiBMonth: number | null;
}

/** One volume of the simulated fleet. */
export interface SimVolume {
  readonly id: string;
  readonly name: string;
  readonly sizeGiB: number;
  pool: string;
  volumeTypeId: string;
  volumeType: string;
  readonly projectId: string;
  availabilityZone: string;
  readonly metadata: Readonly<Record<string, string>>;
  status: FleetVolume['status'];
  migrationStatus: FleetVolume['migrationStatus'];
  readonly attached: boolean;
  readonly multiattach: boolean;
  readonly snapshotCount: number;
  readonly groupId: string | null;
  readonly replicated: boolean;
  readonly perf: VolumePerf | null;
}

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The state of a simulated fleet. Pools and volumes are kept in maps; listings are sorted. */
export class SimFleet {
  readonly pools = new Map<string, SimPool>();
  readonly volumes = new Map<string, SimVolume>();
  readonly types = new Map<string, InventoryVolumeType>();

  /** A fleet holding a copy of an inventory's pools, volumes and types. */
  static fromInventory(inv: Inventory): SimFleet {
    const f = new SimFleet();
    for (const t of inv.volumeTypes) f.types.set(t.name, t);
    for (const p of inv.pools) f.addPool(poolFromInventory(p));
    for (const v of inv.volumes) f.addVolume(volumeFromInventory(v));
    return f;
  }

  addPool(p: SimPool): void {
    if (this.pools.has(p.name)) throw new AppError('INVALID_INPUT', `pool ${p.name} already exists`);
    this.pools.set(p.name, p);
  }

  pool(name: string): SimPool {
    const p = this.pools.get(name);
    if (!p) throw new AppError('POOL_NOT_FOUND', `no pool ${name} in the simulated fleet`);
    return p;
  }

  /** Adds a volume and counts its size on its pool. */
  addVolume(v: SimVolume): void {
    if (this.volumes.has(v.id)) throw new AppError('INVALID_INPUT', `volume ${v.id} already exists`);
    this.pool(v.pool).allocatedGiB += v.sizeGiB;
    this.volumes.set(v.id, v);
  }

  /** Removes a volume and frees its size on its pool. */
  deleteVolume(id: string): void {
    const v = this.volumes.get(id);
    if (!v) throw new AppError('VOLUME_NOT_FOUND', `no volume ${id} in the simulated fleet`);
    this.pool(v.pool).allocatedGiB -= v.sizeGiB;
    this.volumes.delete(id);
  }

  /** Volumes on a pool, sorted by id. */
  volumesOn(pool: string): SimVolume[] {
    return [...this.volumes.values()].filter((v) => v.pool === pool).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Removes a pool; its volumes go with it (the caller reports them). Returns the removed volumes. */
  removePool(name: string): SimVolume[] {
    const gone = this.volumesOn(name);
    for (const v of gone) this.volumes.delete(v.id);
    this.pools.delete(name);
    return gone;
  }

  capacityOf(p: SimPool): PoolCapacity {
    return {
      totalCapacityGb: p.totalGiB,
      freeCapacityGb: Math.max(0, round2(p.totalGiB - p.allocatedGiB)),
      provisionedCapacityGb: round2(p.allocatedGiB),
      maxOverSubscriptionRatio: p.maxOverSubscriptionRatio,
      reservedPercentage: p.reservedPercentage,
      thinProvisioningSupport: p.thin,
      thickProvisioningSupport: !p.thin,
    };
  }

  /** Whether a volume of `type` could live on `pool` (the type's extra specs against its capabilities). */
  typeFits(typeName: string, p: SimPool): boolean {
    const t = this.types.get(typeName);
    if (!t) return false;
    const caps = { volume_backend_name: p.volumeBackendName, ...p.capabilities };
    return capabilitiesMatch(t.extraSpecs, caps).pass;
  }

  /** Whether `sizeGiB` more fits on the pool by Cinder's capacity filter. */
  fits(p: SimPool, sizeGiB: number): boolean {
    return p.state === 'up' && capacityFilter(this.capacityOf(p), { sizeGiB, thin: p.thin }).pass;
  }

  listPools(): FleetPool[] {
    return [...this.pools.values()].sort(byName).map((p) => ({
      name: p.name,
      backend: p.backend,
      volumeBackendName: p.volumeBackendName,
      availabilityZone: p.availabilityZone,
      capacity: this.capacityOf(p),
      allocatedGiB: round2(p.allocatedGiB),
      capabilities: p.capabilities,
      ratedIops: p.ratedIops,
      ratedThroughputBytesPerSec: p.ratedThroughputBytesPerSec,
      state: p.state,
    }));
  }

  toFleetVolume(v: SimVolume): FleetVolume {
    const { perf: _perf, ...rest } = v;
    return { ...rest, metadata: { ...v.metadata } };
  }

  listVolumes(): FleetVolume[] {
    return [...this.volumes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((v) => this.toFleetVolume(v));
  }

  listVolumeTypes(): InventoryVolumeType[] {
    return [...this.types.values()].sort(byName);
  }
}

/** Cinder-style 2-decimal rounding. */
export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function poolFromInventory(p: InventoryPool): SimPool {
  const total = p.capacity.totalCapacityGb;
  if (typeof total !== 'number') {
    throw new AppError('INVALID_INPUT', `pool ${p.name} reports total capacity ${String(total)}: the simulator needs a number of GiB`);
  }
  return {
    name: p.name,
    backend: p.backend,
    volumeBackendName: p.volumeBackendName,
    availabilityZone: p.availabilityZone,
    totalGiB: total,
    reservedPercentage: p.capacity.reservedPercentage,
    thin: p.capacity.thinProvisioningSupport,
    maxOverSubscriptionRatio: p.capacity.maxOverSubscriptionRatio,
    capabilities: p.capabilities,
    ratedIops: p.ratedIops,
    ratedThroughputBytesPerSec: p.ratedThroughputBytesPerSec,
    state: p.state,
    allocatedGiB: 0,
    costPerGiBMonth: p.costPerGiBMonth,
  };
}

function volumeFromInventory(v: InventoryVolume): SimVolume {
  return { ...v, metadata: { ...v.metadata } };
}
