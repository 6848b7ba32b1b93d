/**
 * The raw volume driver (block, LVM-like): a volume is a sparse file of exactly its size in the
 * pool directory, a snapshot a sparse copy beside it. A move between pools of this back-end on one
 * file system is a rename (no data copied). See `raw-layout.ts` for the file names and
 * `raw-stats.ts` for how capacity (thin and thick) is accounted.
 */
import fsp from 'node:fs/promises';
import { DriverBase } from '../common/driver-base.js';
import path from 'node:path';
import {
  type ConnectionInfo,
  IoAccounting,
  type DriverMigrateResult,
  type IoStats,
  type MigratedVolumeUpdate,
  type MigrationTarget,
  type PoolSpec,
  type PoolStats,
  type TypeDiff,
  type VolumeDriver,
  type VolumeHandle,
  type VolumeLocator,
} from '../../src/blockstore/index.js';
import type { VolumeStatus } from '../../src/model/index.js';
import { GiB } from '../../src/shared/index.js';
import { errnoOf, fsyncDir, pathExists, runCleanups, specChanges, writeNewFileDurably } from '../common/fs-util.js';
import { RawHandle } from './raw-handle.js';
import {
  nameIdOfVolumeFile,
  snapshotFile,
  snapshotIdOfMetaFile,
  snapshotMetaFile,
  tempFile,
  volumeFile,
  type RawSnapshotMeta,
} from './raw-layout.js';
import { measureRawPool, rawPoolStats } from './raw-stats.js';
import { cloneOrSparseCopy } from './sparse.js';

/** The driver name used in configuration (`driver: raw`). */
export const RAW_DRIVER_NAME = 'raw';

/** The extra spec a raw retype cannot apply in place. */
export const RAW_PREALLOCATE_SPEC = 'raw:preallocate';

/** Statuses in which a volume may be moved by rename (as LVM: not while attached). */
const MOVABLE_STATUSES: ReadonlySet<VolumeStatus> = new Set<VolumeStatus>(['available', 'maintenance', 'retyping']);

/** RawDriver implements the volume-driver port with sparse image files. */
export class RawDriver extends DriverBase implements VolumeDriver {
  readonly driverName = RAW_DRIVER_NAME;
  readonly copyMode = 'block' as const;
  private readonly io = new IoAccounting();


  async setup(): Promise<void> {
    for (const pool of this.backend.pools) {
      try {
        await fsp.mkdir(pool.dataPath, { recursive: true });
      } catch (e) {
        throw this.error('DRIVER_ERROR', `cannot create the directory ${pool.dataPath} of pool ${this.poolLabel(pool)}`, e);
      }
    }
  }

