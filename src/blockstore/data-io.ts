import { open, stat } from 'node:fs/promises';
import { isMigrating } from '../model/index.js';
import { AppError, GiB, MiB } from '../shared/index.js';
import { readHypervisorState } from './attachments.js';
import type { ServiceContext } from './context.js';
import { withVolumeLock } from './volume-ops.js';

const CHUNK = 4 * MiB;

export interface DataProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

/**
 * Writes a file's bytes into a volume at `offset` (Ballast's stand-in for a consumer writing
 * through an attachment). Refused while the volume is migrating or in maintenance, so no write can
 * land behind a copy and be lost; refused before writing anything if the data does not fit.
 */
export async function writeVolumeFromFile(
  ctx: ServiceContext,
  volumeId: string,
  file: string,
  offset: number,
  onProgress?: (p: DataProgress) => void,
): Promise<{ bytesWritten: number }> {
  if (!Number.isInteger(offset) || offset < 0) throw new AppError('INVALID_INPUT', `offset '${offset}' must be a non-negative integer number of bytes`);
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (e) {
    throw new AppError('INVALID_INPUT', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return withVolumeLock(ctx, volumeId, async () => {
    const vol = ctx.repo.getVolume(volumeId);
    if (vol.status !== 'available' && vol.status !== 'in-use') {
      throw new AppError('INVALID_VOLUME', `Invalid volume: Volume ${volumeId} status must be available or in-use to write, but current status is: ${vol.status}.`);
    }
    if (isMigrating(vol.migrationStatus)) {
      throw new AppError('INVALID_VOLUME', `Invalid volume: Volume ${volumeId} is migrating (${vol.migrationStatus}); writes wait until it ends.`);
    }
    const served = ctx.repo.listAttachments(volumeId).map((a) => readHypervisorState(ctx, a.id)).find((h) => h !== null);
    if (served) {
      throw new AppError('INVALID_VOLUME', `Invalid volume: Volume ${volumeId} is attached and served at ${served.address}; write through that address (qemu-io, nbdcopy, a VM), not behind its consumer's back`);
    }
    const capacity = vol.sizeGiB * GiB;
    if (offset + size > capacity) {
      throw new AppError('DATA_TOO_LARGE', `${file} (${size} bytes) at offset ${offset} does not fit in volume ${volumeId} of ${capacity} bytes (${vol.sizeGiB} GiB)`, {
        details: { fileBytes: size, offset, volumeBytes: capacity },
      });
    }
    const handle = await ctx.driverOf(vol.host).openVolume(ctx.locatorOf(vol));
    const src = await open(file, 'r');
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      let done = 0;
      while (done < size) {
        const { bytesRead } = await src.read(buf, 0, Math.min(CHUNK, size - done), done);
        if (bytesRead === 0) break;
        await handle.write(buf, offset + done, bytesRead);
        done += bytesRead;
        onProgress?.({ bytesDone: done, bytesTotal: size });
      }
      await handle.flush();
      return { bytesWritten: done };
    } finally {
      await src.close();
      await handle.close();
    }
  });
}

/**
 * Reads a whole volume into a file. Unallocated ranges stay holes in the output (sparse), so a
 * mostly empty volume reads in time proportional to its data.
 */
export async function readVolumeToFile(
  ctx: ServiceContext,
  volumeId: string,
  file: string,
  onProgress?: (p: DataProgress) => void,
): Promise<{ bytesRead: number; sizeBytes: number }> {
  const vol = ctx.repo.getVolume(volumeId);
  const handle = await ctx.driverOf(vol.host).openVolume(ctx.locatorOf(vol));
  let out;
  try {
    out = await open(file, 'w');
  } catch (e) {
    await handle.close();
    throw new AppError('INVALID_INPUT', `cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  try {
    const ranges = await handle.allocatedRanges();
    const total = ranges.reduce((s, r) => s + r.length, 0);
    const buf = Buffer.allocUnsafe(CHUNK);
    let done = 0;
    for (const r of ranges) {
      for (let pos = r.offset; pos < r.offset + r.length; pos += CHUNK) {
        const len = Math.min(CHUNK, r.offset + r.length - pos);
        const n = await handle.read(buf, pos, len);
        await out.write(buf, 0, n, pos);
        done += n;
        onProgress?.({ bytesDone: done, bytesTotal: total });
      }
    }
    await out.truncate(handle.sizeBytes);
    return { bytesRead: done, sizeBytes: handle.sizeBytes };
  } finally {
    await out.close();
    await handle.close();
  }
}
