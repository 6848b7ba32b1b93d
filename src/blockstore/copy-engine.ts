/**
 * The generic volume copy (Cinder's `_copy_volume_data` / `volume_utils.copy_volume`, §3.3), done
 * through the driver port: sparse-aware, streaming with bounded memory, throttled, cancellable and
 * reporting progress (pain points 2, 3, 9 and 16 of §7). One engine for every pair of drivers;
 * when both volumes have a block path it does the I/O there with O_DIRECT, as Cinder's dd does.
 */
import { constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { AppError, systemClock, toAppError, type Clock } from '../shared/index.js';
import type { ByteRange, VolumeHandle } from './driver-port.js';
import { RateLimiter, cancelledError } from './rate-limiter.js';

const MiB = 1024 * 1024;

/** Default chunk size: Cinder's file-handle copy moves 4 MiB at a time. */
export const DEFAULT_COPY_BUFFER_BYTES = 4 * MiB;
/** Default number of chunk buffers in flight (a read of chunk N+1 overlaps the write of chunk N). */
export const DEFAULT_COPY_BUFFERS = 3;
/**
 * Default largest single buffered write. Measured on Linux 6.18/ext4 (large page-cache folios):
 * buffered writes of 4 MiB cost 3-6× the system time of writes of 1-2 MiB (`dd ibs=1M obs=4M`
 * vs `obs=1M`), so a chunk is written in pieces of at most this size (Cinder's dd default is
 * `bs=1M` too). O_DIRECT writes are not cut.
 */
export const DEFAULT_MAX_WRITE_BYTES = 1 * MiB;
/** Default granularity of zero detection for sparse copies. */
export const DEFAULT_SPARSE_BLOCK_BYTES = 64 * 1024;
/** Default minimum interval between two progress reports. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 500;

/** Progress of a copy. All counts are bytes and never decrease between two reports. */
export interface CopyProgress {
  /** Bytes done: written to the destination or skipped there because they were zeros. */
  readonly bytesCopied: number;
  /** Allocated bytes of the source, i.e. what the copy has to move; known before the first byte. */
  readonly bytesTotal: number;
  /** Bytes read from the source so far (runs ahead of `bytesCopied` by the buffers in flight). */
  readonly bytesScanned: number;
}

/** Options of {@link copyVolumeData} and {@link verifyVolumeData}; all optional. */
export interface DataPassOptions {
  /** Chunk size in bytes (default 4 MiB). Memory used is about `buffers × bufferBytes` (× 2 for verify). */
  readonly bufferBytes?: number;
  /** Chunks in flight, ≥ 2 (default 3). */
  readonly buffers?: number;
  /** Private limit, bytes per second, on bytes read from the source. Exclusive with `rateLimiter`. */
  readonly bpsLimit?: number;
  /** A limiter shared with other copies (they then split its rate). Exclusive with `bpsLimit`. */
  readonly rateLimiter?: RateLimiter;
  /** Aborting stops the pass promptly (after the I/O in flight) with `AppError('CANCELLED')`. */
  readonly signal?: AbortSignal;
  /** Minimum interval between progress reports, ms (default 500; 0 = after every chunk). */
  readonly progressIntervalMs?: number;
  /** Time source for progress throttling and `durationMs` (default: wall clock). */
  readonly clock?: Clock;
  /**
   * When both handles have a `blockPath` (default true), do the I/O on those paths directly, as
   * Cinder's dd does, instead of through the handles. Same semantics. The drivers' I/O accounting
   * does not see block-path traffic; false forces the handles.
   */
  readonly useBlockPath?: boolean;
  /**
   * On the block path, read and write with O_DIRECT where the file system allows it (default
   * true), as Cinder's dd does (`iflag=direct`, `oflag=direct`, §3.3): the data goes between the
   * disk and the buffers with no page-cache copy, which was measured the fastest and least
   * CPU-hungry with a cold source (see `bench/results/copy.md`); verify then reads what is on disk.
   */
  readonly directIo?: boolean;
}

export interface CopyOptions extends DataPassOptions {
  /**
   * Keep the destination sparse (Cinder's `sparse_copy_volume`): zero blocks inside the source's
   * allocated ranges are not written. Default false (every allocated byte is written).
   */
  readonly sparse?: boolean;
  /** Granularity of zero detection when `sparse` (default 64 KiB, aligned to volume offsets). */
  readonly sparseBlockBytes?: number;
  /** Largest single buffered write to the destination, bytes (default 1 MiB); a chunk is written in pieces. */
  readonly maxWriteBytes?: number;
  /** Called at most every `progressIntervalMs`, and always once at the end with `bytesCopied = bytesTotal`. */
  readonly onProgress?: (progress: CopyProgress) => void;
}

export interface CopyResult {
  /** Bytes done (written or skipped as zeros); equals `bytesTotal`. */
  readonly bytesCopied: number;
  /** Bytes actually written to the destination. */
  readonly bytesWritten: number;
  /** Zero bytes not written because of `sparse`. */
  readonly bytesSkippedZero: number;
  /** Allocated bytes of the source (what had to be read). */
  readonly bytesTotal: number;
  /** Whether the I/O went to the block paths rather than through the handles. */
  readonly usedBlockPath: boolean;
  /** Whether the destination was written with O_DIRECT (block paths on a file system that allows it). */
  readonly usedDirectIo: boolean;
  readonly durationMs: number;
}

/**
 * Copies the data of `src` into `dst`, reading only the source's allocated ranges.
 *
 * Precondition: `dst` is a fresh volume that reads as zeros everywhere (as Cinder's migration
 * target is). Ranges the source reports unallocated, and zero blocks skipped by `sparse`, are not
 * written, so they read back identical only because the destination already holds zeros there.
 * `dst` may be larger than `src` (the extra space stays as it is: zeros); smaller is
 * `AppError('INVALID_INPUT')`.
 *
 * Memory is bounded by `buffers × bufferBytes` whatever the volume size. The copy ends with
 * `dst.flush()`. The caller keeps ownership of both handles (they are not closed).
 *
 * @throws AppError `INVALID_INPUT` (sizes, options), `CANCELLED` (signal), or the drivers'
 * `IO_ERROR`/`DRIVER_ERROR`.
 */
export async function copyVolumeData(src: VolumeHandle, dst: VolumeHandle, opts: CopyOptions = {}): Promise<CopyResult> {
  const clock = opts.clock ?? systemClock;
  const startMs = clock.nowMs();
  const signal = opts.signal;
  if (dst.sizeBytes < src.sizeBytes) {
    throw new AppError(
      'INVALID_INPUT',
      `destination volume (${dst.sizeBytes} bytes) is smaller than the source (${src.sizeBytes} bytes)`,
      { details: { srcBytes: src.sizeBytes, dstBytes: dst.sizeBytes } },
    );
  }
  const usesBlock = opts.useBlockPath !== false && src.blockPath !== null && dst.blockPath !== null;
  const directIo = opts.directIo !== false;
  const bufferBytes = positiveInt(opts.bufferBytes ?? DEFAULT_COPY_BUFFER_BYTES, 'bufferBytes');
  const depth = bufferCount(opts.buffers);
  const sparse = opts.sparse === true;
  const sparseBlockBytes = positiveInt(opts.sparseBlockBytes ?? DEFAULT_SPARSE_BLOCK_BYTES, 'sparseBlockBytes');
  const maxWrite = positiveInt(opts.maxWriteBytes ?? DEFAULT_MAX_WRITE_BYTES, 'maxWriteBytes');
  const limiter = resolveLimiter(opts);
  const progressEvery = opts.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  if (signal?.aborted) throw cancelledError(signal.reason);

  let bytesScanned = 0;
  let bytesCopied = 0;
  let bytesWritten = 0;
  let bytesSkippedZero = 0;
  let bytesTotal = 0;
  let lastReportMs = Number.NEGATIVE_INFINITY;
  const report = (final: boolean): void => {
    if (!opts.onProgress) return;
    const now = clock.nowMs();
    if (!final && now - lastReportMs < progressEvery) return;
    lastReportMs = now;
    opts.onProgress({ bytesCopied, bytesTotal, bytesScanned });
  };

  let io: PairIo | undefined;
  let usedDirectIo = false;
  try {
    const ranges = normalizeRanges(await src.allocatedRanges(), src.sizeBytes);
    bytesTotal = ranges.reduce((s, r) => s + r.length, 0);
    report(false);
    io = usesBlock ? await openBlockPair(src, dst, { writable: true, maxWriteBytes: maxWrite, direct: directIo }) : handlePair(src, dst);
    const write = usesBlock ? io.writeB : splitWrites(io.writeB, maxWrite);
    const pair = io;
    const zero = sparse ? Buffer.alloc(Math.min(sparseBlockBytes, bufferBytes)) : null;
    const direct = usesBlock && directIo;
    const slots = chunkBuffers(depth, bufferBytes, direct);
    const view = (chunk: ByteRange, slot: Buffer): Buffer => chunkView(chunk, slot, direct);
    await runOrderedPipeline({
      items: chunkRanges(ranges, bufferBytes),
      slots,
      ...(signal ? { signal } : {}),
      produce: async (chunk, slot) => {
        if (limiter) await limiter.acquire(chunk.length, signal);
        await readFully(pair.readA, view(chunk, slot), chunk.offset, chunk.length);
        bytesScanned += chunk.length;
      },
      consume: async (chunk, slot) => {
        const buf = view(chunk, slot);
        if (zero === null) {
          await write(buf, chunk.offset, chunk.length);
          bytesWritten += chunk.length;
        } else {
          const written = await writeNonZeroRuns(write, buf, chunk, sparseBlockBytes, zero);
          bytesWritten += written;
          bytesSkippedZero += chunk.length - written;
        }
        bytesCopied += chunk.length;
        report(false);
      },
    });
  } catch (e) {
    throw toAppError(e, 'IO_ERROR');
  } finally {
    if (io) {
      usedDirectIo = io.directWrites() && bytesWritten > 0;
      await io.close();
    }
  }
  try {
    await dst.flush();
    report(true);
  } catch (e) {
    throw toAppError(e, 'IO_ERROR');
  }
  return {
    bytesCopied,
    bytesWritten,
    bytesSkippedZero,
    bytesTotal,
    usedBlockPath: usesBlock,
    usedDirectIo,
    durationMs: clock.nowMs() - startMs,
  };
}

// ---------------------------------------------------------------------------------------------
// Internals shared with verify.ts and the tests (marked @internal: not part of the API).

/** @internal Validates `buffers`. */
export function bufferCount(n: number | undefined): number {
  const depth = n ?? DEFAULT_COPY_BUFFERS;
  if (!Number.isInteger(depth) || depth < 2 || depth > 64) {
    throw new AppError('INVALID_INPUT', `buffers must be an integer from 2 to 64, got ${depth}`);
  }
  return depth;
}

/** @internal */
export function positiveInt(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new AppError('INVALID_INPUT', `${name} must be a positive integer, got ${n}`);
  return n;
}

/** @internal The limiter to use, from `bpsLimit` or `rateLimiter`. */
export function resolveLimiter(opts: DataPassOptions): RateLimiter | null {
  if (opts.bpsLimit !== undefined && opts.rateLimiter !== undefined) {
    throw new AppError('INVALID_INPUT', 'give either bpsLimit or rateLimiter, not both');
  }
  if (opts.rateLimiter) return opts.rateLimiter;
  if (opts.bpsLimit !== undefined && opts.bpsLimit !== 0) return new RateLimiter({ bytesPerSecond: opts.bpsLimit });
  return null;
}

/** @internal Sorts, clips to `[0, size)` and merges overlapping or touching ranges. */
export function normalizeRanges(ranges: readonly ByteRange[], sizeBytes: number): ByteRange[] {
  const clipped: ByteRange[] = [];
  for (const r of ranges) {
    const start = Math.max(0, r.offset);
    const end = Math.min(sizeBytes, r.offset + r.length);
    if (end > start) clipped.push({ offset: start, length: end - start });
  }
  clipped.sort((a, b) => a.offset - b.offset);
  const out: ByteRange[] = [];
  for (const r of clipped) {
    const last = out[out.length - 1];
    if (last && r.offset <= last.offset + last.length) {
      const end = Math.max(last.offset + last.length, r.offset + r.length);
      out[out.length - 1] = { offset: last.offset, length: end - last.offset };
    } else {
      out.push(r);
    }
  }
  return out;
}

/** @internal Splits ranges into chunks of at most `chunkBytes`, cut at multiples of `chunkBytes`. */
export function* chunkRanges<R extends ByteRange>(ranges: Iterable<R>, chunkBytes: number): Generator<R> {
  for (const r of ranges) {
    let pos = r.offset;
    const end = r.offset + r.length;
    while (pos < end) {
      const next = Math.min(end, (Math.floor(pos / chunkBytes) + 1) * chunkBytes);
      yield { ...r, offset: pos, length: next - pos };
      pos = next;
    }
  }
}

/**
 * @internal Two-stage ordered pipeline over a fixed set of slots (buffers): `produce` runs item by
 * item in order; `consume` runs item by item in order, overlapping the next `produce`. At most
 * `slots.length` items are between the two stages. The first failure (or an abort) stops new work;
 * the I/O already started is awaited before this returns, so no slot is touched afterwards.
 */
export async function runOrderedPipeline<T, S>(params: {
  readonly items: Iterable<T>;
  readonly slots: readonly S[];
  readonly produce: (item: T, slot: S) => Promise<void>;
  readonly consume: (item: T, slot: S) => Promise<void> | void;
  readonly signal?: AbortSignal;
}): Promise<void> {
  const { signal } = params;
  const free: S[] = [...params.slots];
  let failure: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  let tail: Promise<void> = Promise.resolve();
  const fail = (error: unknown): void => {
    if (failure === null) failure = { error };
  };
  const release = (slot: S): void => {
    free.push(slot);
    const w = wake;
    wake = null;
    w?.();
  };
  const onAbort = (): void => {
    fail(cancelledError(signal?.reason));
    const w = wake;
    wake = null;
    w?.();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) onAbort();
    for (const item of params.items) {
      while (free.length === 0 && failure === null) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      if (failure !== null) break;
      const slot = free.pop() as S;
      try {
        await params.produce(item, slot);
      } catch (e) {
        fail(e);
      }
      if (failure !== null) {
        free.push(slot);
        break;
      }
      tail = tail
        .then(async () => {
          if (failure !== null) return;
          try {
            await params.consume(item, slot);
          } catch (e) {
            fail(e);
          }
        })
        .finally(() => release(slot));
    }
    await tail;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) fail(cancelledError(signal.reason));
  if (failure !== null) throw (failure as { error: unknown }).error;
}

