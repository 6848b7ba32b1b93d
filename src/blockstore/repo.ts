import type { Attachment, MigrationStatus, Snapshot, Volume, VolumeStatus, VolumeType } from '../model/index.js';
import { AppError } from '../shared/index.js';
import type { Db } from './state-db.js';

interface VolumeRow {
  id: string;
  name: string;
  description: string;
  size_gib: number;
  status: string;
  previous_status: string | null;
  migration_status: string | null;
  name_id: string | null;
  host: string;
  availability_zone: string;
  volume_type_id: string;
  project_id: string;
  provider_location: string | null;
  attach_status: string;
  replication_status: string | null;
  group_id: string | null;
  use_quota: number;
  metadata: string;
  created_at: number;
  updated_at: number;
}

function toVolume(r: VolumeRow): Volume {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    sizeGiB: r.size_gib,
    status: r.status as VolumeStatus,
    previousStatus: r.previous_status as VolumeStatus | null,
    migrationStatus: r.migration_status as MigrationStatus,
    nameIdOverride: r.name_id,
    host: r.host,
    availabilityZone: r.availability_zone,
    volumeTypeId: r.volume_type_id,
    projectId: r.project_id,
    providerLocation: r.provider_location,
    attachStatus: r.attach_status as 'attached' | 'detached',
    replicationStatus: r.replication_status,
    groupId: r.group_id,
    useQuota: r.use_quota === 1,
    metadata: JSON.parse(r.metadata) as Record<string, string>,
    createdAtMs: r.created_at,
    updatedAtMs: r.updated_at,
  };
}

const COLUMN: Record<keyof Omit<Volume, 'id' | 'createdAtMs'>, string> = {
  name: 'name',
  description: 'description',
  sizeGiB: 'size_gib',
  status: 'status',
  previousStatus: 'previous_status',
  migrationStatus: 'migration_status',
  nameIdOverride: 'name_id',
  host: 'host',
  availabilityZone: 'availability_zone',
  volumeTypeId: 'volume_type_id',
  projectId: 'project_id',
  providerLocation: 'provider_location',
  attachStatus: 'attach_status',
  replicationStatus: 'replication_status',
  groupId: 'group_id',
  useQuota: 'use_quota',
  metadata: 'metadata',
  updatedAtMs: 'updated_at',
};

export type VolumePatch = Partial<Omit<Volume, 'id' | 'createdAtMs' | 'updatedAtMs'>>;

function encode(key: string, value: unknown): unknown {
  if (key === 'metadata') return JSON.stringify(value ?? {});
  if (key === 'useQuota') return value ? 1 : 0;
  return value;
}

/** Row access for volumes, types, snapshots and attachments. Callers own the transaction. */
export class Repo {
  constructor(private readonly db: Db) {}

  findVolume(id: string): Volume | null {
    const r = this.db.prepare('SELECT * FROM volumes WHERE id = ? AND deleted = 0').get(id) as VolumeRow | undefined;
    return r ? toVolume(r) : null;
  }

  getVolume(id: string): Volume {
    const v = this.findVolume(id);
    if (!v) throw new AppError('VOLUME_NOT_FOUND', `Volume ${id} could not be found.`, { details: { volumeId: id } });
    return v;
  }

