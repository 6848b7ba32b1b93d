import { isMigrating, parseHost, type Attachment, type Snapshot, type Volume, type VolumeType } from '../model/index.js';
import { AppError } from '../shared/index.js';
import type { ServiceContext } from './context.js';
import { ProcessLock } from './locks.js';
import { explainRejections, schedule, type PoolView } from './scheduler.js';
import { inTx } from './state-db.js';

export interface CreateVolumeRequest {
  readonly sizeGiB: unknown;
  readonly type?: string | undefined;
  readonly name?: string | undefined;
  readonly description?: string | undefined;
  readonly host?: string | undefined;
  readonly availabilityZone?: string | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
  /** Owner project (the API passes the caller's); default: the service's project. */
  readonly projectId?: string | undefined;
}

/** Validates a size in GiB as Cinder does: a positive integer. */
export function checkSize(size: unknown, what = 'Volume size'): number {
  const n = typeof size === 'string' && /^\s*\d+\s*$/.test(size) ? Number(size) : size;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) {
    throw new AppError('INVALID_INPUT', `${what} '${String(size)}' must be an integer and greater than 0`);
  }
  return n;
}

/** Holds an operation lock on a volume while `fn` runs, so recovery never touches it. */
export async function withVolumeLock<T>(ctx: ServiceContext, volumeId: string, fn: () => Promise<T>): Promise<T> {
  const lock = ProcessLock.tryAcquire(ctx.locksDir, `volume-${volumeId}`);
  if (!lock) throw new AppError('INVALID_VOLUME', `Volume ${volumeId} is busy with another operation`);
  try {
    return await fn();
  } finally {
    lock.release(true);
  }
}

export function resolveType(ctx: ServiceContext, nameOrId: string | undefined, defaultType: string | null): VolumeType {
  const wanted = nameOrId ?? defaultType;
  if (!wanted) throw new AppError('INVALID_INPUT', 'no volume type given and no defaultVolumeType configured');
  const t = ctx.repo.findType(wanted);
  if (!t) {
    const names = ctx.repo.listTypes().map((x) => x.name);
    throw new AppError('VOLUME_TYPE_NOT_FOUND', `Volume type with name ${wanted} could not be found. (types: ${names.join(', ')})`);
  }
  return t;
}

function typeZones(t: VolumeType, requested: string | undefined): string[] | null {
  const spec = t.extraSpecs['RESKEY:availability_zones'];
  const fromType = spec ? spec.split(',').map((s) => s.trim()).filter(Boolean) : null;
  if (requested) {
    if (fromType && !fromType.includes(requested)) {
      throw new AppError('INVALID_INPUT', `availability zone ${requested} is not allowed by type ${t.name} (${fromType.join(', ')})`);
    }
    return [requested];
  }
  return fromType;
}

/** Candidate pools for an explicit `--host` (full or pool-less), or all pools. */
export function candidatesFor(ctx: ServiceContext, views: readonly PoolView[], host: string | undefined): PoolView[] {
  if (!host) return [...views];
  const h = parseHost(host);
  const backend = ctx.backendOf(host);
  if (h.pool !== null) ctx.poolOf(host);
  return views.filter((p) => p.backendName === backend.name && (h.pool === null || p.poolName === h.pool));
}