type ReadFn = (buf: Buffer, offset: number, length: number) => Promise<number>;
type WriteFn = (buf: Buffer, offset: number, length: number) => Promise<void>;

/** @internal Positional I/O on two volumes (A is read, B is read or written). */
export interface PairIo {
  readonly readA: ReadFn;
  readonly readB: ReadFn;
  readonly writeB: WriteFn;
  /** Whether B's writes are going (still) with O_DIRECT. */
  directWrites(): boolean;
  /** Whether reads of both A and B are going (still) with O_DIRECT. */
  directReads(): boolean;
  close(): Promise<void>;
}

/** @internal I/O through the driver handles (the caller keeps them open). */
export function handlePair(a: VolumeHandle, b: VolumeHandle): PairIo {
  return {
    readA: (buf, offset, length) => a.read(buf, offset, length),
    readB: (buf, offset, length) => b.read(buf, offset, length),
    writeB: (buf, offset, length) => b.write(buf, offset, length),
    directWrites: () => false,
    directReads: () => false,
    close: async () => {},
  };
}

/** Alignment of O_DIRECT file offsets, lengths and memory (the page size; enough for any device). */
const DIRECT_ALIGN = 4096;

/**
 * @internal `count` page-aligned buffers of `size` bytes. WebAssembly memory is mapped straight from
 * the OS, so its start is page-aligned (a `Buffer.allocUnsafe` comes from malloc and is not).
 */
