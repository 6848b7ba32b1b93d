import { nameIdOf, type Volume } from '../model/index.js';
import { AppError, toAppError } from '../shared/index.js';
import type { ServiceContext } from './context.js';
import { copyVolumeData } from './copy-engine.js';
import type { MigratedVolumeUpdate, TypeDiff, VolumeHandle, VolumeLocator } from './driver-port.js';
import { finishSwappedMigration, restoredStatus, rollBackMigration } from './migration-cleanup.js';
import type { MigrationPhase, MigrationRecord } from './migration-journal.js';
import { ProcessLock } from './locks.js';
import type { RateLimiter } from './rate-limiter.js';
import { inTx } from './state-db.js';
import { executeLive, finishLive } from './migration-live.js';
import { verifyVolumeData } from './verify.js';

/** What a running migration reports (phase and bytes), for progress bars and the API. */
export interface MigrationProgress {
  readonly migrationId: string;
  readonly phase: MigrationPhase;
  readonly bytesCopied: number;
  readonly bytesTotal: number;
}

export interface RunOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: MigrationProgress) => void;
  readonly rateLimiter?: RateLimiter | null;
}

/**
 * Records a driver-assisted move that has happened (in the run, or found by recovery): the volume
 * takes the destination's host and AZ (and the new type on retype), status restored,
 * `migration_status=success`, reservation released, journal closed.
 */
export function recordDriverMove(ctx: ServiceContext, m: MigrationRecord, outcome: 'success' | 'rolled-forward', providerLocation?: string | null): void {
  const dest = ctx.poolOf(m.destHost);
  inTx(ctx.db, () => {
    const v = ctx.repo.getVolume(m.volumeId);
    ctx.repo.updateVolume(
      v.id,
      {
        host: m.destHost,
        availabilityZone: dest.pool.availabilityZone,
        migrationStatus: 'success',
        status: restoredStatus(v.status, v.previousStatus),
        previousStatus: v.status,
        ...(providerLocation !== undefined ? { providerLocation } : {}),
        ...(m.newTypeId ? { volumeTypeId: m.newTypeId } : {}),
      },
      ctx.now(),
    );
    ctx.journal.release(m.id);
    ctx.journal.update(m.id, { phase: 'done', outcome, finishedAtMs: ctx.now() }, ctx.now());
    ctx.repo.addEvent({
      atMs: ctx.now(),
      volumeId: v.id,
      migrationId: m.id,
      kind: `${m.kind}.${outcome}`,
      message: outcome === 'success' ? `driver-assisted move to ${m.destHost} (no data copied)` : `driver-assisted move to ${m.destHost} had happened; state updated after restart`,
    });
  });
}

/** `volume_types_diff` extra specs: every key of either type, unchanged keys included (section 3.1). */
export function typeDiff(oldSpecs: Readonly<Record<string, string>>, newSpecs: Readonly<Record<string, string>>): TypeDiff {
  const keys = new Set([...Object.keys(oldSpecs), ...Object.keys(newSpecs)]);
  const extraSpecs: Record<string, readonly [string | null, string | null]> = {};
  for (const k of keys) extraSpecs[k] = [oldSpecs[k] ?? null, newSpecs[k] ?? null];
  return { extraSpecs };
}

/** `_can_use_driver_migration(diff)`: only when the diff has nothing beyond back-end name and AZs. */
export function canUseDriverMigration(diff: TypeDiff | null): boolean {
  if (!diff) return true;
  const rest = Object.keys(diff.extraSpecs).filter((k) => k !== 'volume_backend_name' && k !== 'RESKEY:availability_zones');
  return rest.length === 0;
}

/**
 * Runs an accepted migration to its end (Cinder's `VolumeManager.migrate_volume`): the driver-
 * assisted path first, else the generic copy; then verification, `update_migrated_volume`, the
 * row swap and the deletion of the old data. Any failure before the swap rolls back (volume on its
 * source, data intact, previous status, `migration_status=error`, destination removed) and throws
 * `MIGRATION_FAILED` (or `CANCELLED`). Holds the migration's process lock throughout.
 */
