/**
 * Cinder's JSON (get_pools, os-services, volumes/detail, types) mapped to the port's types. Pure:
 * tolerant of missing fields (older releases, other drivers), never inventing a number that
 * Cinder did not report beyond Cinder's own defaults.
 *
 * @module
 */
import type { CapacityValue, FleetPool, FleetVolume, InventoryVolumeType, MigrationStatus, PoolCapacity, VolumeStatus } from '../../model/index.js';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function num(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : null;
}

function bool(v: unknown, dflt: boolean): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return ['1', 't', 'true', 'on', 'y', 'yes'].includes(v.trim().toLowerCase());
  return dflt;
}

/** `total_capacity_gb` / `free_capacity_gb`: a number, `infinite`, `unknown`, or absent (null). */
export function capacityValue(v: unknown): CapacityValue | null {
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'infinite' || s === 'unknown') return s;
  }
  return num(v);
}

/** A pool's capacity as the capacity filter reads it (defaults as Cinder's host manager). */
export function poolCapacityFromCapabilities(caps: Json): PoolCapacity {
  const mosr = caps['max_over_subscription_ratio'];
  const ratio = typeof mosr === 'string' && mosr.trim().toLowerCase() === 'auto' ? 'auto' : (num(mosr) ?? 20);
  return {
    totalCapacityGb: capacityValue(caps['total_capacity_gb']),
    freeCapacityGb: capacityValue(caps['free_capacity_gb']),
    provisionedCapacityGb: num(caps['provisioned_capacity_gb']) ?? num(caps['allocated_capacity_gb']) ?? 0,
    maxOverSubscriptionRatio: ratio,
    reservedPercentage: num(caps['reserved_percentage']) ?? 0,
    thinProvisioningSupport: bool(caps['thin_provisioning_support'], false),
    thickProvisioningSupport: bool(caps['thick_provisioning_support'], false),
  };
}

/** One `cinder-volume` service of `os-services`, keyed by its `host@backend`. */
export interface VolumeServiceState {
  readonly zone: string;
  readonly up: boolean;
  readonly enabled: boolean;
}

/** `GET /os-services` → cinder-volume services by `host@backend` (the service's `host`). */
export function volumeServices(body: unknown): Map<string, VolumeServiceState> {
  const out = new Map<string, VolumeServiceState>();
  const list = Array.isArray(obj(body)['services']) ? (obj(body)['services'] as unknown[]) : [];
  for (const s of list.map(obj)) {
    if (s['binary'] !== 'cinder-volume') continue;
    const host = str(s['host']);
    if (host === null) continue;
    out.set(host, { zone: str(s['zone']) ?? 'nova', up: s['state'] === 'up', enabled: s['status'] !== 'disabled' });
  }
  return out;
}

/** `host@backend` of `host@backend#pool`, without throwing on names Ballast itself would refuse. */
export function backendOf(poolName: string): string {
  const i = poolName.indexOf('#');
  return i >= 0 ? poolName.slice(0, i) : poolName;
}

function primitiveCaps(caps: Json): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const k of Object.keys(caps).sort()) {
    const v = caps[k];
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) out[k] = v;
  }
  return out;
}

function positive(v: unknown): number | null {
  const n = num(v);
  return n !== null && n > 0 ? n : null;
}

/** What the volume list says about each pool (keyed by `host@backend#pool`). */
export interface PoolVolumeFacts {
  /** Zone of a volume on the pool (for pools whose service lists none). */
  readonly zones: ReadonlyMap<string, string>;
  /** Sum of the sizes (GiB) of the volume rows on the pool, migration targets included. */
  readonly allocatedGiB: ReadonlyMap<string, number>;
}

/** Zones and allocated sizes per pool from `volumes/detail` rows. */
export function poolVolumeFacts(rows: readonly unknown[]): PoolVolumeFacts {
  const zones = new Map<string, string>();
  const allocatedGiB = new Map<string, number>();
  for (const v of rows.map(obj)) {
    const host = volumeHost(v);
    if (host === null) continue;
    const az = str(v['availability_zone']);
    if (az !== null && !zones.has(host)) zones.set(host, az);
    allocatedGiB.set(host, (allocatedGiB.get(host) ?? 0) + (num(v['size']) ?? 0));
  }
  return { zones, allocatedGiB };
}

/**
 * `GET /scheduler-stats/get_pools?detail=true` → pools, sorted by name. The availability zone and
 * the state come from the pool's `cinder-volume` service: `down` when the service is down,
 * disabled (Cinder will not place on it), or not listed. Without a zone from the service, the
 * zone of a volume on the pool is used, else `nova`.
 *
 * `allocatedGiB` is the sum of the sizes of the volumes on the pool when `facts` are given:
 * Cinder's own `allocated_capacity_gb` keeps the size of every volume moved away until
 * cinder-volume restarts (realcinder gotcha 5), so it overstates a pool that has been drained.
 * Cinder's number stays in `capabilities.allocated_capacity_gb`; without `facts` it is used.
 */