  /** All live volumes; migration targets only when `includeTargets` (admins see them). */
  listVolumes(includeTargets = true): Volume[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM volumes WHERE deleted = 0 ${includeTargets ? '' : "AND (migration_status IS NULL OR migration_status NOT LIKE 'target:%')"} ORDER BY created_at, id`,
      )
      .all() as VolumeRow[];
    return rows.map(toVolume);
  }

  insertVolume(v: Volume): void {
    this.db
      .prepare(
        `INSERT INTO volumes (id, name, description, size_gib, status, previous_status, migration_status, name_id, host,
          availability_zone, volume_type_id, project_id, provider_location, attach_status, replication_status, group_id,
          use_quota, metadata, created_at, updated_at)
         VALUES (@id, @name, @description, @sizeGiB, @status, @previousStatus, @migrationStatus, @nameIdOverride, @host,
          @availabilityZone, @volumeTypeId, @projectId, @providerLocation, @attachStatus, @replicationStatus, @groupId,
          @useQuota, @metadata, @createdAtMs, @updatedAtMs)`,
      )
      .run({ ...v, useQuota: v.useQuota ? 1 : 0, metadata: JSON.stringify(v.metadata) });
  }

  updateVolume(id: string, patch: VolumePatch, nowMs: number): Volume {
    const sets: string[] = [];
    const params: Record<string, unknown> = { id, updatedAtMs: nowMs };
    for (const [k, v] of Object.entries(patch)) {
      const col = COLUMN[k as keyof typeof COLUMN];
      if (!col) throw new AppError('INTERNAL', `unknown volume field ${k}`);
      sets.push(`${col} = @${k}`);
      params[k] = encode(k, v);
    }
    sets.push('updated_at = @updatedAtMs');
    const res = this.db.prepare(`UPDATE volumes SET ${sets.join(', ')} WHERE id = @id AND deleted = 0`).run(params);
    if (res.changes !== 1) throw new AppError('VOLUME_NOT_FOUND', `Volume ${id} could not be found.`);
    return this.getVolume(id);
  }

  markVolumeDeleted(id: string, nowMs: number): void {
    this.db.prepare("UPDATE volumes SET deleted = 1, status = 'deleted', updated_at = ? WHERE id = ?").run(nowMs, id);
  }

  // volume types

  listTypes(): VolumeType[] {
    const rows = this.db.prepare('SELECT * FROM volume_types ORDER BY name').all() as {
      id: string;
      name: string;
      description: string;
      extra_specs: string;
    }[];
    return rows.map((r) => ({ id: r.id, name: r.name, description: r.description, extraSpecs: JSON.parse(r.extra_specs) as Record<string, string> }));
  }

  findType(nameOrId: string): VolumeType | null {
    return this.listTypes().find((t) => t.id === nameOrId || t.name === nameOrId) ?? null;
  }

  getTypeById(id: string): VolumeType {
    const t = this.listTypes().find((x) => x.id === id);
    if (!t) throw new AppError('VOLUME_TYPE_NOT_FOUND', `Volume type ${id} could not be found.`);
    return t;
  }

  upsertType(t: VolumeType): void {
    this.db
      .prepare(
        `INSERT INTO volume_types (id, name, description, extra_specs) VALUES (?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET description = excluded.description, extra_specs = excluded.extra_specs`,
      )
      .run(t.id, t.name, t.description, JSON.stringify(t.extraSpecs));
  }

  // snapshots

  listSnapshots(volumeId?: string): Snapshot[] {
    const rows = (
      volumeId
        ? this.db.prepare('SELECT * FROM snapshots WHERE deleted = 0 AND volume_id = ? ORDER BY created_at, id').all(volumeId)
        : this.db.prepare('SELECT * FROM snapshots WHERE deleted = 0 ORDER BY created_at, id').all()
    ) as { id: string; volume_id: string; name: string; status: string; size_gib: number; created_at: number }[];
    return rows.map((r) => ({
      id: r.id,
      volumeId: r.volume_id,
      name: r.name,
      status: r.status as Snapshot['status'],
      sizeGiB: r.size_gib,
      createdAtMs: r.created_at,
    }));
  }

  getSnapshot(id: string): Snapshot {
    const s = this.listSnapshots().find((x) => x.id === id);
    if (!s) throw new AppError('SNAPSHOT_NOT_FOUND', `Snapshot ${id} could not be found.`);
    return s;
  }

  insertSnapshot(s: Snapshot): void {
    this.db
      .prepare('INSERT INTO snapshots (id, volume_id, name, status, size_gib, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(s.id, s.volumeId, s.name, s.status, s.sizeGiB, s.createdAtMs);
  }

  setSnapshotStatus(id: string, status: Snapshot['status']): void {
    this.db.prepare('UPDATE snapshots SET status = ? WHERE id = ?').run(status, id);
  }

  markSnapshotDeleted(id: string): void {
    this.db.prepare("UPDATE snapshots SET deleted = 1, status = 'deleted' WHERE id = ?").run(id);
  }

  // attachments

  listAttachments(volumeId: string): Attachment[] {
    const rows = this.db.prepare('SELECT * FROM attachments WHERE deleted = 0 AND volume_id = ? ORDER BY created_at').all(volumeId) as {
      id: string;
      volume_id: string;
      instance_uuid: string | null;
      attached_host: string | null;
      mountpoint: string | null;
      attach_mode: string;
      created_at: number;
    }[];
    return rows.map((r) => ({
      id: r.id,
      volumeId: r.volume_id,
      instanceUuid: r.instance_uuid,
      attachedHost: r.attached_host,
      mountpoint: r.mountpoint,
      attachMode: r.attach_mode as 'rw' | 'ro',
      createdAtMs: r.created_at,
    }));
  }

  insertAttachment(a: Attachment): void {
    this.db
      .prepare('INSERT INTO attachments (id, volume_id, instance_uuid, attached_host, mountpoint, attach_mode, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(a.id, a.volumeId, a.instanceUuid, a.attachedHost, a.mountpoint, a.attachMode, a.createdAtMs);
  }

  markAttachmentDeleted(id: string): void {
    this.db.prepare('UPDATE attachments SET deleted = 1 WHERE id = ?').run(id);
  }

  addEvent(e: { atMs: number; volumeId?: string | null; migrationId?: string | null; kind: string; message: string }): void {
    this.db
      .prepare('INSERT INTO events (at, volume_id, migration_id, kind, message) VALUES (?, ?, ?, ?, ?)')
      .run(e.atMs, e.volumeId ?? null, e.migrationId ?? null, e.kind, e.message);
  }
}
