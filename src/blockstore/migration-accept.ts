import { AVAILABLE_MIGRATION_STATUS, nameIdOf, parseHost, type Volume, type VolumeType } from '../model/index.js';
import { AppError } from '../shared/index.js';
import { readHypervisorState } from './attachments.js';
import type { ServiceContext } from './context.js';
import type { MigrationRecord } from './migration-journal.js';
import { explainRejections, schedule, type PoolView } from './scheduler.js';
import { inTx } from './state-db.js';

export interface MigrateOptions {
  readonly forceHostCopy?: boolean;
  readonly lockVolume?: boolean;
}

/** Cinder's message when `os-migrate_volume`'s conditional update matches no row. */
export function invalidForMigration(id: string, reasons: readonly string[]): AppError {
  return new AppError(
    'INVALID_VOLUME',
    `Invalid volume: Volume ${id} status must be available or in-use, must not be migrating, have snapshots, be replicated, be part of a group and destination host/cluster must be different than the current one (${reasons.join('; ')})`,
    { details: { volumeId: id, reasons } },
  );
}

/** Every reason the conditional update of `API.migrate_volume` would not match (section 1.1 step 4). */
export function migrationBlockers(ctx: ServiceContext, v: Volume, destHost: string | null): string[] {
  const reasons: string[] = [];
  if (v.status !== 'available' && v.status !== 'in-use') reasons.push(`status is ${v.status}`);
  if (!AVAILABLE_MIGRATION_STATUS.includes(v.migrationStatus)) reasons.push(`migration_status is ${v.migrationStatus}`);
  if (![null, 'disabled', 'not-capable'].includes(v.replicationStatus)) reasons.push(`replication_status is ${v.replicationStatus}`);
  if (v.groupId) reasons.push(`part of group ${v.groupId}`);
  if (destHost !== null && v.host === destHost) reasons.push(`already on ${destHost}`);
  const snaps = ctx.repo.listSnapshots(v.id).length;
  if (snaps > 0) reasons.push(`has ${snaps} snapshot${snaps === 1 ? '' : 's'}`);
  return reasons;
}

/**
 * Picks the destination pool the way the scheduler's `backend_passes_filters` does: filters with
 * the type that will apply, then the requested pool, or for a pool-less host the best-weighed pool
 * of that back-end. Ballast never picks the volume's current pool for a pool-less request (Cinder
 * may, section 9 item 5).
 */
export function pickDestination(
  ctx: ServiceContext,
  views: readonly PoolView[],
  v: Volume,
  requested: string,
  type: VolumeType,
  availabilityZones: readonly string[] | null,
  existsOn?: string,
): PoolView {
  const h = parseHost(requested);
  const backend = ctx.backendOf(requested);
  if (h.pool !== null) ctx.poolOf(requested);
  const candidates = views.filter(
    (p) => p.backendName === backend.name && (h.pool !== null ? p.poolName === h.pool : p.host !== v.host),
  );
  const { ranked, verdicts } = schedule(candidates, { sizeGiB: v.sizeGiB, volumeType: type, availabilityZones, ...(existsOn ? { existsOn } : {}) });
  const best = ranked[0];
  if (!best) {
    throw new AppError('NO_VALID_BACKEND', `Cannot place volume ${v.id} on ${requested}: ${explainRejections(verdicts) || 'no pool there'}`, {
      details: { volumeId: v.id, host: requested },
    });
  }
  return best;
}

/**
 * Accepts a migration (`API.migrate_volume`): validates everything, then in ONE transaction sets
 * `migration_status=starting`, saves `previous_status`, locks to `maintenance` if asked, journals
 * the migration and reserves its size on the destination pool. A refused request changes nothing.
 */
export async function acceptMigration(ctx: ServiceContext, volumeId: string, host: string, opts: MigrateOptions): Promise<MigrationRecord> {
  const parsed = parseHost(host);
  ctx.backendOf(host);
  if (parsed.pool !== null) ctx.poolOf(host);
  const stats = await ctx.poolStats();
  return inTx(ctx.db, () => {
    const v = ctx.repo.getVolume(volumeId);
    const blockers = migrationBlockers(ctx, v, host);
    if (blockers.length > 0) throw invalidForMigration(v.id, blockers);
    if (v.status === 'in-use') checkLiveMovable(ctx, v);
    const type = ctx.getType(v.volumeTypeId);
    const dest = pickDestination(ctx, ctx.poolViews(stats), v, host, type, null);
    return startMigrationTx(ctx, v, dest, { kind: 'migrate', newTypeId: null, ...opts });
  });
}

/**
 * An attached volume moves live only through its storage daemon, and only with one attachment
 * (Nova refuses to swap a multiattached volume: the other writers would be corrupted).
 */
export function checkLiveMovable(ctx: ServiceContext, v: Volume): void {
  const atts = ctx.repo.listAttachments(v.id);
  if (atts.length > 1) {
    throw new AppError('INVALID_VOLUME', `Volume ${v.id} is attached ${atts.length} times: moving a multiattached volume live is not supported (Nova's MultiattachSwapVolumeNotSupported)`);
  }
  if (!ctx.hypervisor || (atts[0] && !readHypervisorState(ctx, atts[0].id))) {
    throw new AppError('IN_USE_NOT_SUPPORTED', `Volume ${v.id} is in-use without a hypervisor side (QEMU) to move it live; detach it first`);
  }
}

/** The state change that starts a migration (call inside a transaction). */
export function startMigrationTx(
  ctx: ServiceContext,
  v: Volume,
  dest: PoolView,
  opts: MigrateOptions & { kind: 'migrate' | 'retype'; newTypeId: string | null },
): MigrationRecord {
  const now = ctx.now();
  const id = ctx.ids();
  ctx.lockNewMigration(id);
  try {
    const lock = opts.lockVolume === true && v.status === 'available';
    ctx.repo.updateVolume(
      v.id,
      opts.kind === 'retype'
        ? { migrationStatus: 'starting' }
        : { migrationStatus: 'starting', previousStatus: v.status, ...(lock ? { status: 'maintenance' as const } : {}) },
      now,
    );
    ctx.journal.insert({
      id,
      volumeId: v.id,
      kind: opts.kind,
      srcHost: v.host,
      destHost: dest.host,
      srcNameId: nameIdOf(v),
      newTypeId: opts.newTypeId,
      forceHostCopy: opts.forceHostCopy === true,
      lockVolume: lock,
      phase: 'accepted',
      startedAtMs: now,
      updatedAtMs: now,
    });
    ctx.journal.reserve(id, dest.host, v.sizeGiB);
    ctx.db.prepare('UPDATE migrations SET runner_pid = ? WHERE id = ?').run(process.pid, id);
    ctx.repo.addEvent({
      atMs: now,
      volumeId: v.id,
      migrationId: id,
      kind: `${opts.kind}.accepted`,
      message: `${opts.kind} of ${v.sizeGiB} GiB from ${v.host} to ${dest.host} accepted${opts.forceHostCopy ? ' (force host copy)' : ''}${lock ? ' (locked: maintenance)' : ''}`,
    });
    return ctx.journal.get(id);
  } catch (e) {
    ctx.releaseMigrationLock(id);
    throw e;
  }
}