export function alignedBuffers(count: number, size: number): Buffer[] {
  const stride = Math.ceil(size / DIRECT_ALIGN) * DIRECT_ALIGN;
  const pages = Math.ceil((count * stride) / 65536);
  // The project's `lib` has no WebAssembly types; the global is always there in Node.
  const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer } } }).WebAssembly;
  const mem = new wasm.Memory({ initial: pages, maximum: pages });
  return Array.from({ length: count }, (_, i) => Buffer.from(mem.buffer, i * stride, size));
}

/** @internal Splits writes into pieces of at most `max` bytes. */
export function splitWrites(write: WriteFn, max: number): WriteFn {
  return async (buf, offset, length) => {
    for (let done = 0; done < length; done += max) {
      await write(done === 0 ? buf : buf.subarray(done), offset + done, Math.min(max, length - done));
    }
  };
}

/**
 * @internal Chunk buffers: page-aligned when `direct` (for O_DIRECT, with room for the shift that
 * {@link chunkView} applies), plain otherwise.
 */
export function chunkBuffers(count: number, size: number, direct: boolean): Buffer[] {
  return direct ? alignedBuffers(count, size + DIRECT_ALIGN) : Array.from({ length: count }, () => Buffer.allocUnsafe(size));
}

/**
 * @internal Where a chunk lives in its buffer: with `direct`, at its file offset modulo the page,
 * so that page-aligned file offsets are page-aligned in memory too (what O_DIRECT needs).
 */
