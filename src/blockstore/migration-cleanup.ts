import { parseHost, type VolumeStatus } from '../model/index.js';
import { AppError, toAppError } from '../shared/index.js';
import type { ServiceContext } from './context.js';
import type { VolumeLocator } from './driver-port.js';
import type { MigrationRecord } from './migration-journal.js';
import { inTx } from './state-db.js';

/** The status a volume returns to when a migration ends (Cinder: retyping/maintenance → previous). */
export function restoredStatus(status: VolumeStatus, previous: VolumeStatus | null): VolumeStatus {
  return status === 'maintenance' || status === 'retyping' ? (previous ?? 'available') : status;
}

/**
 * Removes a migration's destination object(s): the target's own name and, if the journal shows an
 * `update_migrated_volume` rename was intended, its renamed name. Never deletes the source's own
 * object (same pool + same name), whatever the journal says.
 */
export async function deleteDestinationObjects(ctx: ServiceContext, m: MigrationRecord, sizeGiB: number): Promise<string[]> {
  const destPool = parseHost(m.destHost).pool!;
  const srcPool = parseHost(m.srcHost).pool!;
  const driver = ctx.driverOf(m.destHost);
  const names = new Set<string>();
  if (m.targetVolumeId) names.add(m.targetVolumeId);
  if (m.renameTo) names.add(m.renameTo);
  if (m.finalNameId) names.add(m.finalNameId);
  const removed: string[] = [];
  for (const nameId of names) {
    const sameBackend = ctx.backendOf(m.destHost).name === ctx.backendOf(m.srcHost).name;
    if (sameBackend && destPool === srcPool && nameId === m.srcNameId) continue;
    const loc: VolumeLocator = { nameId, pool: destPool, sizeGiB };
    if (await driver.volumeExists(loc)) {
      await driver.deleteVolume(loc);
      removed.push(`volume-${nameId}@${m.destHost}`);
    }
  }
  return removed;
}

/**
 * Ends a migration that did not reach the swap: destination removed, source row back to its
 * previous status with `migration_status=error`, reservation released, journal closed. The source
 * object was never touched, so its data is intact.
 */
export async function rollBackMigration(
  ctx: ServiceContext,
  migrationId: string,
  error: unknown,
  outcome: 'error' | 'rolled-back',
): Promise<void> {
  const m = ctx.journal.get(migrationId);
  const vol = ctx.repo.getVolume(m.volumeId);
  let cleanupError: AppError | null = null;
  try {
    await deleteDestinationObjects(ctx, m, vol.sizeGiB);
  } catch (e) {
    cleanupError = toAppError(e, 'DRIVER_ERROR');
  }
  const err = toAppError(error);
  inTx(ctx.db, () => {
    const v = ctx.repo.getVolume(m.volumeId);
    const status = restoredStatus(v.status, v.previousStatus);
    ctx.repo.updateVolume(v.id, { status, migrationStatus: 'error' }, ctx.now());
    if (m.targetVolumeId) {
      if (cleanupError) {
        // The destination could not be removed: keep its row visible (as Cinder's
        // _clean_temporary_volume does when completing) so an operator can delete it.
        ctx.repo.updateVolume(m.targetVolumeId, { migrationStatus: null, status: 'error' }, ctx.now());
      } else if (ctx.repo.findVolume(m.targetVolumeId)) {
        ctx.repo.markVolumeDeleted(m.targetVolumeId, ctx.now());
      }
    }
    ctx.journal.release(m.id);
    ctx.journal.update(
      m.id,
      { phase: 'failed', outcome, errorCode: err.code, errorMessage: err.message + (cleanupError ? `; destination cleanup failed: ${cleanupError.message}` : ''), finishedAtMs: ctx.now() },
      ctx.now(),
    );
    ctx.repo.addEvent({
      atMs: ctx.now(),
      volumeId: m.volumeId,
      migrationId: m.id,
      kind: `${m.kind}.${outcome}`,
      message: `${m.kind} to ${m.destHost} ${outcome === 'rolled-back' ? 'rolled back' : 'failed'} (${err.code}: ${err.message}); volume back on ${m.srcHost} as ${status}`,
    });
  });
}

/**
 * Finishes a swapped migration: deletes the old object (now referenced by the temporary row) and
 * the temporary row. If the delete fails the journal stays at `swapped` and a restart retries it.
 */
export async function finishSwappedMigration(ctx: ServiceContext, migrationId: string, outcome: 'success' | 'rolled-forward'): Promise<void> {
  const m = ctx.journal.get(migrationId);
  const vol = ctx.repo.getVolume(m.volumeId);
  const oldLoc: VolumeLocator = { nameId: m.srcNameId, pool: parseHost(m.srcHost).pool!, sizeGiB: vol.sizeGiB };
  const current = ctx.locatorOf(vol);
  const isCurrent = vol.host === m.srcHost && current.nameId === oldLoc.nameId;
  if (!isCurrent) await ctx.driverOf(m.srcHost).deleteVolume(oldLoc);
  inTx(ctx.db, () => {
    if (m.targetVolumeId && ctx.repo.findVolume(m.targetVolumeId)) ctx.repo.markVolumeDeleted(m.targetVolumeId, ctx.now());
    ctx.journal.update(m.id, { phase: 'done', outcome, finishedAtMs: ctx.now() }, ctx.now());
    ctx.repo.addEvent({
      atMs: ctx.now(),
      volumeId: m.volumeId,
      migrationId: m.id,
      kind: `${m.kind}.${outcome}`,
      message: `${m.kind} to ${m.destHost} ${outcome === 'success' ? 'succeeded' : 'finished after restart'}; old data on ${m.srcHost} deleted`,
    });
  });
}
