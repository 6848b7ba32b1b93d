/**
 * The chunked volume driver (file-like, RBD-like): a volume is a directory of fixed-size objects
 * (see `chunk-layout.ts`); generic copies go through handles (`copyMode: 'file'`).
 *
 * Snapshots copy the volume's objects (reflinked where the file system can clone, else a plain
 * copy of at most one chunk per object). Hard links would be wrong because objects are rewritten
 * in place; the alternative, write-new-then-rename on every write, would make each small write
 * rewrite a whole object. Copying at snapshot time keeps writes cheap and costs the snapshot a
 * time proportional to the data written, not to the volume size.
 */
import fsp from 'node:fs/promises';
import { DriverBase } from '../common/driver-base.js';
import { constants as fsc } from 'node:fs';
import path from 'node:path';
import {
  type ConnectionInfo,
  IoAccounting,
  type BackendSpec,
  type DriverMigrateResult,
  type IoStats,
  type MigratedVolumeUpdate,
  type PoolSpec,
  type PoolStats,
  type TypeDiff,
  type VolumeDriver,
  type VolumeHandle,
  type VolumeLocator,
} from '../../src/blockstore/index.js';
import type { VolumeStatus } from '../../src/model/index.js';
import { AppError, GiB, MiB } from '../../src/shared/index.js';
import {
  META_FILE,
  nameIdOfVolumeDir,
  objectIndex,
  readMeta,
  snapshotDir,
  snapshotIdOfDir,
  tempPath,
  volumeDir,
  writeMeta,
  type ChunkedMeta,
} from './chunk-layout.js';
import { ChunkedHandle } from './chunked-handle.js';
import { chunkedPoolStats, measureChunkedPool } from './chunked-stats.js';
import { errnoOf, fsyncDir, pathExists, runCleanups, specChanges } from '../common/fs-util.js';

/** The driver name used in configuration (`driver: chunked`). */
export const CHUNKED_DRIVER_NAME = 'chunked';

/** The extra spec a chunked retype cannot apply in place. */
export const CHUNKED_CHUNK_SIZE_SPEC = 'chunked:chunk_size_mib';

/** Default object size when `options.chunkSizeMiB` is not set. */
export const DEFAULT_CHUNK_SIZE_MIB = 4;

/** ChunkedDriver implements the volume-driver port with directories of fixed-size objects. */
export class ChunkedDriver extends DriverBase implements VolumeDriver {
  readonly driverName = CHUNKED_DRIVER_NAME;
  readonly copyMode = 'file' as const;
  /** Object size of volumes created from now on (existing volumes keep theirs, in meta.json). */
  readonly chunkSizeMiB: number;
  private readonly chunkSizeBytes: number;
  private readonly io = new IoAccounting();

  constructor(backend: BackendSpec) {
    super(backend);
    const option = backend.options['chunkSizeMiB'] ?? DEFAULT_CHUNK_SIZE_MIB;
    const bytes = typeof option === 'number' ? option * MiB : Number.NaN;
    if (!Number.isSafeInteger(bytes) || bytes <= 0) {
      throw new AppError(
        'CONFIG_INVALID',
        `chunked: back-end ${backend.host}@${backend.name}: options.chunkSizeMiB must be a positive number of MiB, got ${JSON.stringify(option)}`,
      );
    }
    this.chunkSizeMiB = option as number;
    this.chunkSizeBytes = bytes;
  }

  async setup(): Promise<void> {
    for (const pool of this.backend.pools) {
      try {
        await fsp.mkdir(pool.dataPath, { recursive: true });
      } catch (e) {
        throw this.error('DRIVER_ERROR', `cannot create the directory ${pool.dataPath} of pool ${this.poolLabel(pool)}`, e);
      }
    }
  }

  /** Builds the directory under a temp name and renames it into place: all or nothing. */
  async createVolume(vol: VolumeLocator): Promise<{ providerLocation: string }> {
    const pool = this.poolOf(vol.pool);
    const dir = volumeDir(pool.dataPath, vol.nameId);
    const sizeBytes = this.sizeBytesOf(vol.sizeGiB, vol);
    if (await this.exists(dir, `check ${this.label(vol)}`)) {
      throw this.error('DRIVER_ERROR', `cannot create ${this.label(vol)}: it already exists`, undefined, { retryable: false });
    }
    const meta: ChunkedMeta = { sizeBytes, chunkSizeBytes: this.chunkSizeBytes, createdAt: new Date().toISOString() };
    const tmp = tempPath(pool.dataPath, `volume-${vol.nameId}`);
    try {
      await fsp.mkdir(tmp);
      await writeMeta(tmp, meta);
      await fsp.rename(tmp, dir); // fails (ENOTEMPTY/EEXIST) if a complete volume appeared meanwhile
      await fsyncDir(pool.dataPath);
    } catch (e) {
      const cleanup = await runCleanups([() => fsp.rm(tmp, { recursive: true, force: true })]);
      const code = errnoOf(e);
      const already = code === 'ENOTEMPTY' || code === 'EEXIST';
      throw this.error('DRIVER_ERROR', `cannot create ${this.label(vol)}${already ? ': it already exists' : ''}`, e, {
        cleanup,
        ...(already ? { retryable: false } : {}),
      });
    }
    return { providerLocation: dir };
  }