  async createVolume(vol: VolumeLocator): Promise<{ providerLocation: string }> {
    const pool = this.poolOf(vol.pool);
    const file = volumeFile(pool.dataPath, vol.nameId);
    const sizeBytes = this.sizeBytesOf(vol.sizeGiB, vol);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(file, 'wx');
    } catch (e) {
      if (errnoOf(e) === 'EEXIST') {
        throw this.error('DRIVER_ERROR', `cannot create ${this.label(vol)}: it already exists`, e, { retryable: false });
      }
      throw this.error('DRIVER_ERROR', `cannot create ${this.label(vol)}`, e);
    }
    try {
      await fh.truncate(sizeBytes);
      await fh.sync();
    } catch (e) {
      const cleanup = await runCleanups([() => fh.close(), () => fsp.rm(file, { force: true })]);
      throw this.error('DRIVER_ERROR', `cannot create ${this.label(vol)}`, e, { cleanup });
    }
    try {
      await fh.close();
      await fsyncDir(pool.dataPath);
    } catch (e) {
      const cleanup = await runCleanups([() => fsp.rm(file, { force: true })]);
      throw this.error('DRIVER_ERROR', `cannot create ${this.label(vol)}`, e, { cleanup });
    }
    return { providerLocation: file };
  }

  async deleteVolume(vol: VolumeLocator): Promise<void> {
    const pool = this.poolOf(vol.pool);
    const file = volumeFile(pool.dataPath, vol.nameId);
    try {
      await fsp.rm(file, { force: true });
      await fsyncDir(pool.dataPath);
    } catch (e) {
      throw this.error('DRIVER_ERROR', `cannot delete ${this.label(vol)}`, e);
    }
    this.io.forgetVolume(vol.nameId);
  }

  async volumeExists(vol: VolumeLocator): Promise<boolean> {
    const pool = this.poolOf(vol.pool);
    try {
      return await pathExists(volumeFile(pool.dataPath, vol.nameId));
    } catch (e) {
      throw this.error('DRIVER_ERROR', `cannot check ${this.label(vol)}`, e);
    }
  }

  async extendVolume(vol: VolumeLocator, newSizeGiB: number): Promise<void> {
    const file = volumeFile(this.poolOf(vol.pool).dataPath, vol.nameId);
    const newBytes = this.sizeBytesOf(newSizeGiB, vol);
    const size = await this.sizeOnDisk(file, vol);
    if (newBytes < size) {
      throw this.error('DRIVER_ERROR', `cannot shrink ${this.label(vol)} from ${size / GiB} GiB to ${newSizeGiB} GiB`, undefined, {
        retryable: false,
      });
    }
    if (newBytes === size) return;
    try {
      await fsp.truncate(file, newBytes);
    } catch (e) {
      throw this.error('DRIVER_ERROR', `cannot extend ${this.label(vol)} to ${newSizeGiB} GiB`, e);
    }
  }

  async createSnapshot(vol: VolumeLocator, snapshotId: string): Promise<void> {
    const pool = this.poolOf(vol.pool);
    const src = volumeFile(pool.dataPath, vol.nameId);
    const dst = snapshotFile(pool.dataPath, snapshotId);
    const metaFile = snapshotMetaFile(pool.dataPath, snapshotId);
    const what = `snapshot ${snapshotId} of ${this.label(vol)}`;
    const sizeBytes = await this.sizeOnDisk(src, vol);
    if (await this.exists(dst, `check ${what}`)) {
      throw this.error('DRIVER_ERROR', `cannot create ${what}: it already exists`, undefined, { retryable: false });
    }
    const tmpImage = tempFile(pool.dataPath, `snapshot-${snapshotId}.img`);
    const tmpMeta = tempFile(pool.dataPath, `snapshot-${snapshotId}.json`);
    // Order: image copied under a temp name → owner record renamed into place → image renamed
    // into place. A crash leaves temp files or an owner record without an image (ignored), never
    // an image without its owner.
    try {
      await cloneOrSparseCopy(src, tmpImage);
      const meta: RawSnapshotMeta = { volumeNameId: vol.nameId, sizeBytes, createdAt: new Date().toISOString() };
      await writeNewFileDurably(tmpMeta, JSON.stringify(meta));
      await fsp.rename(tmpMeta, metaFile);
      await fsp.rename(tmpImage, dst);
      await fsyncDir(pool.dataPath);
    } catch (e) {
      const cleanup = await runCleanups([() => fsp.rm(tmpImage, { force: true }), () => fsp.rm(tmpMeta, { force: true })]);
      throw this.error('DRIVER_ERROR', `cannot create ${what}`, e, { cleanup });
    }
  }

  async deleteSnapshot(vol: VolumeLocator, snapshotId: string): Promise<void> {
    const pool = this.poolOf(vol.pool);
    try {
      await fsp.rm(snapshotFile(pool.dataPath, snapshotId), { force: true });
      await fsp.rm(snapshotMetaFile(pool.dataPath, snapshotId), { force: true });
      await fsyncDir(pool.dataPath);
    } catch (e) {
      throw this.error('DRIVER_ERROR', `cannot delete snapshot ${snapshotId} of ${this.label(vol)}`, e);
    }
  }

  async openVolume(vol: VolumeLocator): Promise<VolumeHandle> {
    const pool = this.poolOf(vol.pool);
    return RawHandle.open(volumeFile(pool.dataPath, vol.nameId), {
      pool: pool.name,
      nameId: vol.nameId,
      label: this.label(vol),
      accounting: this.io,
    });
  }

  /** Raw volumes are files: the hypervisor opens them directly (cache.direct, aio native). */
  async connectionInfo(vol: VolumeLocator): Promise<ConnectionInfo> {
    const pool = this.poolOf(vol.pool);
    const file = volumeFile(pool.dataPath, vol.nameId);
    if (!(await pathExists(file))) throw this.error('VOLUME_NOT_FOUND', `${this.label(vol)} does not exist`);
    return { driverVolumeType: 'file', path: file };
  }

  async listVolumes(poolName: string): Promise<string[]> {
    const pool = this.poolOf(poolName);
    try {
      const entries = await fsp.readdir(pool.dataPath, { withFileTypes: true });
      return entries
        .filter((e) => e.isFile())
        .map((e) => nameIdOfVolumeFile(e.name))
        .filter((id): id is string => id !== null)
        .sort();
    } catch (e) {
      throw this.error('DRIVER_ERROR', `cannot list the volumes of pool ${this.poolLabel(pool)}`, e);
    }
  }

  async getPoolStats(): Promise<PoolStats[]> {
    const stats: PoolStats[] = [];
    for (const pool of this.backend.pools) {
      try {
        stats.push(rawPoolStats(this.backend, pool, await measureRawPool(pool.dataPath)));
      } catch (e) {
        throw this.error('DRIVER_ERROR', `cannot measure pool ${this.poolLabel(pool)}`, e);
      }
    }
    return stats;
  }

  ioStats(): IoStats {
    return this.io.snapshot();
  }

  /**
   * Moves the image by rename into another pool of this back-end when both directories are on
   * one file system; declines otherwise (other back-end or driver, attached, has snapshots,
   * different file systems). An existing destination file is an error, never overwritten.
   */
  async migrateVolume(vol: VolumeLocator, status: VolumeStatus, target: MigrationTarget): Promise<DriverMigrateResult> {
    const decline: DriverMigrateResult = { moved: false };
    if (target.driver !== RAW_DRIVER_NAME || target.backendName !== this.backend.name) return decline;
    if (!MOVABLE_STATUSES.has(status)) return decline;
    const from = this.poolOf(vol.pool);
    const to = this.backend.pools.find((p) => p.name === target.pool);
    if (!to) return decline;
    if (to.name === from.name) {
      throw this.error('DRIVER_ERROR', `cannot move ${this.label(vol)} to the pool it is in`, undefined, { retryable: false });
    }
    const src = volumeFile(from.dataPath, vol.nameId);
    const dst = volumeFile(to.dataPath, vol.nameId);
    const what = `move ${this.label(vol)} to pool ${this.poolLabel(to)}`;
    try {
      await fsp.stat(src);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') throw this.error('VOLUME_NOT_FOUND', `no ${this.label(vol)}`, e);
      throw this.error('DRIVER_ERROR', `cannot ${what}`, e);
    }
    if ((await this.snapshotsOf(from, vol.nameId)).length > 0) return decline;
    let sameFs: boolean;
    try {
      sameFs = (await fsp.stat(from.dataPath)).dev === (await fsp.stat(to.dataPath)).dev;
    } catch (e) {
      throw this.error('DRIVER_ERROR', `cannot ${what}`, e);
    }
    if (!sameFs) return decline;
    if (await this.exists(dst, what)) {
      throw this.error('DRIVER_ERROR', `cannot ${what}: ${dst} already exists`, undefined, { retryable: false });
    }
    await this.renameDurably(src, dst, what);
    return { moved: true, providerLocation: dst };
  }

  /** The raw driver changes nothing in place, except that it cannot change preallocation. */
  async retype(vol: VolumeLocator, _newTypeExtraSpecs: Readonly<Record<string, string>>, diff: TypeDiff): Promise<boolean> {
    this.poolOf(vol.pool);
    return !specChanges(diff, RAW_PREALLOCATE_SPEC);
  }

  /**
   * As Cinder's LVM: when the volume was `available` and the destination pool holds no object
   * named after the source id, the new object is renamed to `volume-<source id>` (rename(2) is
   * atomic: after a crash exactly one of the two names exists) and the source row needs no
   * name-id override; otherwise the object keeps its name and the source row takes its name id.
   */
  async updateMigratedVolume(
    source: { readonly id: string; readonly locator: VolumeLocator },
    dest: { readonly id: string; readonly locator: VolumeLocator },
    originalStatus: VolumeStatus,
  ): Promise<MigratedVolumeUpdate> {
    const pool = this.poolOf(dest.locator.pool);
    const current = volumeFile(pool.dataPath, dest.locator.nameId);
    const renamed = volumeFile(pool.dataPath, source.id);
    const what = `rename ${this.label(dest.locator)} to volume-${source.id}`;
    if (!(await this.exists(current, what))) {
      throw this.error('VOLUME_NOT_FOUND', `no ${this.label(dest.locator)} to update after migration`);
    }
    const keep: MigratedVolumeUpdate = { nameIdOverride: dest.locator.nameId, providerLocation: current };
    if (originalStatus !== 'available' || current === renamed || (await this.exists(renamed, what))) return keep;
    await this.renameDurably(current, renamed, what);
    return { nameIdOverride: null, providerLocation: renamed };
  }

  /** Snapshot ids on disk taken of the volume `nameId` in `pool`. */
  private async snapshotsOf(pool: PoolSpec, nameId: string): Promise<string[]> {
    const found: string[] = [];
    try {
      for (const name of await fsp.readdir(pool.dataPath)) {
        const snapshotId = snapshotIdOfMetaFile(name);
        if (snapshotId === null) continue;
        const meta = JSON.parse(await fsp.readFile(path.join(pool.dataPath, name), 'utf8')) as Partial<RawSnapshotMeta>;
        if (meta.volumeNameId === nameId && (await pathExists(snapshotFile(pool.dataPath, snapshotId)))) found.push(snapshotId);
      }
    } catch (e) {
      throw this.error('DRIVER_ERROR', `cannot list the snapshots of volume-${nameId} in pool ${this.poolLabel(pool)}`, e);
    }
    return found.sort();
  }

  private async renameDurably(from: string, to: string, what: string): Promise<void> {
    try {
      await fsp.rename(from, to);
      await fsyncDir(path.dirname(to));
      if (path.dirname(from) !== path.dirname(to)) await fsyncDir(path.dirname(from));
    } catch (e) {
      throw this.error('DRIVER_ERROR', `${what} failed`, e);
    }
  }

  private async sizeOnDisk(file: string, vol: VolumeLocator): Promise<number> {
    try {
      return (await fsp.stat(file)).size;
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') throw this.error('VOLUME_NOT_FOUND', `no ${this.label(vol)}`, e);
      throw this.error('DRIVER_ERROR', `cannot stat ${this.label(vol)}`, e);
    }
  }
}