export function chunkView(chunk: ByteRange, slot: Buffer, direct: boolean): Buffer {
  const shift = direct ? chunk.offset % DIRECT_ALIGN : 0;
  return slot.subarray(shift, shift + chunk.length);
}

/**
 * @internal I/O straight on the block paths of two volumes (what Cinder's dd does). `B` is opened
 * read-write only when `writable`. With `direct`, the page-aligned part of every read and write
 * goes with O_DIRECT (dd's `iflag=direct`/`oflag=direct`), when the file system accepts it (an
 * EINVAL at open or at the first I/O falls back to buffered I/O); the unaligned edges go
 * buffered. Buffered writes are cut in pieces of at most `maxWriteBytes`. With `direct`, `buf[i]`
 * must be at a memory address congruent to its file offset modulo 4096 (see {@link chunkView}).
 */
export async function openBlockPair(
  a: VolumeHandle,
  b: VolumeHandle,
  opts: { readonly writable: boolean; readonly maxWriteBytes?: number; readonly direct?: boolean },
): Promise<PairIo> {
  if (a.blockPath === null || b.blockPath === null) throw new AppError('INTERNAL', 'block I/O needs two block paths');
  const aPath = a.blockPath;
  const bPath = b.blockPath;
  const handles: FileHandle[] = [];
  const openDirect = async (path: string, flags: number): Promise<FileHandle | null> => {
    if (opts.direct !== true || fsConstants.O_DIRECT === undefined) return null;
    const fh = await open(path, flags | fsConstants.O_DIRECT).catch(() => null);
    if (fh) handles.push(fh);
    return fh;
  };
  try {
    const fa = await openPath(aPath, 'r');
    handles.push(fa);
    const fb = await openPath(bPath, opts.writable ? 'r+' : 'r');
    handles.push(fb);
    const direct = {
      a: await openDirect(aPath, fsConstants.O_RDONLY),
      b: await openDirect(bPath, opts.writable ? fsConstants.O_RDWR : fsConstants.O_RDONLY),
      failed: false,
    };
    const readAll = async (fh: FileHandle, buf: Buffer, offset: number, length: number): Promise<number> => {
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done;
    };
    const writeAll = async (fh: FileHandle, buf: Buffer, offset: number, length: number): Promise<void> => {
      let done = 0;
      while (done < length) {
        const { bytesWritten } = await fh.write(buf, done, length - done, offset + done);
        done += bytesWritten;
      }
    };
    /**
     * Runs `edge` on the unaligned head and tail of [offset, offset+length) and `middle` on the
     * page-aligned rest with O_DIRECT (or everything with `edge` when there is no direct handle).
     */
    const split = async (
      dfh: FileHandle | null,
      offset: number,
      length: number,
      edge: (from: number, to: number) => Promise<void>,
      middle: (fh: FileHandle, from: number, to: number) => Promise<void>,
    ): Promise<void> => {
      const start = Math.ceil(offset / DIRECT_ALIGN) * DIRECT_ALIGN;
      const end = Math.floor((offset + length) / DIRECT_ALIGN) * DIRECT_ALIGN;
      if (dfh === null || direct.failed || end <= start) return edge(offset, offset + length);
      if (start > offset) await edge(offset, start);
      try {
        await middle(dfh, start, end);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
        // The file system or the memory does not allow O_DIRECT after all: buffered from now on.
        direct.failed = true;
        await edge(start, end);
      }
      if (offset + length > end) await edge(end, offset + length);
    };
    const read = (fh: FileHandle, dfh: FileHandle | null, size: number): ReadFn => async (buf, offset, length) => {
      const want = Math.max(0, Math.min(length, size - offset));
      const part = async (f: FileHandle, from: number, to: number): Promise<void> => {
        const n = await readAll(f, buf.subarray(from - offset), from, to - from);
        // Past the end of a sparse file that is shorter than the volume: zeros, as the port says.
        if (n < to - from) buf.fill(0, from - offset + n, to - offset);
      };
      await split(dfh, offset, want, (from, to) => part(fh, from, to), part);
      return want;
    };
    const buffered = splitWrites((buf, offset, length) => writeAll(fb, buf, offset, length), opts.maxWriteBytes ?? Number.MAX_SAFE_INTEGER);
    const writeB: WriteFn = async (buf, offset, length) => {
      if (offset + length > b.sizeBytes) {
        throw new AppError('IO_ERROR', `write past the end of the volume (${offset + length} > ${b.sizeBytes})`);
      }
      await split(
        direct.b,
        offset,
        length,
        (from, to) => buffered(buf.subarray(from - offset), from, to - from),
        (f, from, to) => writeAll(f, buf.subarray(from - offset), from, to - from),
      );
    };
    return {
      readA: read(fa, direct.a, a.sizeBytes),
      readB: read(fb, direct.b, b.sizeBytes),
      writeB,
      directWrites: () => opts.writable && direct.b !== null && !direct.failed,
      directReads: () => direct.a !== null && direct.b !== null && !direct.failed,
      close: async () => {
        await Promise.allSettled(handles.map((h) => h.close()));
      },
    };
  } catch (e) {
    await Promise.allSettled(handles.map((h) => h.close()));
    throw e;
  }
}

