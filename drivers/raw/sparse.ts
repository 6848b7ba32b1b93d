/**
 * Sparse-file primitives of the raw driver: the allocated extents of a file (lseek SEEK_DATA /
 * SEEK_HOLE through `fs-ext`) and a copy whose cost is proportional to the data, not the size.
 */
import { constants as fsc } from 'node:fs';
import fsp from 'node:fs/promises';
import fsExt from 'fs-ext';
import type { ByteRange } from '../../src/blockstore/index.js';
import { errnoOf, runCleanups } from '../common/fs-util.js';

const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const COPY_CHUNK = 1024 * 1024;
const ZEROS = Buffer.alloc(COPY_CHUNK);

/** True when the first `length` bytes of `buf` are all zero (memcmp speed). */
export function isAllZero(buf: Buffer, length = buf.length): boolean {
  for (let off = 0; off < length; off += ZEROS.length) {
    const n = Math.min(ZEROS.length, length - off);
    if (buf.compare(ZEROS, 0, n, off, off + n) !== 0) return false;
  }
  return true;
}

/**
 * The sorted, merged ranges of `[0, size)` that hold data in the open file `fd`. Where the file
 * system cannot tell holes from data (`EINVAL`/`EOPNOTSUPP` on SEEK_DATA), the rest of the file is
 * reported as data, which the port allows (over-report, never under-report).
 */
export function dataRanges(fd: number, size: number): ByteRange[] {
  const ranges: { offset: number; length: number }[] = [];
  let pos = 0;
  while (pos < size) {
    let start: number;
    try {
      start = fsExt.seekSync(fd, pos, SEEK_DATA);
    } catch (e) {
      const code = errnoOf(e);
      if (code === 'ENXIO') break; // no data at or after pos
      if (code === 'EINVAL' || code === 'EOPNOTSUPP' || code === 'ENOTSUP') {
        ranges.push({ offset: pos, length: size - pos });
        break;
      }
      throw e;
    }
    if (start >= size) break;
    const end = Math.min(fsExt.seekSync(fd, start, SEEK_HOLE), size);
    const prev = ranges[ranges.length - 1];
    if (prev && prev.offset + prev.length === start) prev.length += end - start;
    else ranges.push({ offset: start, length: end - start });
    pos = end;
  }
  return ranges;
}

/** How a copy was made. */
export type CopyMethod = 'clone' | 'sparse';

/**
 * Copies `src` to a new file `dst` (which must not exist), durably. First a copy-on-write clone
 * (FICLONE, e.g. XFS/Btrfs); where the file system cannot clone, a sparse copy of the data
 * extents only. `COPYFILE_FICLONE` alone is not used: its fallback copies every byte, holes
 * included, which fully allocates the destination (measured: 12 s for a 2 GiB sparse file).
 */
export async function cloneOrSparseCopy(src: string, dst: string): Promise<CopyMethod> {
  try {
    await fsp.copyFile(src, dst, fsc.COPYFILE_EXCL | fsc.COPYFILE_FICLONE_FORCE);
    await syncFile(dst);
    return 'clone';
  } catch (e) {
    const code = errnoOf(e);
    if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV' && code !== 'EINVAL' && code !== 'ENOSYS' && code !== 'ENOTTY') {
      throw e;
    }
    // COPYFILE_EXCL guaranteed `dst` was ours; libuv removes it on failure, make sure.
    await fsp.rm(dst, { force: true });
  }
  await sparseCopy(src, dst);
  return 'sparse';
}

/** Copies only the data extents of `src` into a new sparse file `dst`; all-zero chunks are skipped. */
export async function sparseCopy(src: string, dst: string): Promise<void> {
  const input = await fsp.open(src, 'r');
  try {
    const size = (await input.stat()).size;
    const output = await fsp.open(dst, 'wx');
    try {
      await output.truncate(size);
      const buf = Buffer.allocUnsafe(COPY_CHUNK);
      for (const range of dataRanges(input.fd, size)) {
        for (let off = range.offset; off < range.offset + range.length; off += COPY_CHUNK) {
          const want = Math.min(COPY_CHUNK, range.offset + range.length - off);
          const n = await readFully(input, buf, off, want);
          if (n !== want) throw new Error(`short read of ${src} at ${off}: ${n} of ${want} bytes`);
          if (!isAllZero(buf, n)) await writeFully(output, buf, off, n);
        }
      }
      await output.sync();
    } catch (e) {
      const failures = await runCleanups([() => output.close(), () => fsp.rm(dst, { force: true })]);
      if (failures.length > 0 && e instanceof Error) e.message += ` (cleanup failed: ${failures.join('; ')})`;
      throw e;
    }
    await output.close();
  } finally {
    await input.close();
  }
}

/** Reads until `length` bytes are read or the file ends; returns the bytes read. */
export async function readFully(fh: fsp.FileHandle, buf: Buffer, position: number, length: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Writes all `length` bytes of `buf` at `position`. */
export async function writeFully(fh: fsp.FileHandle, buf: Buffer, position: number, length: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buf, done, length - done, position + done);
    done += bytesWritten;
  }
}

async function syncFile(file: string): Promise<void> {
  const h = await fsp.open(file, 'r+');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
