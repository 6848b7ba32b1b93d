import {
  capabilitiesMatch,
  capacityFilter,
  weighByCapacity,
  type PoolCapacity,
  type VolumeType,
} from '../model/index.js';
import type { PoolStats } from './driver-port.js';

/** A pool as the scheduler sees it: its host string, reported stats and Ballast's own accounting. */
export interface PoolView {
  /** `host@backend#pool`. */
  readonly host: string;
  readonly backendName: string;
  readonly poolName: string;
  readonly driverName: string;
  readonly availabilityZone: string;
  readonly stats: PoolStats;
  /** Sum of sizes of the volumes on the pool (Cinder's allocated_capacity_gb). */
  readonly allocatedGiB: number;
  /** GiB reserved by migrations in flight towards this pool (Ballast's virtual consumption). */
  readonly reservedInFlightGiB: number;
}

export function poolCapacity(p: PoolView): PoolCapacity {
  return {
    totalCapacityGb: p.stats.total_capacity_gb,
    freeCapacityGb: p.stats.free_capacity_gb,
    provisionedCapacityGb: p.allocatedGiB + p.reservedInFlightGiB,
    maxOverSubscriptionRatio: p.stats.max_over_subscription_ratio,
    reservedPercentage: p.stats.reserved_percentage,
    thinProvisioningSupport: p.stats.thin_provisioning_support,
    thickProvisioningSupport: p.stats.thick_provisioning_support,
  };
}

export interface ScheduleRequest {
  readonly sizeGiB: number;
  readonly volumeType: VolumeType;
  /** Allowed availability zones; null = any (migrate has no AZ restriction). */
  readonly availabilityZones: readonly string[] | null;
  /** The pool that already holds the volume (retype's vol_exists_on): passes capacity. */
  readonly existsOn?: string;
}

export interface PoolVerdict {
  readonly pool: PoolView;
  readonly pass: boolean;
  /** Which filter failed and why (`CapacityFilter: free 12 GiB < requested 20 GiB`). */
  readonly reason: string;
}

/** `provisioning:type` thick means a thick request; anything else is thin. */
export function isThinRequest(t: VolumeType): boolean {
  return t.extraSpecs['provisioning:type'] !== 'thick';
}

/** Runs the default filters (AZ, capacity, capabilities) on each pool, keeping the reasons. */
export function filterPools(pools: readonly PoolView[], req: ScheduleRequest): PoolVerdict[] {
  const thin = isThinRequest(req.volumeType);
  return pools.map((pool) => {
    if (req.availabilityZones && !req.availabilityZones.includes(pool.availabilityZone)) {
      return { pool, pass: false, reason: `AvailabilityZoneFilter: zone ${pool.availabilityZone} not in [${req.availabilityZones.join(', ')}]` };
    }
    const cap = capacityFilter(poolCapacity(pool), { sizeGiB: req.sizeGiB, thin, existsOnPool: req.existsOn === pool.host });
    if (!cap.pass) return { pool, pass: false, reason: `CapacityFilter: ${cap.reason}` };
    const spec = capabilitiesMatch(req.volumeType.extraSpecs, pool.stats);
    if (!spec.pass) return { pool, pass: false, reason: `CapabilitiesFilter: ${spec.reason}` };
    return { pool, pass: true, reason: 'passes AvailabilityZone, Capacity and Capabilities filters' };
  });
}

/** Filters then weighs (CapacityWeigher): best pool first. */
export function schedule(pools: readonly PoolView[], req: ScheduleRequest): { ranked: PoolView[]; verdicts: PoolVerdict[] } {
  const verdicts = filterPools(pools, req);
  const passing = verdicts.filter((v) => v.pass).map((v) => v.pool);
  const ranked = weighByCapacity(passing, poolCapacity, isThinRequest(req.volumeType)).map((w) => w.item);
  return { ranked, verdicts };
}

/** One line per failing pool, for error messages. */
export function explainRejections(verdicts: readonly PoolVerdict[]): string {
  return verdicts
    .filter((v) => !v.pass)
    .map((v) => `${v.pool.host}: ${v.reason}`)
    .join('; ');
}