  async deleteVolume(vol: VolumeLocator): Promise<void> {
    const pool = this.poolOf(vol.pool);
    await this.removeDir(pool, volumeDir(pool.dataPath, vol.nameId), this.label(vol));
    this.io.forgetVolume(vol.nameId);
  }

  async volumeExists(vol: VolumeLocator): Promise<boolean> {
    const pool = this.poolOf(vol.pool);
    return this.exists(volumeDir(pool.dataPath, vol.nameId), `check ${this.label(vol)}`);
  }

  /** Rewrites meta.json atomically with the new size; objects are untouched. */
  async extendVolume(vol: VolumeLocator, newSizeGiB: number): Promise<void> {
    const dir = volumeDir(this.poolOf(vol.pool).dataPath, vol.nameId);
    const newBytes = this.sizeBytesOf(newSizeGiB, vol);
    const meta = await this.metaOf(dir, vol);
    if (newBytes < meta.sizeBytes) {
      throw this.error('DRIVER_ERROR', `cannot shrink ${this.label(vol)} from ${meta.sizeBytes / GiB} GiB to ${newSizeGiB} GiB`, undefined, {
        retryable: false,
      });
    }
    if (newBytes === meta.sizeBytes) return;
    try {
      await writeMeta(dir, { ...meta, sizeBytes: newBytes });
    } catch (e) {
      throw this.error('DRIVER_ERROR', `cannot extend ${this.label(vol)} to ${newSizeGiB} GiB`, e);
    }
  }

  async createSnapshot(vol: VolumeLocator, snapshotId: string): Promise<void> {
    const pool = this.poolOf(vol.pool);
    const src = volumeDir(pool.dataPath, vol.nameId);
    const dst = snapshotDir(pool.dataPath, snapshotId);
    const what = `snapshot ${snapshotId} of ${this.label(vol)}`;
    const meta = await this.metaOf(src, vol);
    if (await this.exists(dst, `check ${what}`)) {
      throw this.error('DRIVER_ERROR', `cannot create ${what}: it already exists`, undefined, { retryable: false });
    }
    const tmp = tempPath(pool.dataPath, `snapshot-${snapshotId}`);
    try {
      await fsp.mkdir(tmp);
      for (const name of await fsp.readdir(src)) {
        if (objectIndex(name) === null) continue;
        const copy = path.join(tmp, name);
        try {
          await fsp.copyFile(path.join(src, name), copy, fsc.COPYFILE_EXCL | fsc.COPYFILE_FICLONE);
        } catch (e) {
          if (errnoOf(e) === 'ENOENT' && !(await pathExists(path.join(src, name)))) continue; // zeroed meanwhile
          throw e;
        }
        const h = await fsp.open(copy, 'r+');
        try {
          await h.datasync();
        } finally {
          await h.close();
        }
      }
      await writeMeta(tmp, { ...meta, createdAt: new Date().toISOString(), volumeNameId: vol.nameId });
      await fsp.rename(tmp, dst);
      await fsyncDir(pool.dataPath);
    } catch (e) {
      const cleanup = await runCleanups([() => fsp.rm(tmp, { recursive: true, force: true })]);
      throw this.error('DRIVER_ERROR', `cannot create ${what}`, e, { cleanup });
    }
  }

  async deleteSnapshot(vol: VolumeLocator, snapshotId: string): Promise<void> {
    const pool = this.poolOf(vol.pool);
    await this.removeDir(pool, snapshotDir(pool.dataPath, snapshotId), `snapshot ${snapshotId} of ${this.label(vol)}`);
  }

  async openVolume(vol: VolumeLocator): Promise<VolumeHandle> {
    const pool = this.poolOf(vol.pool);
    return ChunkedHandle.open(volumeDir(pool.dataPath, vol.nameId), {
      pool: pool.name,
      nameId: vol.nameId,
      label: this.label(vol),
      accounting: this.io,
    });
  }

  /** Chunked volumes have no file a hypervisor can open: Ballast exports their handle over NBD. */
  async connectionInfo(vol: VolumeLocator): Promise<ConnectionInfo> {
    const pool = this.poolOf(vol.pool);
    if (!(await pathExists(volumeDir(pool.dataPath, vol.nameId)))) throw this.error('VOLUME_NOT_FOUND', `${this.label(vol)} does not exist`);
    return { driverVolumeType: 'handle' };
  }

