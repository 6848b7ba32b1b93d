import { isMigrating, type Attachment, type Snapshot, type Volume, type VolumeType } from '../model/index.js';
import { isoTime } from '../shared/index.js';
import type { MigrationRecord } from './migration-journal.js';
import { poolCapacity, type PoolView } from './scheduler.js';
import { virtualFreeGiB } from '../model/index.js';

/** A volume as Cinder's v3 `volumes/detail` shows it to an admin (field names kept exactly). */
export function volumeView(
  v: Volume,
  t: VolumeType | null,
  attachments: readonly Attachment[],
  migration: MigrationRecord | null,
): Record<string, unknown> {
  const migrating = isMigrating(v.migrationStatus);
  const view: Record<string, unknown> = {
    id: v.id,
    name: v.name || null,
    description: v.description || null,
    size: v.sizeGiB,
    status: v.status,
    availability_zone: v.availabilityZone,
    bootable: 'false',
    encrypted: false,
    multiattach: false,
    volume_type: t?.name ?? null,
    volume_type_id: v.volumeTypeId,
    snapshot_id: null,
    source_volid: null,
    consistencygroup_id: null,
    group_id: v.groupId,
    replication_status: v.replicationStatus,
    metadata: v.metadata,
    attachments: attachments.map((a) => ({
      id: a.id,
      attachment_id: a.id,
      volume_id: a.volumeId,
      server_id: a.instanceUuid,
      host_name: a.attachedHost,
      device: a.mountpoint,
      attached_at: isoTime(a.createdAtMs),
    })),
    created_at: isoTime(v.createdAtMs),
    updated_at: isoTime(v.updatedAtMs),
    migration_status: v.migrationStatus,
    'os-vol-host-attr:host': v.host,
    'os-vol-mig-status-attr:migstat': v.migrationStatus,
    'os-vol-mig-status-attr:name_id': v.nameIdOverride,
    'os-vol-tenant-attr:tenant_id': v.projectId,
    consumes_quota: v.useQuota,
    provider_location: v.providerLocation,
  };
  if (migrating && migration && migration.finishedAtMs === null) {
    // Ballast fixes Cinder's missing progress (cinder-specs migration-progress-in-volume-details).
    const pct = migration.bytesTotal > 0 ? Math.floor((100 * migration.bytesCopied) / migration.bytesTotal) : 0;
    view['migration_progress'] = String(pct);
    view['migration_bytes_copied'] = migration.bytesCopied;
    view['migration_bytes_total'] = migration.bytesTotal;
    view['migration_phase'] = migration.phase;
    view['migration_destination'] = migration.destHost;
  }
  return view;
}

export function snapshotView(s: Snapshot): Record<string, unknown> {
  return {
    id: s.id,
    volume_id: s.volumeId,
    name: s.name || null,
    status: s.status,
    size: s.sizeGiB,
    created_at: isoTime(s.createdAtMs),
  };
}

/** A pool as `scheduler-stats/get_pools?detail=true` shows it. */
export function poolView(p: PoolView): { name: string; capabilities: Record<string, unknown> } {
  const cap = poolCapacity(p);
  return {
    name: p.host,
    capabilities: {
      ...p.stats,
      allocated_capacity_gb: p.allocatedGiB,
      provisioned_capacity_gb: p.allocatedGiB + p.reservedInFlightGiB,
      reserved_for_migrations_gb: p.reservedInFlightGiB,
      virtual_free_capacity_gb: virtualFreeGiB(cap, p.stats.thin_provisioning_support),
    },
  };
}

export function migrationView(m: MigrationRecord): Record<string, unknown> {
  return {
    id: m.id,
    volume_id: m.volumeId,
    kind: m.kind,
    source: m.srcHost,
    destination: m.destHost,
    path: m.path,
    phase: m.phase,
    outcome: m.outcome,
    bytes_copied: m.bytesCopied,
    bytes_total: m.bytesTotal,
    error_code: m.errorCode,
    error_message: m.errorMessage,
    started_at: isoTime(m.startedAtMs),
    finished_at: m.finishedAtMs === null ? null : isoTime(m.finishedAtMs),
  };
}

export function typeView(t: VolumeType): Record<string, unknown> {
  return { id: t.id, name: t.name, description: t.description || null, extra_specs: t.extraSpecs };
}
