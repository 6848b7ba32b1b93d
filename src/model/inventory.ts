/**
 * The Inventory: the state of the fleet at one moment, what plans are made from. It joins a control
 * plane's pools, volumes and types with telemetry aggregates, carries an id and the time it was
 * taken, and states how fresh its numbers are. Plain data (JSON-serializable): `ballast inventory
 * save` writes one, dry runs and simulations read one.
 *
 * The word "snapshot" is kept for volume snapshots.
 *
 * @module
 */
import type { PoolCapacity } from './capacity.js';
import type { MigrationStatus, VolumeStatus } from './types.js';

export const INVENTORY_SCHEMA = 'ballast.io/inventory/v1' as const;

/** Aggregated performance of a pool over the inventory's telemetry window. */
export interface PerfAggregate {
  /** Read and write operations per second: mean and p95 over the window. */
  readonly iopsMean: number;
  readonly iopsP95: number;
  /** Read and write bytes per second: mean and p95 over the window. */
  readonly throughputMeanBytesPerSec: number;
  readonly throughputP95BytesPerSec: number;
  /** Operation latency percentiles (ms) over the window; null when no operation was seen. */
  readonly latencyP50Ms: number | null;
  readonly latencyP95Ms: number | null;
}

/** One pool (`host@backend#pool`) as Cinder's get_pools reports it, plus telemetry. */
export interface InventoryPool {
  /** `host@backend#pool`. */
  readonly name: string;
  /** `host@backend`. */
  readonly backend: string;
  /** `volume_backend_name` (what volume types' extra specs select). */
  readonly volumeBackendName: string;
  readonly availabilityZone: string;
  /** Cinder's capacity numbers (GiB), as the capacity filter reads them. */
  readonly capacity: PoolCapacity;
  /** Sum of the sizes of the volumes on the pool (`allocated_capacity_gb`). */
  readonly allocatedGiB: number;
  /** Every capability the pool reports (for the capabilities filter against extra specs). */
  readonly capabilities: Readonly<Record<string, string | number | boolean>>;
  /** Rated IOPS and throughput of the pool (capabilities or config); null when unknown. */
  readonly ratedIops: number | null;
  readonly ratedThroughputBytesPerSec: number | null;
  /** Performance over the window; null when telemetry has none for this pool. */
  readonly perf: PerfAggregate | null;
  /** Price of a GiB-month on this pool from the price catalogue; null when unpriced. */
  readonly costPerGiBMonth: number | null;
  /** Growth of the pool's used capacity (GiB/day), robust to outliers; null without history. */
  readonly growthGiBPerDay: number | null;
  /** `down` when the control plane says the pool's service is down or it stopped reporting. */
  readonly state: 'up' | 'down';
  /** When the newest capacity sample of this pool was taken (ms since the epoch). */
  readonly sampledAtMs: number;
}

/** Performance of one volume over the window. */
export interface VolumePerf {
  readonly iopsP95: number;
  readonly throughputP95BytesPerSec: number;
}

/** One volume as planning sees it. Migration targets (`target:<id>` rows) are never listed. */
export interface InventoryVolume {
  readonly id: string;
  readonly name: string;
  readonly sizeGiB: number;
  /** The pool it lives on, `host@backend#pool`. */
  readonly pool: string;
  readonly volumeTypeId: string;
  /** Volume type name. */
  readonly volumeType: string;
  readonly projectId: string;
  readonly availabilityZone: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly status: VolumeStatus;
  readonly migrationStatus: MigrationStatus;
  /** Attached to a consumer (moves only by live copy). */
  readonly attached: boolean;
  readonly multiattach: boolean;
  /** Volumes with snapshots, in a group or replicated are not moved (Cinder). */
  readonly snapshotCount: number;
  readonly groupId: string | null;
  readonly replicated: boolean;
  readonly perf: VolumePerf | null;
}

export interface InventoryVolumeType {
  readonly id: string;
  readonly name: string;
  readonly extraSpecs: Readonly<Record<string, string>>;
}

/** Where the inventory's numbers came from. */
export interface InventorySource {
  /** `embedded`, `cinder`, `simulated` or `generated`. */
  readonly kind: 'embedded' | 'cinder' | 'simulated' | 'generated';
  /** A human name: a state directory, a Cinder endpoint, a scenario file, a generator seed. */
  readonly name: string;
}

/** How fresh the telemetry behind the inventory is. */
export interface InventoryFreshness {
  /** The telemetry window the aggregates cover (ms). */
  readonly windowMs: number;
  /** The oldest of the pools' newest samples: the inventory is as stale as this. */
  readonly oldestSampleAtMs: number;
  /** The store the aggregates came from (`sqlite:/path`, `influx:http://…/db`, `none`). */
  readonly store: string;
}

export interface Inventory {
  readonly schema: typeof INVENTORY_SCHEMA;
  readonly id: string;
  readonly takenAtMs: number;
  readonly source: InventorySource;
  /** Sorted by name. */
  readonly pools: readonly InventoryPool[];
  /** Sorted by id. */
  readonly volumes: readonly InventoryVolume[];
  /** Sorted by name. */
  readonly volumeTypes: readonly InventoryVolumeType[];
  readonly freshness: InventoryFreshness;
}

/** Used share (0–1) of a pool on Cinder's math: allocated over total less reserved. */
export function poolUsedShare(p: Pick<InventoryPool, 'capacity' | 'allocatedGiB'>, allocatedGiB = p.allocatedGiB): number {
  const total = p.capacity.totalCapacityGb;
  if (typeof total !== 'number' || total <= 0) return 0;
  const usable = total - Math.floor((total * p.capacity.reservedPercentage) / 100);
  return usable > 0 ? allocatedGiB / usable : 1;
}
