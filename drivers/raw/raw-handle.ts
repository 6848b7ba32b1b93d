/**
 * An open raw volume: positional I/O on its image file through one `FileHandle`, every completed
 * operation recorded in the driver's I/O accounting.
 */
import fsp from 'node:fs/promises';
import type { ByteRange, IoAccounting, VolumeHandle } from '../../src/blockstore/index.js';
import { AppError } from '../../src/shared/index.js';
import { errnoOf, messageOf } from '../common/fs-util.js';
import { dataRanges, readFully, writeFully } from './sparse.js';

/** What a handle needs to know about the volume it serves. */
export interface RawHandleContext {
  readonly pool: string;
  readonly nameId: string;
  /** `volume-<nameId> in pool host@backend#pool`, for messages. */
  readonly label: string;
  readonly accounting: IoAccounting;
}

/** RawHandle is the `VolumeHandle` of the raw driver; `blockPath` is the image file. */
export class RawHandle implements VolumeHandle {
  private closed = false;

  private constructor(
    private readonly fh: fsp.FileHandle,
    readonly sizeBytes: number,
    readonly blockPath: string,
    private readonly ctx: RawHandleContext,
  ) {}

  /** Opens the image at `file` read-write; a missing file is `VOLUME_NOT_FOUND`. */
  static async open(file: string, ctx: RawHandleContext): Promise<RawHandle> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(file, 'r+');
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') throw new AppError('VOLUME_NOT_FOUND', `raw: no ${ctx.label}`, { cause: e });
      throw new AppError('DRIVER_ERROR', `raw: cannot open ${ctx.label}: ${messageOf(e)}`, { cause: e });
    }
    try {
      const st = await fh.stat();
      return new RawHandle(fh, st.size, file, ctx);
    } catch (e) {
      await fh.close();
      throw new AppError('DRIVER_ERROR', `raw: cannot stat ${ctx.label}: ${messageOf(e)}`, { cause: e });
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
        const n = await this.guard('read', offset, () => readFully(this.fh, buf, offset, want));
        if (n !== want) {
          throw new AppError('IO_ERROR', `raw: ${this.ctx.label} ended early: read ${n} of ${want} bytes at offset ${offset}`);
        }
        return n;
      },
      (n) => n,
    );
  }

  async write(buf: Buffer, offset: number, length: number = buf.length): Promise<void> {
    this.checkArgs('write', buf, offset, length);
    if (offset + length > this.sizeBytes) {
      throw new AppError(
        'IO_ERROR',
        `raw: write of ${length} bytes at offset ${offset} is past the end of ${this.ctx.label} (${this.sizeBytes} bytes)`,
        { retryable: false },
      );
    }
    await this.ctx.accounting.measure(
      this.ctx.pool,
      this.ctx.nameId,
      'write',
      () => this.guard('write', offset, () => writeFully(this.fh, buf, offset, length)),
      () => length,
    );
  }

  async flush(): Promise<void> {
    this.checkOpen('flush');
    await this.ctx.accounting.measure(
      this.ctx.pool,
      this.ctx.nameId,
      'flush',
      () => this.guard('flush', 0, () => this.fh.datasync()),
      () => 0,
    );
  }

  async allocatedRanges(): Promise<ByteRange[]> {
    this.checkOpen('allocatedRanges');
    try {
      return dataRanges(this.fh.fd, this.sizeBytes);
    } catch (e) {
      throw new AppError('IO_ERROR', `raw: cannot map the allocated ranges of ${this.ctx.label}: ${messageOf(e)}`, { cause: e });
    }
  }

  /** Closes the file; closing twice is a no-op. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.fh.close();
    } catch (e) {
      throw new AppError('IO_ERROR', `raw: closing ${this.ctx.label} failed: ${messageOf(e)}`, { cause: e });
    }
  }

  private checkOpen(op: string): void {
    if (this.closed) throw new AppError('IO_ERROR', `raw: ${op} on a closed handle of ${this.ctx.label}`, { retryable: false });
  }

  private checkArgs(op: string, buf: Buffer, offset: number, length: number): void {
    this.checkOpen(op);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0 || length > buf.length) {
      throw new AppError(
        'IO_ERROR',
        `raw: invalid ${op} of ${this.ctx.label}: offset ${offset}, length ${length}, buffer ${buf.length} bytes`,
        { retryable: false },
      );
    }
  }

  private async guard<T>(op: string, offset: number, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError('IO_ERROR', `raw: ${op} at offset ${offset} of ${this.ctx.label} failed: ${messageOf(e)}`, { cause: e });
    }
  }
}