export async function runMigration(ctx: ServiceContext, migrationId: string, opts: RunOptions = {}): Promise<MigrationRecord> {
  const held = ctx.heldMigrationLocks.get(migrationId);
  const lock = held ?? ProcessLock.tryAcquire(ctx.locksDir, `migration-${migrationId}`);
  if (!lock) throw new AppError('INVALID_VOLUME', `migration ${migrationId} is being run by another process`);
  ctx.heldMigrationLocks.delete(migrationId);
  try {
    const m0 = ctx.journal.get(migrationId);
    if (m0.finishedAtMs !== null) return m0;
    ctx.db.prepare('UPDATE migrations SET runner_pid = ? WHERE id = ?').run(process.pid, migrationId);
    if (m0.phase !== 'accepted') {
      throw new AppError('INVALID_VOLUME', `migration ${migrationId} was interrupted at ${m0.phase}; it is recovered when the service next starts`);
    }
    let stage = 'starting';
    try {
      await execute(ctx, m0, opts, (s) => (stage = s));
    } catch (e) {
      const err = toAppError(e, 'MIGRATION_FAILED');
      let current = ctx.journal.get(migrationId);
      if (current.phase === 'pivoted' || current.phase === 'completing' && current.path === 'live') {
        // A live move past its pivot: the consumer is on the destination, so only forward.
        try {
          await finishLive(ctx, migrationId);
        } catch {
          // left for the next start's recovery, which finishes it
        }
        current = ctx.journal.get(migrationId);
      }
      if (current.phase === 'pivoted' || current.phase === 'swapped' || current.phase === 'done') {
        // Past the swap (or the pivot) the move has happened; what failed is retried by recovery.
        return current;
      }
      await rollBackMigration(ctx, migrationId, err, 'error');
      if (err.code === 'CANCELLED') throw new AppError('CANCELLED', `migration of volume ${m0.volumeId} to ${m0.destHost} cancelled during ${stage}; the volume is on ${m0.srcHost} with its data intact`, { cause: err });
      throw new AppError(
        'MIGRATION_FAILED',
        `migration of volume ${m0.volumeId} to ${m0.destHost} failed during ${stage}: ${err.message}; the volume is on ${m0.srcHost} with its data intact`,
        { cause: err, details: { migrationId, stage, causeCode: err.code } },
      );
    }
    return ctx.journal.get(migrationId);
  } finally {
    lock.release(true);
  }
}

