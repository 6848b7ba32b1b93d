/**
 * Cinder v3 views of volumes and types, by role and microversion: admins get
 * `os-vol-host-attr:host`, `migration_status`, `os-vol-mig-status-attr:*` and, while a move runs,
 * Ballast's `migration_progress`; members get none of them (sections 1.6 and 1.8).
 *
 * @module
 */
import { USER_VISIBLE_EXTRA_SPECS, volumeView, type BlockService } from '../../blockstore/index.js';
import type { Volume, VolumeType } from '../../model/index.js';
import type { Identity } from '../http/types.js';
import { atLeast, type Microversion } from './microversion.js';

/** Cinder's timestamp format (`2013-09-01T14:53:22.000000`). */
export function cinderTime(iso: unknown): string | null {
  return typeof iso === 'string' ? iso.replace(/Z$/, '000') : null;
}

function links(baseUrl: string, projectId: string, kind: string, id: string): { href: string; rel: string }[] {
  return [
    { href: `${baseUrl}/v3/${projectId}/${kind}/${id}`, rel: 'self' },
    { href: `${baseUrl}/${projectId}/${kind}/${id}`, rel: 'bookmark' },
  ];
}

/** Options of a view: who asks, at which microversion, with which base URL. */
export interface ViewOptions {
  readonly who: Identity;
  readonly mv: Microversion;
  readonly baseUrl: string;
}

/** `GET /volumes/{id}` and `volumes/detail` entries. */
export function volumeDetail(service: BlockService, v: Volume, o: ViewOptions): Record<string, unknown> {
  const t = service.typeById(v.volumeTypeId);
  const full = volumeView(v, t, service.attachments(v.id), service.latestMigration(v.id));
  const admin = o.who.role === 'admin';
  const attachments = (full['attachments'] as Record<string, unknown>[]).map((a) => ({
    ...a,
    attached_at: cinderTime(a['attached_at']),
    ...(admin ? {} : { host_name: null }),
  }));
  const out: Record<string, unknown> = {
    id: v.id,
    status: v.status,
    size: v.sizeGiB,
    availability_zone: v.availabilityZone,
    created_at: cinderTime(full['created_at']),
    updated_at: cinderTime(full['updated_at']),
    name: full['name'],
    description: full['description'],
    volume_type: full['volume_type'],
    snapshot_id: null,
    source_volid: null,
    metadata: v.metadata,
    links: links(o.baseUrl, v.projectId, 'volumes', v.id),
    user_id: null,
    bootable: 'false',
    encrypted: false,
    replication_status: v.replicationStatus,
    consistencygroup_id: null,
    multiattach: false,
    attachments,
    'os-vol-tenant-attr:tenant_id': v.projectId,
  };
  if (admin) {
    out['migration_status'] = v.migrationStatus;
    out['os-vol-host-attr:host'] = v.host;
    out['os-vol-mig-status-attr:migstat'] = v.migrationStatus;
    out['os-vol-mig-status-attr:name_id'] = v.nameIdOverride;
    for (const k of ['migration_progress', 'migration_phase', 'migration_destination', 'migration_bytes_copied', 'migration_bytes_total']) {
      if (k in full) out[k] = full[k];
    }
  }
  if (atLeast(o.mv, '3.13')) out['group_id'] = v.groupId;
  if (atLeast(o.mv, '3.48')) {
    out['shared_targets'] = false;
    out['service_uuid'] = null;
  }
  if (admin && atLeast(o.mv, '3.61')) out['cluster_name'] = null;
  if (atLeast(o.mv, '3.63')) out['volume_type_id'] = v.volumeTypeId;
  if (atLeast(o.mv, '3.65')) out['consumes_quota'] = v.useQuota;
  return out;
}

/** `GET /volumes` entries (summary). */
export function volumeSummary(v: Volume, o: ViewOptions): Record<string, unknown> {
  return { id: v.id, name: v.name || null, links: links(o.baseUrl, v.projectId, 'volumes', v.id) };
}

/** Extra specs a caller may see: all for admins, the user-visible ones for members. */
export function visibleSpecs(t: VolumeType, who: Identity): Record<string, string> {
  if (who.role === 'admin') return { ...t.extraSpecs };
  return Object.fromEntries(Object.entries(t.extraSpecs).filter(([k]) => USER_VISIBLE_EXTRA_SPECS.includes(k)));
}

/** A volume type as `GET /types/{id}` shows it. */
export function typeDetail(t: VolumeType, who: Identity): Record<string, unknown> {
  return {
    id: t.id,
    name: t.name,
    description: t.description || null,
    is_public: true,
    'os-volume-type-access:is_public': true,
    qos_specs_id: null,
    extra_specs: visibleSpecs(t, who),
  };
}
