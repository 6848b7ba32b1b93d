/**
 * The volume-driver port: what the embedded block service asks of a driver. Drivers live in
 * `drivers/<name>/` and implement this interface; the service owns state, scheduling and the
 * migration flow, and a driver only holds data and answers for it.
 *
 * Contract for every method: throw `AppError` (codes `DRIVER_ERROR`, `IO_ERROR`, `VOLUME_NOT_FOUND`)
 * on failure; never log-and-continue; leave nothing half-made when a call fails (a failed create
 * removes what it wrote).
 */
import type { VolumeStatus } from '../model/index.js';

/** One pool of a back-end, as configured. */
export interface PoolSpec {
  readonly name: string;
  readonly sizeGiB: number;
  /** `thin`: space is allocated on write; `thick`: a volume counts its full size at create. */
  readonly provisioning: 'thin' | 'thick';
  readonly maxOverSubscriptionRatio: number | 'auto';
  readonly reservedPercentage: number;
  readonly availabilityZone: string;
  /** Extra capabilities reported in get_pools (matched by volume types' extra specs). */
  readonly capabilities: Readonly<Record<string, string | number | boolean>>;
  /** Absolute directory that holds the pool's data. */
  readonly dataPath: string;
}

/** One back-end (`host@backend`) and its pools, as configured. */
export interface BackendSpec {
  readonly name: string;
  /** The `host` part of `host@backend#pool`. */
  readonly host: string;
  readonly driver: string;
  /** Reported as `volume_backend_name` (defaults to the back-end name). */
  readonly volumeBackendName: string;
  readonly pools: readonly PoolSpec[];
  /** Driver-specific options (e.g. `chunkSizeMiB` for `chunked`). */
  readonly options: Readonly<Record<string, unknown>>;
}

/** Where a volume's back-end object lives: object name `volume-<nameId>` in `pool`. */
export interface VolumeLocator {
  readonly nameId: string;
  readonly pool: string;
  readonly sizeGiB: number;
}