async function execute(ctx: ServiceContext, m: MigrationRecord, opts: RunOptions, setStage: (s: string) => void): Promise<void> {
  const progress = (phase: MigrationPhase, bytesCopied = 0, bytesTotal = 0) =>
    opts.onProgress?.({ migrationId: m.id, phase, bytesCopied, bytesTotal });
  const checkCancel = () => {
    if (opts.signal?.aborted) throw new AppError('CANCELLED', 'cancelled');
  };
  let vol = inTx(ctx.db, () => ctx.repo.updateVolume(m.volumeId, { migrationStatus: 'migrating' }, ctx.now()));
  setStage('after-accept');
  ctx.faults.at('after-accept', { migrationId: m.id });
  checkCancel();

  const oldType = ctx.getType(vol.volumeTypeId);
  const newType = m.newTypeId ? ctx.getType(m.newTypeId) : null;
  const diff = newType ? typeDiff(oldType.extraSpecs, newType.extraSpecs) : null;
  const srcDriver = ctx.driverOf(m.srcHost);
  const dest = ctx.poolOf(m.destHost);
  const attachments = ctx.repo.listAttachments(vol.id);

  if (!m.forceHostCopy && attachments.length === 0 && canUseDriverMigration(diff) && srcDriver.migrateVolume) {
    setStage('driver-migrate');
    inTx(ctx.db, () => ctx.journal.update(m.id, { phase: 'driver-moving', path: 'driver' }, ctx.now()));
    progress('driver-moving');
    ctx.faults.at('driver-migrate', { migrationId: m.id });
    const capabilities = (await ctx.driverOf(m.destHost).getPoolStats()).find((s) => s.pool_name === dest.pool.name)!;
    const result = await srcDriver.migrateVolume(ctx.locatorOf(vol), vol.status, {
      host: m.destHost,
      backendName: dest.backend.name,
      pool: dest.pool.name,
      driver: dest.backend.driver,
      capabilities,
    });
    if (result.moved) {
      recordDriverMove(ctx, m, 'success', result.providerLocation);
      progress('done');
      return;
    }
    // The driver declined: generic copy, as Cinder does.
  }

  const createDestination = async (): Promise<Volume> => {
    const targetId = ctx.ids();
    const t = inTx(ctx.db, () => {
      const now = ctx.now();
      const row: Volume = {
        ...vol,
        id: targetId,
        status: 'creating',
        previousStatus: null,
        migrationStatus: `target:${vol.id}`,
        nameIdOverride: null,
        host: m.destHost,
        availabilityZone: dest.pool.availabilityZone,
        volumeTypeId: m.newTypeId ?? vol.volumeTypeId,
        providerLocation: null,
        attachStatus: 'detached',
        useQuota: false,
        createdAtMs: now,
        updatedAtMs: now,
      };
      ctx.repo.insertVolume(row);
      ctx.journal.update(m.id, { phase: 'creating-dest', targetVolumeId: targetId }, now);
      return row;
    });
    progress('creating-dest');
    ctx.faults.at('create-dest', { migrationId: m.id });
    const { providerLocation } = await ctx.driverOf(m.destHost).createVolume(ctx.locatorOf(t));
    return inTx(ctx.db, () => ctx.repo.updateVolume(targetId, { status: 'available', providerLocation }, ctx.now()));
  };

  if (attachments.length > 0) {
    const att = attachments[0]!;
    await executeLive(ctx, m, att, { ...(opts.signal ? { signal: opts.signal } : {}), progress, setStage, createDestination });
    progress('done');
    return;
  }

  setStage('create-dest');
  const target = await createDestination();
  inTx(ctx.db, () => ctx.journal.update(m.id, { path: 'generic' }, ctx.now()));
  const targetId = target.id;
  const providerLocation = target.providerLocation;
  const destDriver = ctx.driverOf(m.destHost);
  checkCancel();

  setStage('copy');
  await copyAndVerify(ctx, m, ctx.locatorOf(vol), ctx.locatorOf(target), opts, progress);

  setStage('completing');
  vol = inTx(ctx.db, () => {
    ctx.journal.update(m.id, { phase: 'completing' }, ctx.now());
    return ctx.repo.updateVolume(m.volumeId, { migrationStatus: 'completing' }, ctx.now());
  });
  progress('completing');
  ctx.faults.at('completing', { migrationId: m.id });

  let update: MigratedVolumeUpdate = { nameIdOverride: targetId, providerLocation };
  if (destDriver.updateMigratedVolume) {
    inTx(ctx.db, () => ctx.journal.update(m.id, { renameFrom: targetId, renameTo: vol.id }, ctx.now()));
    update = await destDriver.updateMigratedVolume(
      { id: vol.id, locator: ctx.locatorOf(vol) },
      { id: targetId, locator: ctx.locatorOf(target) },
      restoredStatus(vol.status, vol.previousStatus),
    );
  }
  const finalNameId = update.nameIdOverride ?? vol.id;
  inTx(ctx.db, () => ctx.journal.update(m.id, { finalNameId }, ctx.now()));
  ctx.faults.at('after-rename', { migrationId: m.id });

  setStage('swap');
  swapRows(ctx, m, update);
  progress('swapped');
  ctx.faults.at('after-swap', { migrationId: m.id });

  setStage('delete-source');
  ctx.faults.at('delete-source', { migrationId: m.id });
  await finishSwappedMigration(ctx, m.id, 'success');
  progress('done');
}

