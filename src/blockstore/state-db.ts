import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError } from '../shared/index.js';

export type Db = Database.Database;

/**
 * Schema of the embedded block service's state. Column names follow Cinder's (snake_case). Every
 * state change runs in a transaction; `BEGIN IMMEDIATE` serializes writers across processes.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE volume_types (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     description TEXT NOT NULL DEFAULT '',
     extra_specs TEXT NOT NULL DEFAULT '{}'
   );
   CREATE TABLE volumes (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL DEFAULT '',
     description TEXT NOT NULL DEFAULT '',
     size_gib INTEGER NOT NULL,
     status TEXT NOT NULL,
     previous_status TEXT,
     migration_status TEXT,
     name_id TEXT,
     host TEXT NOT NULL,
     availability_zone TEXT NOT NULL,
     volume_type_id TEXT NOT NULL REFERENCES volume_types(id),
     project_id TEXT NOT NULL,
     provider_location TEXT,
     attach_status TEXT NOT NULL DEFAULT 'detached',
     replication_status TEXT,
     group_id TEXT,
     use_quota INTEGER NOT NULL DEFAULT 1,
     metadata TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     deleted INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX volumes_host ON volumes(host) WHERE deleted = 0;
   CREATE TABLE snapshots (
     id TEXT PRIMARY KEY,
     volume_id TEXT NOT NULL REFERENCES volumes(id),
     name TEXT NOT NULL DEFAULT '',
     status TEXT NOT NULL,
     size_gib INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     deleted INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE attachments (
     id TEXT PRIMARY KEY,
     volume_id TEXT NOT NULL REFERENCES volumes(id),
     instance_uuid TEXT,
     attached_host TEXT,
     mountpoint TEXT,
     attach_mode TEXT NOT NULL DEFAULT 'rw',
     created_at INTEGER NOT NULL,
     deleted INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE migrations (
     id TEXT PRIMARY KEY,
     volume_id TEXT NOT NULL REFERENCES volumes(id),
     kind TEXT NOT NULL,              -- migrate | retype
     src_host TEXT NOT NULL,
     dest_host TEXT NOT NULL,
     src_name_id TEXT NOT NULL,
     target_volume_id TEXT,
     new_type_id TEXT,
     force_host_copy INTEGER NOT NULL DEFAULT 0,
     lock_volume INTEGER NOT NULL DEFAULT 0,
     path TEXT,                       -- driver | generic (decided when it runs)
     phase TEXT NOT NULL,
     rename_from TEXT,                -- update_migrated_volume intent, journaled before the rename
     rename_to TEXT,
     final_name_id TEXT,
     bytes_total INTEGER NOT NULL DEFAULT 0,
     bytes_copied INTEGER NOT NULL DEFAULT 0,
     outcome TEXT,                    -- success | error | rolled-back | rolled-forward
     error_code TEXT,
     error_message TEXT,
     started_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     finished_at INTEGER
   );
   CREATE INDEX migrations_open ON migrations(phase) WHERE finished_at IS NULL;
   CREATE TABLE reservations (
     migration_id TEXT PRIMARY KEY REFERENCES migrations(id),
     pool_host TEXT NOT NULL,
     size_gib INTEGER NOT NULL
   );
   CREATE TABLE events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     volume_id TEXT,
     migration_id TEXT,
     kind TEXT NOT NULL,
     message TEXT NOT NULL
   );`,
  // v2: the hypervisor side of attachments (storage daemon, exporter) and of live migrations.
  `ALTER TABLE attachments ADD COLUMN hypervisor TEXT;
   ALTER TABLE migrations ADD COLUMN live_state TEXT;
   ALTER TABLE migrations ADD COLUMN runner_pid INTEGER;`,
];

/** Opens (and creates or upgrades) the state database at `file`, in WAL mode. */
export function openStateDb(file: string): Db {
  mkdirSync(dirname(file), { recursive: true });
  let db: Db;
  try {
    db = new Database(file);
    db.pragma('busy_timeout = 10000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
  } catch (e) {
    throw new AppError('STATE_LOCKED', `cannot open state database ${file}: ${(e as Error).message}`, { cause: e });
  }
  // Schema upgrades run in one IMMEDIATE transaction that re-reads the version inside it, so two
  // processes starting together on a fresh deployment create the schema exactly once.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    if (version < MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
  return db;
}

/** Runs `fn` in a `BEGIN IMMEDIATE` transaction: writers in other processes wait (busy_timeout). */
export function inTx<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).immediate();
}
