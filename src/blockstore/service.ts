import { join } from 'node:path';
import type { Attachment, Snapshot, Volume, VolumeType } from '../model/index.js';
import { AppError, systemClock, uuidGenerator, type Clock, type IdGenerator } from '../shared/index.js';
import { completeMigration, createType, resetStatus, updateTypeExtraSpecs, type ResetStatusRequest } from './admin-ops.js';
import { attachLive, detachLive, readHypervisorState, type HypervisorSettings } from './attachments.js';
import { ServiceContext, type CopySettings } from './context.js';
import { readVolumeToFile, writeVolumeFromFile, type DataProgress } from './data-io.js';
import type { BackendSpec, DriverFactory, IoCounters, VolumeDriver } from './driver-port.js';
import { noFaults, type FaultInjector } from './faults.js';
import { acceptMigration, type MigrateOptions } from './migration-accept.js';
import type { MigrationRecord } from './migration-journal.js';
import { runMigration, type RunOptions } from './migration-run.js';
import { RateLimiter } from './rate-limiter.js';
import { recoverInterrupted, type RecoveryAction } from './recovery.js';
import { retypeVolume, type MigrationPolicy, type RetypeResult } from './retype.js';
import { poolCapacity, type PoolView } from './scheduler.js';
import { openStateDb, inTx } from './state-db.js';
import * as ops from './volume-ops.js';

export interface TypeDefinition {
  readonly name: string;
  readonly description: string;
  readonly extraSpecs: Readonly<Record<string, string>>;
}

export interface BlockServiceOptions {
  readonly stateDbPath: string;
  /** Directory for lock files and other runtime state. */
  readonly runDir: string;
  readonly backends: readonly BackendSpec[];
  readonly volumeTypes: readonly TypeDefinition[];
  readonly defaultVolumeType: string | null;
  readonly drivers: Readonly<Record<string, DriverFactory>>;
  readonly copy?: Partial<CopySettings>;
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  readonly faults?: FaultInjector;
  readonly projectId?: string;
  /** Skip crash recovery on open (only for tools that inspect state read-only). */
  readonly skipRecovery?: boolean;
  /** The hypervisor side (QEMU): real attachments and live moves. Without it attachments are records. */
  readonly hypervisor?: HypervisorSettings;
}

/**
 * Ballast's embedded, Cinder-compatible block service: volumes with real data on local drivers,
 * Cinder's scheduler math, migration and retype with Cinder's status semantics, crash-safe.
 */
export class BlockService {
  private constructor(
    readonly ctx: ServiceContext,
    private readonly defaultType: string | null,
    /** What the start-up recovery did (empty when nothing was interrupted). */
    readonly recovery: readonly RecoveryAction[],
    private readonly limiter: RateLimiter | null,
  ) {}

