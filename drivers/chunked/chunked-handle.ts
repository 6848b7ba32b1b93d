/**
 * An open chunked volume: positional I/O split over fixed-size object files. Objects are updated
 * in place (positional writes into the object file); a write that makes a whole object zero
 * removes it. Durability: `flush()` fsyncs every object written since the last flush and the
 * volume directory (new and removed objects).
 */
import { constants as fsc } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { ByteRange, IoAccounting, VolumeHandle } from '../../src/blockstore/index.js';
import { AppError } from '../../src/shared/index.js';
import { objectIndex, objectName, readMeta } from './chunk-layout.js';
import { errnoOf, fsyncDir, isAllZero, messageOf, readFully, writeFully } from '../common/fs-util.js';

/** What a handle needs to know about the volume it serves. */
export interface ChunkedHandleContext {
  readonly pool: string;
  readonly nameId: string;
  /** `volume-<nameId> in pool host@backend#pool`, for messages. */
  readonly label: string;
  readonly accounting: IoAccounting;
}

/** One piece of an I/O: the part of a request that falls in one object. */
interface Piece {
  readonly index: number;
  /** Offset inside the object. */
  readonly objectOffset: number;
  /** Offset inside the caller's buffer. */
  readonly bufOffset: number;
  readonly length: number;
}

/** ChunkedHandle is the `VolumeHandle` of the chunked driver; it has no block path. */
export class ChunkedHandle implements VolumeHandle {
  readonly blockPath = null;
  private closed = false;
  /** Objects written (or removed) since the last flush. */
  private readonly dirty = new Set<number>();

  private constructor(
    private readonly dir: string,
    readonly sizeBytes: number,
    private readonly chunkSizeBytes: number,
    private readonly ctx: ChunkedHandleContext,
  ) {}

  /** Opens the volume directory `dir`; a missing volume is `VOLUME_NOT_FOUND`. */
  static async open(dir: string, ctx: ChunkedHandleContext): Promise<ChunkedHandle> {
    try {
      const meta = await readMeta(dir);
      return new ChunkedHandle(dir, meta.sizeBytes, meta.chunkSizeBytes, ctx);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') throw new AppError('VOLUME_NOT_FOUND', `chunked: no ${ctx.label}`, { cause: e });
      throw new AppError('DRIVER_ERROR', `chunked: cannot open ${ctx.label}: ${messageOf(e)}`, { cause: e });
    }
  }

  async read(buf: Buffer, offset: number, length: number = buf.length): Promise<number> {
    this.checkArgs('read', buf, offset, length);
    const want = Math.max(0, Math.min(length, this.sizeBytes - offset));
    return this.ctx.accounting.measure(
      this.ctx.pool,
      this.ctx.nameId,
      'read',
      async () => {
        for (const piece of this.pieces(offset, want)) await this.readPiece(buf, piece);
        return want;
      },
      (n) => n,
    );
  }

  async write(buf: Buffer, offset: number, length: number = buf.length): Promise<void> {
    this.checkArgs('write', buf, offset, length);
    if (offset + length > this.sizeBytes) {
      throw new AppError(
        'IO_ERROR',
        `chunked: write of ${length} bytes at offset ${offset} is past the end of ${this.ctx.label} (${this.sizeBytes} bytes)`,
        { retryable: false },
      );
    }
    await this.ctx.accounting.measure(
      this.ctx.pool,
      this.ctx.nameId,
      'write',
      async () => {
        for (const piece of this.pieces(offset, length)) await this.writePiece(buf, piece);
      },
      () => length,
    );
  }

  async flush(): Promise<void> {
    this.checkOpen('flush');
    await this.ctx.accounting.measure(
      this.ctx.pool,
      this.ctx.nameId,
      'flush',
      async () => {
        // Take the dirty set now: a write completing during this flush marks its object again and
        // is made durable by the next flush (a write marks its object only once it is done).
        const indexes = [...this.dirty];
        this.dirty.clear();
        try {
          await this.syncObjects(indexes);
        } catch (e) {
          for (const index of indexes) this.dirty.add(index);
          throw e;
        }
      },
      () => 0,
    );
  }

  private async syncObjects(indexes: readonly number[]): Promise<void> {
    for (const index of indexes) {
      const file = this.objectPath(index);
      try {
        const h = await fsp.open(file, 'r+');
        try {
          await h.datasync();
        } finally {
          await h.close();
        }
      } catch (e) {
        if (errnoOf(e) !== 'ENOENT') throw this.ioError(`flush of object ${objectName(index)}`, e);
        // removed (all-zero): the directory fsync below makes the removal durable
      }
    }
    try {
      await fsyncDir(this.dir);
    } catch (e) {
      throw this.ioError('flush of the volume directory', e);
        }
  }

