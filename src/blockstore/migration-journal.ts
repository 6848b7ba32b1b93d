import { AppError } from '../shared/index.js';
import type { Db } from './state-db.js';

/**
 * Phases of one migration, journaled before each step takes effect so a restart knows exactly
 * what was done: everything before `completing` rolls back; `swapped` rolls forward.
 */
export type MigrationPhase =
  | 'accepted' // state changed to starting; destination capacity reserved
  | 'driver-moving' // driver-assisted move in progress
  | 'creating-dest' // temporary target row exists; destination object being created
  | 'copying'
  | 'verifying'
  | 'mirroring' // live copy of an attached volume running in its storage daemon
  | 'pivoted' // the consumer is served from the destination: only forward from here
  | 'completing' // data verified; about to rename + swap
  | 'swapped' // rows swapped; the old object remains to be deleted
  | 'done'
  | 'failed';

export type MigrationOutcome = 'success' | 'error' | 'rolled-back' | 'rolled-forward';

export interface MigrationRecord {
  readonly id: string;
  readonly volumeId: string;
  readonly kind: 'migrate' | 'retype';
  readonly srcHost: string;
  readonly destHost: string;
  readonly srcNameId: string;
  readonly targetVolumeId: string | null;
  readonly newTypeId: string | null;
  readonly forceHostCopy: boolean;
  readonly lockVolume: boolean;
  readonly path: 'driver' | 'generic' | 'live' | null;
  readonly phase: MigrationPhase;
  readonly renameFrom: string | null;
  readonly renameTo: string | null;
  readonly finalNameId: string | null;
  readonly bytesTotal: number;
  readonly bytesCopied: number;
  readonly outcome: MigrationOutcome | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly startedAtMs: number;
  readonly updatedAtMs: number;
  readonly finishedAtMs: number | null;
}

interface Row {
  id: string;
  volume_id: string;
  kind: string;
  src_host: string;
  dest_host: string;
  src_name_id: string;
  target_volume_id: string | null;
  new_type_id: string | null;
  force_host_copy: number;
  lock_volume: number;
  path: string | null;
  phase: string;
  rename_from: string | null;
  rename_to: string | null;
  final_name_id: string | null;
  bytes_total: number;
  bytes_copied: number;
  outcome: string | null;
  error_code: string | null;
  error_message: string | null;
  started_at: number;
  updated_at: number;
  finished_at: number | null;
}

function toRecord(r: Row): MigrationRecord {
  return {
    id: r.id,
    volumeId: r.volume_id,
    kind: r.kind as MigrationRecord['kind'],
    srcHost: r.src_host,
    destHost: r.dest_host,
    srcNameId: r.src_name_id,
    targetVolumeId: r.target_volume_id,
    newTypeId: r.new_type_id,
    forceHostCopy: r.force_host_copy === 1,
    lockVolume: r.lock_volume === 1,
    path: r.path as MigrationRecord['path'],
    phase: r.phase as MigrationPhase,
    renameFrom: r.rename_from,
    renameTo: r.rename_to,
    finalNameId: r.final_name_id,
    bytesTotal: r.bytes_total,
    bytesCopied: r.bytes_copied,
    outcome: r.outcome as MigrationOutcome | null,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    startedAtMs: r.started_at,
    updatedAtMs: r.updated_at,
    finishedAtMs: r.finished_at,
  };
}

const COLUMNS: Record<string, string> = {
  targetVolumeId: 'target_volume_id',
  path: 'path',
  phase: 'phase',
  renameFrom: 'rename_from',
  renameTo: 'rename_to',
  finalNameId: 'final_name_id',
  bytesTotal: 'bytes_total',
  bytesCopied: 'bytes_copied',
  outcome: 'outcome',
  errorCode: 'error_code',
  errorMessage: 'error_message',
  finishedAtMs: 'finished_at',
};

export type MigrationPatch = Partial<
  Pick<
    MigrationRecord,
    | 'targetVolumeId'
    | 'path'
    | 'phase'
    | 'renameFrom'
    | 'renameTo'
    | 'finalNameId'
    | 'bytesTotal'
    | 'bytesCopied'
    | 'outcome'
    | 'errorCode'
    | 'errorMessage'
    | 'finishedAtMs'
  >
>;

/** The migrations journal and the destination-capacity reservations. Callers own transactions. */
export class MigrationJournal {
  constructor(private readonly db: Db) {}

  insert(m: Omit<MigrationRecord, 'finishedAtMs' | 'outcome' | 'errorCode' | 'errorMessage' | 'bytesCopied' | 'bytesTotal' | 'renameFrom' | 'renameTo' | 'finalNameId' | 'path' | 'targetVolumeId'>): void {
    this.db
      .prepare(
        `INSERT INTO migrations (id, volume_id, kind, src_host, dest_host, src_name_id, new_type_id, force_host_copy, lock_volume,
           phase, started_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(m.id, m.volumeId, m.kind, m.srcHost, m.destHost, m.srcNameId, m.newTypeId, m.forceHostCopy ? 1 : 0, m.lockVolume ? 1 : 0, m.phase, m.startedAtMs, m.updatedAtMs);
  }

  find(id: string): MigrationRecord | null {
    const r = this.db.prepare('SELECT * FROM migrations WHERE id = ?').get(id) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  get(id: string): MigrationRecord {
    const m = this.find(id);
    if (!m) throw new AppError('INVALID_INPUT', `no migration ${id}`);
    return m;
  }

  /** The latest migration of a volume, finished or not. */
  latestForVolume(volumeId: string): MigrationRecord | null {
    const r = this.db.prepare('SELECT * FROM migrations WHERE volume_id = ? ORDER BY started_at DESC, rowid DESC LIMIT 1').get(volumeId) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  listOpen(): MigrationRecord[] {
    return (this.db.prepare('SELECT * FROM migrations WHERE finished_at IS NULL ORDER BY started_at, rowid').all() as Row[]).map(toRecord);
  }

  list(limit = 100): MigrationRecord[] {
    return (this.db.prepare('SELECT * FROM migrations ORDER BY started_at DESC, rowid DESC LIMIT ?').all(limit) as Row[]).map(toRecord);
  }

  update(id: string, patch: MigrationPatch, nowMs: number): void {
    const sets: string[] = [];
    const params: Record<string, unknown> = { id, now: nowMs };
    for (const [k, v] of Object.entries(patch)) {
      const col = COLUMNS[k];
      if (!col) throw new AppError('INTERNAL', `unknown migration field ${k}`);
      sets.push(`${col} = @${k}`);
      params[k] = v;
    }
    sets.push('updated_at = @now');
    this.db.prepare(`UPDATE migrations SET ${sets.join(', ')} WHERE id = @id`).run(params);
  }

  reserve(migrationId: string, poolHost: string, sizeGiB: number): void {
    this.db.prepare('INSERT INTO reservations (migration_id, pool_host, size_gib) VALUES (?, ?, ?)').run(migrationId, poolHost, sizeGiB);
  }

  release(migrationId: string): void {
    this.db.prepare('DELETE FROM reservations WHERE migration_id = ?').run(migrationId);
  }

  /** GiB reserved on each pool by migrations in flight. */
  reservedByPool(): Map<string, number> {
    const rows = this.db.prepare('SELECT pool_host, SUM(size_gib) AS gib FROM reservations GROUP BY pool_host').all() as { pool_host: string; gib: number }[];
    return new Map(rows.map((r) => [r.pool_host, r.gib]));
  }
}
