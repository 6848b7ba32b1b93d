/**
 * Whether the simulated control plane accepts a move, with Cinder's checks and typed refusals
 * (a refused move changes nothing), and where a retype that needs a migration goes.
 *
 * @module
 */
import { parseHost, type MoveRequest } from '../model/index.js';
import { AppError, type ErrorCode } from '../shared/index.js';
import type { SimFleet, SimPool, SimVolume } from './fleet.js';

function refuse(code: ErrorCode, message: string): never {
  throw new AppError(code, message);
}

/** An accepted move: the volume, its source and destination, the new type of a retype, the lock. */
export interface Admission {
  readonly volume: SimVolume;
  readonly src: SimPool;
  readonly dest: SimPool;
  readonly newType: string | null;
  readonly lock: boolean;
}

/** Checks a move request against the fleet; throws a typed AppError when it is refused. */
export function admitMove(fleet: SimFleet, req: MoveRequest): Admission {
  const v = fleet.volumes.get(req.volumeId) ?? refuse('VOLUME_NOT_FOUND', `Volume ${req.volumeId} could not be found.`);
  if (v.status !== 'available' && v.status !== 'in-use') refuse('INVALID_VOLUME', `Volume ${v.id} status must be available or in-use, but current status is: ${v.status}.`);
  if (v.migrationStatus === 'starting' || v.migrationStatus === 'migrating' || v.migrationStatus === 'completing') {
    refuse('INVALID_VOLUME', `Volume ${v.id} is already being migrated.`);
  }
  if (v.snapshotCount > 0) refuse('INVALID_VOLUME', `Volume ${v.id} must not have snapshots.`);
  if (v.groupId !== null) refuse('INVALID_VOLUME', `Volume ${v.id} must not be part of a group.`);
  if (v.replicated) refuse('INVALID_VOLUME', `Volume ${v.id} must not be replicated.`);
  const src = fleet.pool(v.pool);
  if (src.state !== 'up') refuse('DRIVER_ERROR', `the source pool ${src.name} is down`);

  let dest: SimPool;
  let newType: string | null = null;
  let lock = false;
  if (req.op === 'migrate') {
    parseHost(req.host);
    dest = fleet.pools.get(req.host) ?? refuse('INVALID_HOST', `No valid host was found: pool ${req.host} does not exist`);
    if (dest.name === src.name) refuse('INVALID_HOST', `Destination host ${req.host} must be different from the current host.`);
    if (!fleet.typeFits(v.volumeType, dest)) refuse('NO_VALID_BACKEND', `pool ${dest.name} does not support volume type ${v.volumeType}`);
    lock = req.lockVolume;
  } else {
    const t = fleet.types.get(req.newVolumeType) ?? refuse('VOLUME_TYPE_NOT_FOUND', `Volume type ${req.newVolumeType} could not be found.`);
    newType = t.name;
    if (fleet.typeFits(t.name, src)) dest = src;
    else if (req.migrationPolicy === 'never') refuse('RETYPE_NOT_ALLOWED', `Retype of volume ${v.id} to ${t.name} needs a migration but the migration policy is never.`);
    else dest = scheduleFor(fleet, v, t.name);
  }
  if (dest.state !== 'up') refuse('NO_VALID_BACKEND', `pool ${dest.name} is down`);
  if (dest !== src && !fleet.fits(dest, v.sizeGiB)) {
    refuse('NO_VALID_BACKEND', `No valid backend was found: pool ${dest.name} has no room for ${v.sizeGiB} GiB`);
  }

  return { volume: v, src, dest, newType, lock };
}

/** The destination Cinder's scheduler would pick for a retype: compatible, fits, most free. */
function scheduleFor(fleet: SimFleet, v: SimVolume, typeName: string): SimPool {
  const candidates = [...fleet.pools.values()]
    .filter((p) => p.state === 'up' && p.name !== v.pool && p.availabilityZone === v.availabilityZone && fleet.typeFits(typeName, p) && fleet.fits(p, v.sizeGiB))
    .sort((a, b) => b.totalGiB - b.allocatedGiB - (a.totalGiB - a.allocatedGiB) || (a.name < b.name ? -1 : 1));
  return candidates[0] ?? refuse('NO_VALID_BACKEND', `No valid backend was found for volume ${v.id} of type ${typeName}`);
}
