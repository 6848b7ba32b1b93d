/** Cinder volume statuses Ballast uses (section 0.1). */
export type VolumeStatus =
  | 'creating'
  | 'available'
  | 'in-use'
  | 'attaching'
  | 'detaching'
  | 'maintenance'
  | 'retyping'
  | 'extending'
  | 'deleting'
  | 'error'
  | 'error_deleting';

/**
 * `migration_status` values. `target:<id>` marks a temporary destination row; `deleting` a source
 * whose old data failed to delete after a migration.
 */
export type MigrationStatus = null | 'starting' | 'migrating' | 'completing' | 'success' | 'error' | 'deleting' | `target:${string}`;

/** Statuses in which a volume is not migrating (`API.AVAILABLE_MIGRATION_STATUS`). */
export const AVAILABLE_MIGRATION_STATUS: readonly MigrationStatus[] = [null, 'deleting', 'error', 'success'];

export function isMigrating(ms: MigrationStatus): boolean {
  return !AVAILABLE_MIGRATION_STATUS.includes(ms);
}

export function isMigrationTarget(ms: MigrationStatus): boolean {
  return typeof ms === 'string' && ms.startsWith('target:');
}

export interface VolumeType {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly extraSpecs: Readonly<Record<string, string>>;
}

export interface Volume {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly sizeGiB: number;
  readonly status: VolumeStatus;
  readonly previousStatus: VolumeStatus | null;
  readonly migrationStatus: MigrationStatus;
  /** `_name_id`: the id the back-end object name derives from; null means `id`. */
  readonly nameIdOverride: string | null;
  /** `host@backend#pool`. */
  readonly host: string;
  readonly availabilityZone: string;
  readonly volumeTypeId: string;
  readonly projectId: string;
  readonly providerLocation: string | null;
  readonly attachStatus: 'attached' | 'detached';
  readonly replicationStatus: string | null;
  readonly groupId: string | null;
  readonly useQuota: boolean;
  readonly metadata: Readonly<Record<string, string>>;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/** `name_id = _name_id or id`. */
export function nameIdOf(v: Pick<Volume, 'id' | 'nameIdOverride'>): string {
  return v.nameIdOverride ?? v.id;
}

/** `volume_name_template % name_id`. */
export function backendNameOf(v: Pick<Volume, 'id' | 'nameIdOverride'>): string {
  return `volume-${nameIdOf(v)}`;
}

export interface Snapshot {
  readonly id: string;
  readonly volumeId: string;
  readonly name: string;
  readonly status: 'creating' | 'available' | 'deleting' | 'error';
  readonly sizeGiB: number;
  readonly createdAtMs: number;
}

export interface Attachment {
  readonly id: string;
  readonly volumeId: string;
  readonly instanceUuid: string | null;
  readonly attachedHost: string | null;
  readonly mountpoint: string | null;
  readonly attachMode: 'rw' | 'ro';
  readonly createdAtMs: number;
}
