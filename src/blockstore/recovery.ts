import { parseHost } from '../model/index.js';
import { AppError, GiB } from '../shared/index.js';
import type { ServiceContext } from './context.js';
import { finishSwappedMigration, rollBackMigration } from './migration-cleanup.js';
import type { MigrationRecord } from './migration-journal.js';
import { ProcessLock } from './locks.js';
import { inTx } from './state-db.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureAttachmentsServed } from './attachments.js';
import { stopExporter } from './exporter.js';
import { recoverLive } from './migration-live.js';
import { recordDriverMove } from './migration-run.js';

/** What recovery did to one interrupted operation. */
export interface RecoveryAction {
  readonly volumeId: string;
  readonly migrationId: string | null;
  readonly action: 'rolled-back' | 'rolled-forward' | 'cleaned-up' | 'needs-attention';
  readonly message: string;
}

const interrupted = () => new AppError('MIGRATION_FAILED', 'interrupted: the process running it died');

/**
 * Finds every operation left half-done by a process that died (its lock is free) and finishes or
 * rolls it back, so no volume stays in a transient status and no data is lost: a migration before
 * its swap rolls back (the source was never touched); after its swap it rolls forward.
 */
export async function recoverInterrupted(ctx: ServiceContext): Promise<RecoveryAction[]> {
  const actions: RecoveryAction[] = [];
  for (const m of ctx.journal.listOpen()) {
    const lock = ProcessLock.tryAcquire(ctx.locksDir, `migration-${m.id}`);
    if (!lock) continue; // a live process is running it
    try {
      // Re-read under the lock: it may have finished between the listing and the lock.
      const fresh = ctx.journal.get(m.id);
      if (fresh.finishedAtMs !== null) continue;
      actions.push(await recoverMigration(ctx, fresh));
    } finally {
      lock.release(true);
    }
  }
  actions.push(...(await recoverVolumeOps(ctx)));
  for (const note of await ensureAttachmentsServed(ctx)) {
    actions.push({ volumeId: note.split(':')[0]!.replace('volume ', ''), migrationId: null, action: 'cleaned-up', message: note });
  }
  return actions;
}

async function recoverMigration(ctx: ServiceContext, m: MigrationRecord): Promise<RecoveryAction> {
  const base = { volumeId: m.volumeId, migrationId: m.id };
  if (m.path === 'live' || m.phase === 'mirroring' || m.phase === 'pivoted') {
    const outcome = await recoverLive(ctx, m);
    if (outcome === 'rolled-forward') {
      return { ...base, action: 'rolled-forward', message: `live ${m.kind} to ${m.destHost} had pivoted; finished it (consumer on the destination, old data deleted)` };
    }
    await rollBackMigration(ctx, m.id, interrupted(), 'rolled-back');
    return { ...base, action: 'rolled-back', message: `live ${m.kind} to ${m.destHost} interrupted before the pivot; mirror cancelled, consumer still on ${m.srcHost} with every write` };
  }
  if (ctx.hypervisor) await stopStrayExporter(ctx, `mig-${m.id.slice(0, 8)}`);
  switch (m.phase) {
    case 'swapped':
      await finishSwappedMigration(ctx, m.id, 'rolled-forward');
      return { ...base, action: 'rolled-forward', message: `${m.kind} to ${m.destHost} had swapped; finished it (old data on ${m.srcHost} deleted)` };
    case 'driver-moving': {
      const vol = ctx.repo.getVolume(m.volumeId);
      const srcLoc = { nameId: m.srcNameId, pool: parseHost(m.srcHost).pool!, sizeGiB: vol.sizeGiB };
      const destLoc = { ...srcLoc, pool: parseHost(m.destHost).pool! };
      if (await ctx.driverOf(m.srcHost).volumeExists(srcLoc)) {
        await rollBackMigration(ctx, m.id, interrupted(), 'rolled-back');
        return { ...base, action: 'rolled-back', message: `driver-assisted ${m.kind} to ${m.destHost} interrupted before the move; volume stays on ${m.srcHost}` };
      }
      if (await ctx.driverOf(m.destHost).volumeExists(destLoc)) {
        recordDriverMove(ctx, m, 'rolled-forward');
        return { ...base, action: 'rolled-forward', message: `driver-assisted ${m.kind} to ${m.destHost} had moved the data; recorded it` };
      }
      inTx(ctx.db, () => {
        ctx.repo.updateVolume(m.volumeId, { status: 'error', migrationStatus: 'error' }, ctx.now());
        ctx.journal.update(m.id, { phase: 'failed', outcome: 'error', errorCode: 'DRIVER_ERROR', errorMessage: 'volume object found on neither pool', finishedAtMs: ctx.now() }, ctx.now());
      });
      return { ...base, action: 'needs-attention', message: `volume object volume-${m.srcNameId} found on neither ${m.srcHost} nor ${m.destHost}` };
    }
    default:
      await rollBackMigration(ctx, m.id, interrupted(), 'rolled-back');
      return {
        ...base,
        action: 'rolled-back',
        message: `${m.kind} to ${m.destHost} interrupted during ${m.phase}${m.bytesTotal ? ` (${m.bytesCopied}/${m.bytesTotal} bytes copied)` : ''}; destination removed, volume on ${m.srcHost} with its data intact`,
      };
  }
}