  /** Whole objects that exist, in offset order, merged where adjacent. */
  async allocatedRanges(): Promise<ByteRange[]> {
    this.checkOpen('allocatedRanges');
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch (e) {
      throw this.ioError('listing of objects', e);
    }
    const indexes = names
      .map(objectIndex)
      .filter((i): i is number => i !== null && i * this.chunkSizeBytes < this.sizeBytes)
      .sort((a, b) => a - b);
    const ranges: { offset: number; length: number }[] = [];
    for (const index of indexes) {
      const offset = index * this.chunkSizeBytes;
      const length = Math.min(this.chunkSizeBytes, this.sizeBytes - offset);
      const prev = ranges[ranges.length - 1];
      if (prev && prev.offset + prev.length === offset) prev.length += length;
      else ranges.push({ offset, length });
    }
    return ranges;
  }

  /** Closes the handle (nothing is held open between calls); closing twice is a no-op. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private pieces(offset: number, length: number): Piece[] {
    const pieces: Piece[] = [];
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const index = Math.floor(pos / this.chunkSizeBytes);
      const objectOffset = pos - index * this.chunkSizeBytes;
      const n = Math.min(this.chunkSizeBytes - objectOffset, length - done);
      pieces.push({ index, objectOffset, bufOffset: done, length: n });
      done += n;
    }
    return pieces;
  }

  private async readPiece(buf: Buffer, p: Piece): Promise<void> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.objectPath(p.index), 'r');
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw this.ioError(`read of object ${objectName(p.index)}`, e);
      buf.fill(0, p.bufOffset, p.bufOffset + p.length); // never written
      return;
    }
    try {
      const n = await readFully(fh, buf, p.bufOffset, p.length, p.objectOffset);
      // An object file may be shorter than a chunk: the rest was never written.
      if (n < p.length) buf.fill(0, p.bufOffset + n, p.bufOffset + p.length);
    } catch (e) {
      throw this.ioError(`read of object ${objectName(p.index)}`, e);
    } finally {
      await fh.close();
    }
  }

  private async writePiece(buf: Buffer, p: Piece): Promise<void> {
    const file = this.objectPath(p.index);
    const objectLength = Math.min(this.chunkSizeBytes, this.sizeBytes - p.index * this.chunkSizeBytes);
    if (p.objectOffset === 0 && p.length === objectLength && isAllZero(buf, p.bufOffset, p.length)) {
      try {
        await fsp.rm(file, { force: true });
      } catch (e) {
        throw this.ioError(`removal of all-zero object ${objectName(p.index)}`, e);
      }
      this.dirty.add(p.index);
      return;
    }
    // Zeros written into an object that does not exist change nothing (it reads as zeros): keep
    // it missing, so a copy that writes zeros (QEMU's mirror does) keeps the volume sparse.
    const zeros = isAllZero(buf, p.bufOffset, p.length);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(file, zeros ? fsc.O_WRONLY : fsc.O_WRONLY | fsc.O_CREAT, 0o644);
    } catch (e) {
      if (zeros && errnoOf(e) === 'ENOENT') return;
      throw this.ioError(`write of object ${objectName(p.index)}`, e);
    }
    try {
      await writeFully(fh, buf, p.bufOffset, p.length, p.objectOffset);
      this.dirty.add(p.index);
    } catch (e) {
      throw this.ioError(`write of object ${objectName(p.index)}`, e);
    } finally {
      await fh.close();
    }
  }

  private objectPath(index: number): string {
    return path.join(this.dir, objectName(index));
  }

  private checkOpen(op: string): void {
    if (this.closed) throw new AppError('IO_ERROR', `chunked: ${op} on a closed handle of ${this.ctx.label}`, { retryable: false });
  }

  private checkArgs(op: string, buf: Buffer, offset: number, length: number): void {
    this.checkOpen(op);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0 || length > buf.length) {
      throw new AppError(
        'IO_ERROR',
        `chunked: invalid ${op} of ${this.ctx.label}: offset ${offset}, length ${length}, buffer ${buf.length} bytes`,
        { retryable: false },
      );
    }
  }

  private ioError(what: string, cause: unknown): AppError {
    return new AppError('IO_ERROR', `chunked: ${what} of ${this.ctx.label} failed: ${messageOf(cause)}`, { cause });
  }
}