export function mapPools(body: unknown, services: ReadonlyMap<string, VolumeServiceState>, facts: PoolVolumeFacts | null = null): FleetPool[] {
  const list = Array.isArray(obj(body)['pools']) ? (obj(body)['pools'] as unknown[]) : [];
  const pools: FleetPool[] = [];
  for (const p of list.map(obj)) {
    const name = str(p['name']);
    if (name === null) continue;
    const caps = obj(p['capabilities']);
    const backend = backendOf(name);
    const svc = services.get(backend);
    pools.push({
      name,
      backend,
      volumeBackendName: str(caps['volume_backend_name']) ?? backend.slice(backend.indexOf('@') + 1),
      availabilityZone: svc?.zone ?? facts?.zones.get(name) ?? 'nova',
      capacity: poolCapacityFromCapabilities(caps),
      allocatedGiB: facts ? (facts.allocatedGiB.get(name) ?? 0) : (num(caps['allocated_capacity_gb']) ?? 0),
      capabilities: primitiveCaps(caps),
      ratedIops: positive(caps['rated_iops']),
      ratedThroughputBytesPerSec: positive(caps['rated_throughput_bytes_per_sec']),
      state: svc !== undefined && svc.up && svc.enabled ? 'up' : 'down',
    });
  }
  return pools.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `GET /types` → volume types with their extra specs (as strings), sorted by name. */
export function mapVolumeTypes(body: unknown): InventoryVolumeType[] {
  const list = Array.isArray(obj(body)['volume_types']) ? (obj(body)['volume_types'] as unknown[]) : [];
  return list
    .map(obj)
    .filter((t) => str(t['id']) !== null)
    .map((t) => {
      const specs: Record<string, string> = {};
      const raw = obj(t['extra_specs']);
      for (const k of Object.keys(raw).sort()) if (raw[k] !== null && raw[k] !== undefined) specs[k] = String(raw[k]);
      return { id: str(t['id'])!, name: str(t['name']) ?? str(t['id'])!, extraSpecs: specs };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const KNOWN_STATUS = new Set<string>(['creating', 'available', 'in-use', 'attaching', 'detaching', 'maintenance', 'retyping', 'extending', 'deleting', 'error', 'error_deleting']);
/** Cinder statuses outside Ballast's set: all mean "busy, do not move". */
const BUSY_STATUS: Readonly<Record<string, VolumeStatus>> = { reserved: 'attaching', 'backing-up': 'maintenance', 'restoring-backup': 'maintenance', downloading: 'maintenance', uploading: 'maintenance', 'awaiting-transfer': 'maintenance' };

/** Cinder's `status` in Ballast's set: unknown busy states become `maintenance`, `error_*` become `error`. */
export function volumeStatus(s: unknown): VolumeStatus {
  const v = str(s) ?? 'error';
  if (KNOWN_STATUS.has(v)) return v as VolumeStatus;
  return BUSY_STATUS[v] ?? (v.startsWith('error') ? 'error' : 'maintenance');
}

const KNOWN_MIGSTAT = new Set<string>(['starting', 'migrating', 'completing', 'success', 'error', 'deleting']);

/** Cinder's `migration_status` (`none` and absent are null). */
export function migrationStatus(s: unknown): MigrationStatus {
  const v = str(s);
  if (v === null || v === '' || v.toLowerCase() === 'none') return null;
  if (v.startsWith('target:')) return v as `target:${string}`;
  return KNOWN_MIGSTAT.has(v) ? (v as MigrationStatus) : 'error';
}

/** Whether a volume row is not a user's volume: a migration target or a temporary row outside quota. */
export function isHiddenVolume(v: Json): boolean {
  const ms = str(v['migration_status']) ?? str(v['os-vol-mig-status-attr:migstat']);
  return (ms !== null && ms.startsWith('target:')) || v['consumes_quota'] === false;
}

/** The host a volume lives on (`os-vol-host-attr:host`), or null when it was never scheduled. */
export function volumeHost(v: Json): string | null {
  return str(v['os-vol-host-attr:host']);
}

/**
 * One volume of `volumes/detail` (admin view) → a fleet volume; null for hidden rows and volumes
 * with no host. `typeIdsByName` fills `volumeTypeId` before microversion 3.63.
 */
export function mapVolume(v: Json, snapshotCount: number, typeIdsByName: ReadonlyMap<string, string>): FleetVolume | null {
  const id = str(v['id']);
  const host = volumeHost(v);
  if (id === null || host === null || isHiddenVolume(v)) return null;
  const typeName = str(v['volume_type']) ?? '';
  const meta = obj(v['metadata']);
  const metadata: Record<string, string> = {};
  for (const k of Object.keys(meta).sort()) metadata[k] = String(meta[k]);
  const status = volumeStatus(v['status']);
  const attachments = Array.isArray(v['attachments']) ? v['attachments'] : [];
  const replication = str(v['replication_status']);
  return {
    id,
    name: str(v['name']) ?? '',
    sizeGiB: num(v['size']) ?? 0,
    pool: host,
    volumeTypeId: str(v['volume_type_id']) ?? typeIdsByName.get(typeName) ?? typeName,
    volumeType: typeName,
    projectId: str(v['os-vol-tenant-attr:tenant_id']) ?? '',
    availabilityZone: str(v['availability_zone']) ?? 'nova',
    metadata,
    status,
    migrationStatus: migrationStatus(v['migration_status'] ?? v['os-vol-mig-status-attr:migstat']),
    attached: attachments.length > 0 || status === 'in-use',
    multiattach: v['multiattach'] === true,
    snapshotCount,
    groupId: str(v['group_id']) ?? str(v['consistencygroup_id']),
    replicated: replication !== null && !['disabled', 'not-capable'].includes(replication),
  };
}

/** Snapshots per volume id from `snapshots/detail` rows. */
export function countSnapshots(rows: readonly unknown[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of rows.map(obj)) {
    const vid = str(s['volume_id']);
    if (vid !== null) out.set(vid, (out.get(vid) ?? 0) + 1);
  }
  return out;
}