async function copyAndVerify(
  ctx: ServiceContext,
  m: MigrationRecord,
  srcLoc: VolumeLocator,
  dstLoc: VolumeLocator,
  opts: RunOptions,
  progress: (phase: MigrationPhase, copied?: number, total?: number) => void,
): Promise<void> {
  const srcDriver = ctx.driverOf(m.srcHost);
  const destDriver = ctx.driverOf(m.destHost);
  let src: VolumeHandle | null = null;
  let dst: VolumeHandle | null = null;
  try {
    src = await srcDriver.openVolume(srcLoc);
    dst = await destDriver.openVolume(dstLoc);
    const sparse = (await destDriver.getPoolStats()).find((s) => s.pool_name === dstLoc.pool)?.sparse_copy_volume === true;
    inTx(ctx.db, () => ctx.journal.update(m.id, { phase: 'copying' }, ctx.now()));
    let lastSave = 0;
    const limiter = opts.rateLimiter ?? null;
    await copyVolumeData(src, dst, {
      sparse,
      bufferBytes: ctx.copy.bufferBytes,
      ...(limiter ? { rateLimiter: limiter } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      progressIntervalMs: 200,
      onProgress: (p) => {
        ctx.faults.at('mid-copy', { migrationId: m.id, bytesCopied: p.bytesCopied });
        const now = ctx.now();
        if (now - lastSave >= 500 || p.bytesCopied === p.bytesTotal) {
          lastSave = now;
          ctx.journal.update(m.id, { bytesCopied: p.bytesCopied, bytesTotal: p.bytesTotal }, now);
        }
        progress('copying', p.bytesCopied, p.bytesTotal);
      },
    });
    inTx(ctx.db, () => ctx.journal.update(m.id, { phase: 'verifying' }, ctx.now()));
    progress('verifying');
    ctx.faults.at('verify', { migrationId: m.id });
    await verifyVolumeData(src, dst, { bufferBytes: ctx.copy.bufferBytes, ...(opts.signal ? { signal: opts.signal } : {}) });
  } finally {
    await src?.close();
    await dst?.close();
  }
}

/**
 * `update_migrated_volume` + `finish_volume_migration` in one transaction: the source row (same
 * id) takes the destination's host, AZ, name id and type; the temporary row takes the old host and
 * name so the old object can be deleted through it; the reservation is released.
 */
function swapRows(ctx: ServiceContext, m0: MigrationRecord, update: MigratedVolumeUpdate): void {
  inTx(ctx.db, () => {
    const now = ctx.now();
    const m = ctx.journal.get(m0.id);
    const v = ctx.repo.getVolume(m.volumeId);
    const t = ctx.repo.getVolume(m.targetVolumeId!);
    const orig = restoredStatus(v.status, v.previousStatus);
    const nameId = update.nameIdOverride === v.id ? null : update.nameIdOverride;
    ctx.repo.updateVolume(
      v.id,
      {
        host: t.host,
        availabilityZone: t.availabilityZone,
        nameIdOverride: nameId,
        providerLocation: update.providerLocation,
        volumeTypeId: t.volumeTypeId,
        status: orig,
        previousStatus: v.status,
        migrationStatus: 'success',
      },
      now,
    );
    ctx.repo.updateVolume(
      t.id,
      {
        host: v.host,
        availabilityZone: v.availabilityZone,
        nameIdOverride: nameIdOf(v),
        providerLocation: v.providerLocation,
        status: 'deleting',
        migrationStatus: 'deleting',
        description: `migration src for ${v.id}`,
      },
      now,
    );
    ctx.journal.release(m.id);
    ctx.journal.update(m.id, { phase: 'swapped' }, now);
    ctx.repo.addEvent({
      atMs: now,
      volumeId: v.id,
      migrationId: m.id,
      kind: `${m.kind}.swapped`,
      message: `volume ${v.id} now on ${t.host} (name_id ${nameId ?? v.id}); deleting old data on ${v.host}`,
    });
  });
}