export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** An open volume (Cinder's `open_volume`/`os-brick` handle): positional I/O on its bytes. */
export interface VolumeHandle {
  readonly sizeBytes: number;
  /** For block drivers, a path that block tools (dd, cp, qemu) can open; null for file-like drivers. */
  readonly blockPath: string | null;
  /**
   * Reads `length` bytes (default `buf.length`) at `offset` into `buf` from index 0. Returns the
   * number of bytes read, which is short only at the end of the volume. Never-written areas read
   * as zeros.
   */
  read(buf: Buffer, offset: number, length?: number): Promise<number>;
  /** Writes `length` bytes (default `buf.length`) of `buf` at `offset`; past the end → IO_ERROR. */
  write(buf: Buffer, offset: number, length?: number): Promise<void>;
  /** Makes written data durable. */
  flush(): Promise<void>;
  /**
   * Sorted, non-overlapping ranges that may hold non-zero data; everything outside them reads as
   * zeros. A driver may over-report (a range may contain zeros) but never under-report.
   */
  allocatedRanges(): Promise<ByteRange[]>;
  close(): Promise<void>;
}

/** A pool's capabilities as Cinder's get_pools reports them (the service adds allocated_capacity_gb). */
export interface PoolStats {
  readonly pool_name: string;
  readonly total_capacity_gb: number;
  readonly free_capacity_gb: number;
  readonly provisioned_capacity_gb: number;
  readonly max_over_subscription_ratio: number | 'auto';
  readonly reserved_percentage: number;
  readonly thin_provisioning_support: boolean;
  readonly thick_provisioning_support: boolean;
  readonly QoS_support: boolean;
  readonly multiattach: boolean;
  readonly sparse_copy_volume: boolean;
  readonly online_extend_support: boolean;
  readonly location_info: string;
  readonly volume_backend_name: string;
  readonly vendor_name: string;
  readonly driver_version: string;
  readonly storage_protocol: string;
  readonly total_volumes: number;
  readonly availability_zone: string;
  /** Extra configured capabilities are merged in as further keys. */
  readonly [extra: string]: string | number | boolean;
}

/** I/O counters of one volume or pool, as measured by the driver's own handles. */
export interface IoCounters {
  readonly readOps: number;
  readonly writeOps: number;
  readonly flushOps: number;
  readonly readBytes: number;
  readonly writeBytes: number;
  /** Total time spent in operations, ms (mean latency = total / ops). */
  readonly readLatencyTotalMs: number;
  readonly writeLatencyTotalMs: number;
  /** Latency histogram: counts per upper bound in ms (`le`), cumulative as in Prometheus. */
  readonly latencyBucketsMs: readonly { readonly le: number; readonly count: number }[];
}

export interface IoStats {
  readonly pools: Readonly<Record<string, IoCounters>>;
  /** Keyed by back-end object name id (`nameId`). */
  readonly volumes: Readonly<Record<string, IoCounters>>;
}

/** The destination of a driver-assisted migration (Cinder's `host` dict). */
export interface MigrationTarget {
  /** `host@backend#pool`. */
  readonly host: string;
  readonly backendName: string;
  readonly pool: string;
  readonly driver: string;
  readonly capabilities: PoolStats;
}

export interface DriverMigrateResult {
  /** False when the driver declines (the service then runs the generic copy). */
  readonly moved: boolean;
  readonly providerLocation?: string | null;
}

/**
 * How a consumer reaches a volume (Cinder's `initialize_connection`): a file the hypervisor opens
 * itself, or a handle that Ballast exports over NBD (its own target helper).
 */
export type ConnectionInfo = { readonly driverVolumeType: 'file'; readonly path: string } | { readonly driverVolumeType: 'handle' };

export interface TypeDiff {
  /** Every key of either type's extra specs with [old, new] values (unchanged keys included, as Cinder). */
  readonly extraSpecs: Readonly<Record<string, readonly [string | null, string | null]>>;
}

export interface MigratedVolumeUpdate {
  /** New `_name_id` for the source row (null: the object now carries the source's own id). */
  readonly nameIdOverride: string | null;
  readonly providerLocation: string | null;
}

export interface VolumeDriver {
  readonly driverName: string;
  /** `block`: generic copy may use blockPath; `file`: generic copy goes through handles. */
  readonly copyMode: 'block' | 'file';
  readonly backend: BackendSpec;
  /** Creates pool directories; idempotent. */
  setup(): Promise<void>;
  /** Creates an empty (all-zero) volume; fails if one already exists with that name. */
  createVolume(vol: VolumeLocator): Promise<{ providerLocation: string }>;
  /** Deletes a volume and its data; deleting a missing volume is not an error. */
  deleteVolume(vol: VolumeLocator): Promise<void>;
  volumeExists(vol: VolumeLocator): Promise<boolean>;
  /** Grows a volume to `newSizeGiB` (existing data kept, new space reads as zeros). */
  extendVolume(vol: VolumeLocator, newSizeGiB: number): Promise<void>;
  /** Point-in-time copy of the volume's data kept beside it. */
  createSnapshot(vol: VolumeLocator, snapshotId: string): Promise<void>;
  /** Deleting a missing snapshot is not an error. */
  deleteSnapshot(vol: VolumeLocator, snapshotId: string): Promise<void>;
  openVolume(vol: VolumeLocator): Promise<VolumeHandle>;
  /** How the hypervisor side opens the volume when it is attached. */
  connectionInfo(vol: VolumeLocator): Promise<ConnectionInfo>;
  /** Every volume object present in a pool, by name id (for recovery and orphan checks). */
  listVolumes(pool: string): Promise<string[]>;
  getPoolStats(): Promise<PoolStats[]>;
  ioStats(): IoStats;
  /**
   * Driver-assisted move (Cinder `migrate_volume`): `{moved: false}` declines and the service
   * runs the generic copy; a throw ends the migration in error (no silent fallback). When moved,
   * the object keeps its name (`volume-<nameId>`) and now lives in `target.pool`.
   */
  migrateVolume?(vol: VolumeLocator, status: VolumeStatus, target: MigrationTarget): Promise<DriverMigrateResult>;
  /** In-place retype: true when the driver changed what it needed (or needed nothing). */
  retype?(vol: VolumeLocator, newTypeExtraSpecs: Readonly<Record<string, string>>, diff: TypeDiff): Promise<boolean>;
  /**
   * Called on the destination after a generic copy, before the row swap (Cinder
   * `update_migrated_volume`): may rename the new object to the source's id.
   */
  updateMigratedVolume?(
    source: { readonly id: string; readonly locator: VolumeLocator },
    dest: { readonly id: string; readonly locator: VolumeLocator },
    originalStatus: VolumeStatus,
  ): Promise<MigratedVolumeUpdate>;
}

/** Builds a driver for a back-end; registered by name by the composition root. */
export type DriverFactory = (backend: BackendSpec) => VolumeDriver;
