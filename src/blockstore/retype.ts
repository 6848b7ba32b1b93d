import { AVAILABLE_MIGRATION_STATUS, type Volume, type VolumeType } from '../model/index.js';
import { AppError } from '../shared/index.js';
import type { ServiceContext } from './context.js';
import { checkLiveMovable, migrationBlockers, startMigrationTx } from './migration-accept.js';
import type { MigrationRecord } from './migration-journal.js';
import { typeDiff } from './migration-run.js';
import { explainRejections, filterPools, schedule } from './scheduler.js';
import { inTx } from './state-db.js';
import { resolveType } from './volume-ops.js';

export type MigrationPolicy = 'never' | 'on-demand';

export type RetypeResult =
  | { readonly kind: 'in-place'; readonly volume: Volume }
  | { readonly kind: 'migration'; readonly migration: MigrationRecord };

const RETYPE_INVALID =
  'Retype needs volume to be in available or in-use state, not be part of an active migration or a consistency group, requested type has to be different that the one from the volume, and for in-use volumes front-end qos specs cannot change.';

function zonesFor(t: VolumeType, v: Volume): string[] {
  const spec = t.extraSpecs['RESKEY:availability_zones'];
  return spec ? spec.split(',').map((s) => s.trim()).filter(Boolean) : [v.availabilityZone];
}

/**
 * Retype (sections 1.3, 2.2 and 4): in place when the current pool passes the new type's filters
 * and the driver agrees; otherwise, with `on-demand`, a migration to the best pool that does; with
 * `never`, refused. A refused retype leaves the volume exactly as it was.
 */
export async function retypeVolume(ctx: ServiceContext, volumeId: string, newTypeName: string, policy: MigrationPolicy): Promise<RetypeResult> {
  if (policy !== 'never' && policy !== 'on-demand') {
    throw new AppError('INVALID_INPUT', `Invalid migration_policy '${String(policy)}': expected 'never' or 'on-demand'`);
  }
  const newType = resolveType(ctx, newTypeName, null);
  const stats = await ctx.poolStats();
  // Step 1 (API): conditional update to `retyping`, in a transaction.
  const { vol, current } = inTx(ctx.db, () => {
    const v = ctx.repo.getVolume(volumeId);
    const reasons: string[] = [];
    if (v.status !== 'available' && v.status !== 'in-use') reasons.push(`status is ${v.status}`);
    if (!AVAILABLE_MIGRATION_STATUS.includes(v.migrationStatus)) reasons.push(`migration_status is ${v.migrationStatus}`);
    if (v.groupId) reasons.push(`part of group ${v.groupId}`);
    if (v.volumeTypeId === newType.id) reasons.push(`already of type ${newType.name}`);
    if (reasons.length > 0) throw new AppError('INVALID_VOLUME', `Invalid volume: ${RETYPE_INVALID} (${reasons.join('; ')})`, { details: { reasons } });
    const views = ctx.poolViews(stats);
    const here = views.find((p) => p.host === v.host);
    const currentOk = here ? filterPools([here], { sizeGiB: v.sizeGiB, volumeType: newType, availabilityZones: zonesFor(newType, v), existsOn: v.host })[0]! : null;
    return { vol: v, current: currentOk };
  });
  const oldType = ctx.getType(vol.volumeTypeId);
  const diff = typeDiff(oldType.extraSpecs, newType.extraSpecs);
  const allEqual = Object.values(diff.extraSpecs).every(([a, b]) => a === b);

  // Step 2 (manager): in place when the current pool is valid for the new type and the driver agrees.
  if (current?.pass) {
    const driver = ctx.driverOf(vol.host);
    const retyped = allEqual || (driver.retype ? await driver.retype(ctx.locatorOf(vol), newType.extraSpecs, diff) : false);
    if (retyped) {
      const v = inTx(ctx.db, () => {
        const fresh = ctx.repo.getVolume(volumeId);
        if (fresh.volumeTypeId !== vol.volumeTypeId || fresh.status !== vol.status || fresh.migrationStatus !== vol.migrationStatus) {
          throw new AppError('INVALID_VOLUME', `Invalid volume: volume ${volumeId} changed while it was being retyped; try again`);
        }
        ctx.repo.addEvent({ atMs: ctx.now(), volumeId, kind: 'retype.in-place', message: `retyped ${oldType.name} → ${newType.name} in place on ${vol.host}` });
        return ctx.repo.updateVolume(volumeId, { volumeTypeId: newType.id }, ctx.now());
      });
      return { kind: 'in-place', volume: v };
    }
  }
  if (policy === 'never') {
    if (current?.pass) throw new AppError('RETYPE_NOT_ALLOWED', `Retype requires migration but is not allowed. (the driver of ${vol.host} cannot change volume ${volumeId} to type ${newType.name} in place)`);
    throw new AppError(
      'RETYPE_NOT_ALLOWED',
      `Current backend not valid for volume ${volumeId} with type ${newType.name}, migration not allowed (${current ? current.reason : `pool ${vol.host} not found`})`,
    );
  }
  // on-demand: a migration to the best pool for the new type (the current pool when only the driver declined).
  return inTx(ctx.db, () => {
    const v = ctx.repo.getVolume(volumeId);
    const snaps = ctx.repo.listSnapshots(v.id).length;
    if (snaps > 0) throw new AppError('INVALID_VOLUME', 'Invalid volume: Volume must not have snapshots.');
    if (![null, 'disabled', 'not-capable'].includes(v.replicationStatus)) throw new AppError('INVALID_VOLUME', 'Invalid volume: Volume must not be replicated.');
    const blockers = migrationBlockers(ctx, v, null);
    if (blockers.length > 0) throw new AppError('INVALID_VOLUME', `Invalid volume: ${RETYPE_INVALID} (${blockers.join('; ')})`);
    if (v.status === 'in-use') checkLiveMovable(ctx, v);
    const views = ctx.poolViews(stats);
    const zones = zonesFor(newType, v);
    let dest = current?.pass ? views.find((p) => p.host === v.host) : undefined;
    if (!dest) {
      const { ranked, verdicts } = schedule(views.filter((p) => p.host !== v.host), { sizeGiB: v.sizeGiB, volumeType: newType, availabilityZones: zones });
      dest = ranked[0];
      if (!dest) throw new AppError('NO_VALID_BACKEND', `No valid backends for volume ${v.id} with type ${newType.name}: ${explainRejections(verdicts)}`);
    }
    ctx.repo.updateVolume(v.id, { status: 'retyping', previousStatus: v.status }, ctx.now());
    const fresh = ctx.repo.getVolume(v.id);
    return { kind: 'migration' as const, migration: startMigrationTx(ctx, fresh, dest, { kind: 'retype', newTypeId: newType.id }) };
  });
}