  /** Opens the state database, sets up the drivers, syncs volume types, and recovers interrupted work. */
  static async open(opts: BlockServiceOptions): Promise<BlockService> {
    const db = openStateDb(opts.stateDbPath);
    try {
      const drivers = new Map<string, VolumeDriver>();
      for (const b of opts.backends) {
        const factory = opts.drivers[b.driver];
        if (!factory) throw new AppError('DRIVER_NOT_FOUND', `back-end ${b.name}: no volume driver named '${b.driver}' (drivers: ${Object.keys(opts.drivers).join(', ')})`);
        const d = factory(b);
        await d.setup();
        drivers.set(b.name, d);
      }
      const copy: CopySettings = { bufferBytes: opts.copy?.bufferBytes ?? 4 * 1024 * 1024, bpsLimit: opts.copy?.bpsLimit ?? 0 };
      const ctx = new ServiceContext(
        db,
        opts.backends,
        drivers,
        opts.clock ?? systemClock,
        opts.ids ?? uuidGenerator,
        opts.faults ?? noFaults,
        join(opts.runDir, 'locks'),
        copy,
        opts.projectId ?? 'admin',
        opts.hypervisor ?? null,
      );
      inTx(db, () => {
        for (const t of opts.volumeTypes) {
          const existing = ctx.repo.findType(t.name);
          ctx.repo.upsertType({ id: existing?.id ?? ctx.ids(), name: t.name, description: t.description, extraSpecs: t.extraSpecs });
        }
      });
      const recovery = opts.skipRecovery ? [] : await recoverInterrupted(ctx);
      const limiter = copy.bpsLimit > 0 ? new RateLimiter({ bytesPerSecond: copy.bpsLimit }) : null;
      return new BlockService(ctx, opts.defaultVolumeType, recovery, limiter);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  close(): void {
    for (const id of [...this.ctx.heldMigrationLocks.keys()]) this.ctx.releaseMigrationLock(id);
    this.ctx.db.close();
  }

  // pools and types

  async listPools(): Promise<PoolView[]> {
    const stats = await this.ctx.poolStats();
    return this.ctx.poolViews(stats);
  }

  /**
   * Cumulative I/O counters of this process's drivers: per pool (`host@backend#pool`) and per
   * volume id (the drivers count by back-end object name; this maps `name_id` back to the id).
   */
  ioStats(): { pools: Record<string, IoCounters>; volumes: Record<string, IoCounters> } {
    const byNameId = new Map(this.ctx.repo.listVolumes(true).map((v) => [v.nameIdOverride ?? v.id, v.id]));
    const pools: Record<string, IoCounters> = {};
    const volumes: Record<string, IoCounters> = {};
    for (const [backendName, driver] of this.ctx.drivers) {
      const s = driver.ioStats();
      const b = this.ctx.backends.find((x) => x.name === backendName)!;
      for (const [pool, c] of Object.entries(s.pools)) pools[`${b.host}@${b.name}#${pool}`] = c;
      for (const [nameId, c] of Object.entries(s.volumes)) {
        const id = byNameId.get(nameId);
        if (id) volumes[id] = c;
      }
    }
    return { pools, volumes };
  }

  listTypes(): VolumeType[] {
    return this.ctx.repo.listTypes();
  }

  typeById(id: string): VolumeType | null {
    return this.ctx.repo.listTypes().find((t) => t.id === id) ?? null;
  }

  /** Creates a volume type (`POST /types`); TYPE_EXISTS when the name is taken. */
  createType(def: { name: unknown; description?: unknown; extraSpecs?: unknown }): VolumeType {
    return createType(this.ctx, def);
  }

  /** Sets and unsets extra specs of a type no live volume uses. */
  updateTypeExtraSpecs(typeId: string, set: unknown, unset: readonly string[] = []): VolumeType {
    return updateTypeExtraSpecs(this.ctx, typeId, set, unset);
  }

  // volumes

  createVolume(req: ops.CreateVolumeRequest): Promise<Volume> {
    return ops.createVolume(this.ctx, req, this.defaultType);
  }

  deleteVolume(id: string): Promise<void> {
    return ops.deleteVolume(this.ctx, id);
  }

  extendVolume(id: string, newSizeGiB: unknown): Promise<Volume> {
    return ops.extendVolume(this.ctx, id, newSizeGiB);
  }

  getVolume(id: string): Volume {
    return this.ctx.repo.getVolume(id);
  }

  /** Live volumes; temporary migration targets only with `includeTargets` (as admins see them). */
  listVolumes(includeTargets = false): Volume[] {
    return this.ctx.repo.listVolumes(includeTargets);
  }

  attachments(volumeId: string): Attachment[] {
    return this.ctx.repo.listAttachments(volumeId);
  }

  /**
   * Attaches a volume. With a hypervisor side, a storage daemon serves it and `address` is the
   * consumer's NBD address; without one, the attachment is a record (status in-use) and `address`
   * is null.
   */
  async attachVolume(volumeId: string, opts: { instanceUuid?: string; hostName?: string; mountpoint?: string } = {}): Promise<{ attachment: Attachment; address: string | null }> {
    if (this.ctx.hypervisor) return attachLive(this.ctx, volumeId, opts);
    return { attachment: ops.attachVolume(this.ctx, volumeId, opts), address: null };
  }

  async detachVolume(volumeId: string, attachmentId?: string): Promise<Volume> {
    const atts = this.ctx.repo.listAttachments(volumeId);
    const target = attachmentId ? atts.find((a) => a.id === attachmentId) : atts[0];
    if (target && readHypervisorState(this.ctx, target.id)) return detachLive(this.ctx, volumeId, attachmentId);
    return ops.detachVolume(this.ctx, volumeId, attachmentId);
  }

  /** The consumer address of an attachment (null for record-only attachments). */
  attachmentAddress(attachmentId: string): string | null {
    return readHypervisorState(this.ctx, attachmentId)?.address ?? null;
  }

  writeVolume(id: string, file: string, offset = 0, onProgress?: (p: DataProgress) => void): Promise<{ bytesWritten: number }> {
    return writeVolumeFromFile(this.ctx, id, file, offset, onProgress);
  }

  readVolume(id: string, file: string, onProgress?: (p: DataProgress) => void): Promise<{ bytesRead: number; sizeBytes: number }> {
    return readVolumeToFile(this.ctx, id, file, onProgress);
  }

  // snapshots

  createSnapshot(volumeId: string, name?: string): Promise<Snapshot> {
    return ops.createSnapshot(this.ctx, volumeId, name);
  }

  deleteSnapshot(id: string): Promise<void> {
    return ops.deleteSnapshot(this.ctx, id);
  }

  listSnapshots(volumeId?: string): Snapshot[] {
    return this.ctx.repo.listSnapshots(volumeId);
  }

  // migration and retype

  /** Accepts a migration (like Cinder's 202): state changed to `starting`, capacity reserved. */
  acceptMigration(volumeId: string, host: string, opts: MigrateOptions = {}): Promise<MigrationRecord> {
    return acceptMigration(this.ctx, volumeId, host, opts);
  }

  /** Runs an accepted migration to its end in this process. */
  runMigration(migrationId: string, opts: RunOptions = {}): Promise<MigrationRecord> {
    return runMigration(this.ctx, migrationId, { rateLimiter: this.limiter, ...opts });
  }

  /** Accept + run. */
  async migrateVolume(volumeId: string, host: string, opts: MigrateOptions & RunOptions = {}): Promise<MigrationRecord> {
    const m = await this.acceptMigration(volumeId, host, opts);
    return this.runMigration(m.id, opts);
  }

  /** Retype: in place, or accepted as a migration (run it with {@link runMigration}). */
  retype(volumeId: string, newType: string, policy: MigrationPolicy = 'never'): Promise<RetypeResult> {
    return retypeVolume(this.ctx, volumeId, newType, policy);
  }

  /**
   * Cancels the running move of a volume, whichever process runs it (`ballast migration cancel`):
   * its runner is asked to stop (SIGTERM), rolls back, and this waits until the journal says so.
   * Refused once a move is past its point of no return (pivot or swap).
   */
  async cancelMigration(volumeId: string, timeoutMs = 120_000): Promise<MigrationRecord> {
    const m = this.ctx.journal.latestForVolume(volumeId);
    if (!m || m.finishedAtMs !== null) throw new AppError('INVALID_VOLUME', `Volume ${volumeId} has no migration in progress`);
    if (['pivoted', 'completing', 'swapped', 'done'].includes(m.phase)) {
      throw new AppError('INVALID_VOLUME', `the migration of volume ${volumeId} is ${m.phase}: past the point where it can be cancelled; it finishes on its own`);
    }
    const row = this.ctx.db.prepare('SELECT runner_pid FROM migrations WHERE id = ?').get(m.id) as { runner_pid: number | null };
    if (!row.runner_pid || row.runner_pid === process.pid) throw new AppError('INVALID_VOLUME', `migration ${m.id} has no other runner process to cancel`);
    try {
      process.kill(row.runner_pid, 'SIGTERM');
    } catch (e) {
      throw new AppError('INVALID_VOLUME', `the runner of migration ${m.id} (pid ${row.runner_pid}) is gone: ${(e as Error).message}; the next start recovers it`);
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = this.ctx.journal.get(m.id);
      if (now.finishedAtMs !== null) return now;
      if (Date.now() > deadline) throw new AppError('INTERNAL', `migration ${m.id} did not stop within ${timeoutMs} ms of being cancelled`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** `os-reset_status` (admin): refused while a migration of the volume is unfinished. */
  resetStatus(volumeId: string, req: ResetStatusRequest): Volume {
    return resetStatus(this.ctx, volumeId, req);
  }

  /** `os-migrate_volume_completion`: Nova's plain attachment swap; Ballast completes its own migrations. */
  completeMigration(sourceId: string, newId: string, error = false): { saveVolumeId: string } {
    return completeMigration(this.ctx, sourceId, newId, error);
  }

  migration(id: string): MigrationRecord | null {
    return this.ctx.journal.find(id);
  }

  latestMigration(volumeId: string): MigrationRecord | null {
    return this.ctx.journal.latestForVolume(volumeId);
  }

  migrations(limit = 100): MigrationRecord[] {
    return this.ctx.journal.list(limit);
  }

  /** Recent events (what happened, in order), newest last. */
  events(limit = 50): { at: number; volumeId: string | null; migrationId: string | null; kind: string; message: string }[] {
    const rows = this.ctx.db.prepare('SELECT at, volume_id, migration_id, kind, message FROM events ORDER BY seq DESC LIMIT ?').all(limit) as {
      at: number;
      volume_id: string | null;
      migration_id: string | null;
      kind: string;
      message: string;
    }[];
    return rows.reverse().map((r) => ({ at: r.at, volumeId: r.volume_id, migrationId: r.migration_id, kind: r.kind, message: r.message }));
  }
}

export { poolCapacity };