/** Creates a volume: schedule (filters + weigher) inside one transaction, then the driver creates it. */
export async function createVolume(ctx: ServiceContext, req: CreateVolumeRequest, defaultType: string | null): Promise<Volume> {
  const sizeGiB = checkSize(req.sizeGiB);
  const type = resolveType(ctx, req.type, defaultType);
  const zones = typeZones(type, req.availabilityZone);
  if (req.host) parseHost(req.host);
  const stats = await ctx.poolStats();
  const id = ctx.ids();
  const now = ctx.now();
  return withVolumeLock(ctx, id, async () => {
    const row = inTx(ctx.db, () => {
      const views = ctx.poolViews(stats);
      const candidates = candidatesFor(ctx, views, req.host);
      const { ranked, verdicts } = schedule(candidates, { sizeGiB, volumeType: type, availabilityZones: zones });
      const best = ranked[0];
      if (!best) {
        throw new AppError('NO_VALID_BACKEND', `No valid backend was found. ${explainRejections(verdicts)}`, {
          details: { sizeGiB, type: type.name },
        });
      }
      const v: Volume = {
        id,
        name: req.name ?? '',
        description: req.description ?? '',
        sizeGiB,
        status: 'creating',
        previousStatus: null,
        migrationStatus: null,
        nameIdOverride: null,
        host: best.host,
        availabilityZone: best.availabilityZone,
        volumeTypeId: type.id,
        projectId: req.projectId ?? ctx.projectId,
        providerLocation: null,
        attachStatus: 'detached',
        replicationStatus: null,
        groupId: null,
        useQuota: true,
        metadata: req.metadata ?? {},
        createdAtMs: now,
        updatedAtMs: now,
      };
      ctx.repo.insertVolume(v);
      return v;
    });
    try {
      const { providerLocation } = await ctx.driverOf(row.host).createVolume(ctx.locatorOf(row));
      return inTx(ctx.db, () => {
        ctx.repo.addEvent({ atMs: ctx.now(), volumeId: id, kind: 'volume.create', message: `created ${sizeGiB} GiB on ${row.host}` });
        return ctx.repo.updateVolume(id, { status: 'available', providerLocation }, ctx.now());
      });
    } catch (e) {
      // Nothing half-made: the row goes away with the object.
      await ctx.driverOf(row.host).deleteVolume(ctx.locatorOf(row));
      inTx(ctx.db, () => ctx.repo.markVolumeDeleted(id, ctx.now()));
      throw e;
    }
  });
}

const DELETABLE = new Set(['available', 'error', 'error_deleting']);

export async function deleteVolume(ctx: ServiceContext, id: string): Promise<void> {
  await withVolumeLock(ctx, id, async () => {
    const v = inTx(ctx.db, () => {
      const vol = ctx.repo.getVolume(id);
      if (isMigrating(vol.migrationStatus) || (vol.migrationStatus ?? '').startsWith('target:')) {
        throw new AppError('INVALID_VOLUME', `Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer. (volume ${id} is migrating: ${vol.migrationStatus})`);
      }
      if (!DELETABLE.has(vol.status)) {
        throw new AppError('INVALID_VOLUME', `Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer. (volume ${id} is ${vol.status})`);
      }
      const snaps = ctx.repo.listSnapshots(id);
      if (snaps.length > 0) throw new AppError('INVALID_VOLUME', `Invalid volume: Volume ${id} still has ${snaps.length} dependent snapshots.`);
      return ctx.repo.updateVolume(id, { status: 'deleting', previousStatus: vol.status }, ctx.now());
    });
    try {
      await ctx.driverOf(v.host).deleteVolume(ctx.locatorOf(v));
    } catch (e) {
      inTx(ctx.db, () => ctx.repo.updateVolume(id, { status: 'error_deleting' }, ctx.now()));
      throw e;
    }
    inTx(ctx.db, () => {
      ctx.repo.markVolumeDeleted(id, ctx.now());
      ctx.repo.addEvent({ atMs: ctx.now(), volumeId: id, kind: 'volume.delete', message: `deleted from ${v.host}` });
    });
  });
}

export async function extendVolume(ctx: ServiceContext, id: string, newSize: unknown): Promise<Volume> {
  const newSizeGiB = checkSize(newSize, 'New size');
  const stats = await ctx.poolStats();
  return withVolumeLock(ctx, id, async () => {
    const v = inTx(ctx.db, () => {
      const vol = ctx.repo.getVolume(id);
      if (vol.status !== 'available') {
        throw new AppError('INVALID_VOLUME', `Invalid volume: Volume ${id} status must be available to extend, but current status is: ${vol.status}.`);
      }
      if (newSizeGiB <= vol.sizeGiB) {
        throw new AppError('INVALID_INPUT', `New size for extend must be greater than current size. (current: ${vol.sizeGiB}, extended: ${newSizeGiB}).`);
      }
      const pool = ctx.poolViews(stats).filter((p) => p.host === vol.host);
      const type = ctx.getType(vol.volumeTypeId);
      const { ranked, verdicts } = schedule(pool, { sizeGiB: newSizeGiB - vol.sizeGiB, volumeType: type, availabilityZones: null });
      if (ranked.length === 0) throw new AppError('NO_VALID_BACKEND', `Cannot extend volume ${id} on ${vol.host}: ${explainRejections(verdicts)}`);
      return ctx.repo.updateVolume(id, { status: 'extending', previousStatus: vol.status }, ctx.now());
    });
    try {
      await ctx.driverOf(v.host).extendVolume(ctx.locatorOf(v), newSizeGiB);
    } catch (e) {
      inTx(ctx.db, () => ctx.repo.updateVolume(id, { status: 'available' }, ctx.now()));
      throw e;
    }
    return inTx(ctx.db, () => ctx.repo.updateVolume(id, { status: 'available', sizeGiB: newSizeGiB }, ctx.now()));
  });
}