async function openPath(path: string, flags: 'r' | 'r+'): Promise<FileHandle> {
  try {
    return await open(path, flags);
  } catch (e) {
    throw new AppError('IO_ERROR', `cannot open block path ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** @internal Reads exactly `length` bytes or fails with IO_ERROR. */
export async function readFully(read: ReadFn, buf: Buffer, offset: number, length: number): Promise<void> {
  const n = await read(buf, offset, length);
  if (n !== length) {
    throw new AppError('IO_ERROR', `short read at offset ${offset}: ${n} of ${length} bytes`, { details: { offset, length, read: n } });
  }
}

/** @internal Whether `buf[start, end)` is all zeros (`zero` is a zero-filled buffer of any size). */
export function isZero(buf: Buffer, start: number, end: number, zero: Buffer): boolean {
  for (let pos = start; pos < end; pos += zero.length) {
    const n = Math.min(zero.length, end - pos);
    if (!buf.subarray(pos, pos + n).equals(n === zero.length ? zero : zero.subarray(0, n))) return false;
  }
  return true;
}

/** Writes the non-zero blocks of one chunk (coalesced into runs); returns the bytes written. */
async function writeNonZeroRuns(
  write: WriteFn,
  buf: Buffer,
  chunk: ByteRange,
  blockBytes: number,
  zero: Buffer,
): Promise<number> {
  let written = 0;
  let runStart = -1; // index in buf of the current non-zero run
  let pos = 0;
  const flushRun = async (end: number): Promise<void> => {
    if (runStart < 0) return;
    await write(buf.subarray(runStart, end), chunk.offset + runStart, end - runStart);
    written += end - runStart;
    runStart = -1;
  };
  while (pos < chunk.length) {
    const abs = chunk.offset + pos;
    const next = Math.min(chunk.length, (Math.floor(abs / blockBytes) + 1) * blockBytes - chunk.offset);
    if (isZero(buf, pos, next, zero)) {
      await flushRun(pos);
    } else if (runStart < 0) {
      runStart = pos;
    }
    pos = next;
  }
  await flushRun(chunk.length);
  return written;
}