/** An exporter started for a migration's destination just before the process died. */
async function stopStrayExporter(ctx: ServiceContext, tag: string): Promise<void> {
  const dir = join(ctx.hypervisor!.runDir, 'exports');
  const pidFile = join(dir, `${tag}.pid`);
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  await stopExporter({ pid, pidFile, socketPath: join(dir, `${tag}.sock`) });
}

/** Creates, deletes and extends that a dead process left half-done. */
async function recoverVolumeOps(ctx: ServiceContext): Promise<RecoveryAction[]> {
  const actions: RecoveryAction[] = [];
  for (const v of ctx.repo.listVolumes(true)) {
    if (!['creating', 'deleting', 'extending'].includes(v.status)) continue;
    if ((v.migrationStatus ?? '').startsWith('target:')) continue; // owned by its migration
    if (v.migrationStatus === 'deleting') continue;
    const lock = ProcessLock.tryAcquire(ctx.locksDir, `volume-${v.id}`);
    if (!lock) continue;
    try {
      // Re-read under the lock: the operation may have ended between the listing and the lock.
      const fresh = ctx.repo.findVolume(v.id);
      if (!fresh || fresh.status !== v.status || fresh.migrationStatus !== v.migrationStatus) continue;
      const driver = ctx.driverOf(v.host);
      const loc = ctx.locatorOf(v);
      if (v.status === 'creating') {
        await driver.deleteVolume(loc);
        inTx(ctx.db, () => ctx.repo.markVolumeDeleted(v.id, ctx.now()));
        actions.push({ volumeId: v.id, migrationId: null, action: 'rolled-back', message: `create of ${v.sizeGiB} GiB on ${v.host} interrupted; removed` });
      } else if (v.status === 'deleting') {
        await driver.deleteVolume(loc);
        inTx(ctx.db, () => ctx.repo.markVolumeDeleted(v.id, ctx.now()));
        actions.push({ volumeId: v.id, migrationId: null, action: 'rolled-forward', message: `delete interrupted; finished` });
      } else {
        const h = await driver.openVolume(loc);
        const actualGiB = Math.floor(h.sizeBytes / GiB);
        await h.close();
        inTx(ctx.db, () => ctx.repo.updateVolume(v.id, { status: 'available', sizeGiB: Math.max(actualGiB, v.sizeGiB) }, ctx.now()));
        actions.push({ volumeId: v.id, migrationId: null, action: 'rolled-forward', message: `extend interrupted; size is ${Math.max(actualGiB, v.sizeGiB)} GiB` });
      }
    } finally {
      lock.release(true);
    }
  }
  for (const s of ctx.repo.listSnapshots()) {
    if (s.status !== 'creating' && s.status !== 'deleting') continue;
    const lock = ProcessLock.tryAcquire(ctx.locksDir, `volume-${s.volumeId}`);
    if (!lock) continue;
    try {
      const still = ctx.repo.listSnapshots(s.volumeId).find((x) => x.id === s.id);
      if (!still || still.status !== s.status) continue;
      const v = ctx.repo.getVolume(s.volumeId);
      await ctx.driverOf(v.host).deleteSnapshot(ctx.locatorOf(v), s.id);
      inTx(ctx.db, () => ctx.repo.markSnapshotDeleted(s.id));
      actions.push({ volumeId: s.volumeId, migrationId: null, action: s.status === 'creating' ? 'rolled-back' : 'rolled-forward', message: `snapshot ${s.id} ${s.status === 'creating' ? 'create' : 'delete'} interrupted; removed` });
    } finally {
      lock.release(true);
    }
  }
  return actions;
}