export async function createSnapshot(ctx: ServiceContext, volumeId: string, name: string | undefined): Promise<Snapshot> {
  const id = ctx.ids();
  return withVolumeLock(ctx, volumeId, async () => {
    const { vol, snap } = inTx(ctx.db, () => {
      const vol = ctx.repo.getVolume(volumeId);
      if (isMigrating(vol.migrationStatus)) throw new AppError('INVALID_VOLUME', 'Snapshot cannot be created while volume is migrating.');
      if (vol.status !== 'available' && vol.status !== 'in-use') {
        throw new AppError('INVALID_VOLUME', `Invalid volume: Volume ${volumeId} status must be available or in-use, but current status is: ${vol.status}.`);
      }
      const snap: Snapshot = { id, volumeId, name: name ?? '', status: 'creating', sizeGiB: vol.sizeGiB, createdAtMs: ctx.now() };
      ctx.repo.insertSnapshot(snap);
      return { vol, snap };
    });
    try {
      await ctx.driverOf(vol.host).createSnapshot(ctx.locatorOf(vol), id);
    } catch (e) {
      await ctx.driverOf(vol.host).deleteSnapshot(ctx.locatorOf(vol), id);
      inTx(ctx.db, () => ctx.repo.markSnapshotDeleted(id));
      throw e;
    }
    inTx(ctx.db, () => ctx.repo.setSnapshotStatus(id, 'available'));
    return { ...snap, status: 'available' };
  });
}

export async function deleteSnapshot(ctx: ServiceContext, snapshotId: string): Promise<void> {
  const snap = ctx.repo.getSnapshot(snapshotId);
  await withVolumeLock(ctx, snap.volumeId, async () => {
    const vol = inTx(ctx.db, () => {
      ctx.repo.setSnapshotStatus(snapshotId, 'deleting');
      return ctx.repo.getVolume(snap.volumeId);
    });
    await ctx.driverOf(vol.host).deleteSnapshot(ctx.locatorOf(vol), snapshotId);
    inTx(ctx.db, () => ctx.repo.markSnapshotDeleted(snapshotId));
  });
}

/** Records an attachment (status in-use). The data path of attached volumes is the hypervisor's. */
export function attachVolume(ctx: ServiceContext, volumeId: string, opts: { instanceUuid?: string; hostName?: string; mountpoint?: string }): Attachment {
  return inTx(ctx.db, () => {
    const vol = ctx.repo.getVolume(volumeId);
    if (vol.status !== 'available') {
      throw new AppError('INVALID_VOLUME', `Invalid volume: Volume ${volumeId} status must be available to attach, but current status is: ${vol.status}.`);
    }
    if (isMigrating(vol.migrationStatus)) throw new AppError('INVALID_VOLUME', `Invalid volume: Volume ${volumeId} is migrating.`);
    const a: Attachment = {
      id: ctx.ids(),
      volumeId,
      instanceUuid: opts.instanceUuid ?? null,
      attachedHost: opts.hostName ?? null,
      mountpoint: opts.mountpoint ?? null,
      attachMode: 'rw',
      createdAtMs: ctx.now(),
    };
    ctx.repo.insertAttachment(a);
    ctx.repo.updateVolume(volumeId, { status: 'in-use', attachStatus: 'attached' }, ctx.now());
    return a;
  });
}

export function detachVolume(ctx: ServiceContext, volumeId: string, attachmentId?: string): Volume {
  return inTx(ctx.db, () => {
    const vol = ctx.repo.getVolume(volumeId);
    const atts = ctx.repo.listAttachments(volumeId);
    if (vol.status === 'maintenance') throw new AppError('INVALID_VOLUME', `Invalid volume: Volume ${volumeId} is in maintenance.`);
    const target = attachmentId ? atts.find((a) => a.id === attachmentId) : atts[0];
    if (!target) throw new AppError('INVALID_VOLUME', `Invalid volume: Volume ${volumeId} has no attachment${attachmentId ? ` ${attachmentId}` : ''}.`);
    ctx.repo.markAttachmentDeleted(target.id);
    const left = atts.length - 1;
    return ctx.repo.updateVolume(volumeId, left === 0 ? { status: 'available', attachStatus: 'detached' } : {}, ctx.now());
  });
}