  async listVolumes(poolName: string): Promise<string[]> {
    const pool = this.poolOf(poolName);
    try {
      const entries = await fsp.readdir(pool.dataPath, { withFileTypes: true });
      return entries
        .filter((e) => e.isDirectory())
        .map((e) => nameIdOfVolumeDir(e.name))
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
        stats.push(chunkedPoolStats(this.backend, pool, this.chunkSizeMiB, await measureChunkedPool(pool.dataPath)));
      } catch (e) {
        throw this.error('DRIVER_ERROR', `cannot measure pool ${this.poolLabel(pool)}`, e);
      }
    }
    return stats;
  }

  ioStats(): IoStats {
    return this.io.snapshot();
  }

  /** No driver-assisted move: the service always runs the generic (file) copy. */
  async migrateVolume(vol: VolumeLocator): Promise<DriverMigrateResult> {
    this.poolOf(vol.pool);
    return { moved: false };
  }

  /** Nothing to change in place, except that existing objects cannot change size. */
  async retype(vol: VolumeLocator, _newTypeExtraSpecs: Readonly<Record<string, string>>, diff: TypeDiff): Promise<boolean> {
    this.poolOf(vol.pool);
    return !specChanges(diff, CHUNKED_CHUNK_SIZE_SPEC);
  }

  /**
   * As Cinder's LVM, for directories: when the volume was `available` and the destination pool
   * holds no `volume-<source id>`, the new volume's directory is renamed to it (rename(2) is
   * atomic, and refuses to replace a non-empty directory) and the source row needs no name-id
   * override; otherwise the object keeps its name and the source row takes its name id.
   */
  async updateMigratedVolume(
    source: { readonly id: string; readonly locator: VolumeLocator },
    dest: { readonly id: string; readonly locator: VolumeLocator },
    originalStatus: VolumeStatus,
  ): Promise<MigratedVolumeUpdate> {
    const pool = this.poolOf(dest.locator.pool);
    const current = volumeDir(pool.dataPath, dest.locator.nameId);
    const renamed = volumeDir(pool.dataPath, source.id);
    const what = `rename ${this.label(dest.locator)} to volume-${source.id}`;
    if (!(await this.exists(current, what))) {
      throw this.error('VOLUME_NOT_FOUND', `no ${this.label(dest.locator)} to update after migration`);
    }
    const keep: MigratedVolumeUpdate = { nameIdOverride: dest.locator.nameId, providerLocation: current };
    if (originalStatus !== 'available' || current === renamed || (await this.exists(renamed, what))) return keep;
    try {
      await fsp.rename(current, renamed);
      await fsyncDir(pool.dataPath);
    } catch (e) {
      throw this.error('DRIVER_ERROR', `${what} failed`, e);
    }
    return { nameIdOverride: null, providerLocation: renamed };
  }

  /** Snapshot ids on disk taken of the volume `nameId` in `pool` (for callers and tests). */
  async snapshotsOf(poolName: string, nameId: string): Promise<string[]> {
    const pool = this.poolOf(poolName);
    const found: string[] = [];
    try {
      for (const name of await fsp.readdir(pool.dataPath)) {
        const snapshotId = snapshotIdOfDir(name);
        if (snapshotId === null) continue;
        if ((await readMeta(path.join(pool.dataPath, name))).volumeNameId === nameId) found.push(snapshotId);
      }
    } catch (e) {
      throw this.error('DRIVER_ERROR', `cannot list the snapshots of volume-${nameId} in pool ${this.poolLabel(pool)}`, e);
    }
    return found.sort();
  }

  /**
   * Renames a volume or snapshot directory out of sight, then removes it: a crash midway leaves
   * a `.tmp-` directory, never a half-deleted one under its real name. Missing is fine.
   */
  private async removeDir(pool: PoolSpec, dir: string, what: string): Promise<void> {
    const doomed = tempPath(pool.dataPath, `deleting-${path.basename(dir)}`);
    try {
      await fsp.rename(dir, doomed);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return;
      throw this.error('DRIVER_ERROR', `cannot delete ${what}`, e);
    }
    try {
      await fsyncDir(pool.dataPath);
      await fsp.rm(doomed, { recursive: true, force: true });
    } catch (e) {
      throw this.error('DRIVER_ERROR', `cannot delete ${what} (its data is left in ${doomed})`, e);
    }
  }

  private async metaOf(dir: string, vol: VolumeLocator): Promise<ChunkedMeta> {
    try {
      return await readMeta(dir);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') throw this.error('VOLUME_NOT_FOUND', `no ${this.label(vol)}`, e);
      throw this.error('DRIVER_ERROR', `cannot read ${path.join(dir, META_FILE)} of ${this.label(vol)}`, e);
    }
  }
}
