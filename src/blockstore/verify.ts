/**
 * Block-for-block verification of a copy: the two volumes must read identical over their whole
 * logical size. Only allocated data is read: ranges allocated on neither side are zeros on both
 * by the port's contract, so they are equal without I/O.
 */
import { AppError, systemClock, toAppError } from '../shared/index.js';
import type { ByteRange, VolumeHandle } from './driver-port.js';
import {
  DEFAULT_COPY_BUFFER_BYTES,
  DEFAULT_PROGRESS_INTERVAL_MS,
  bufferCount,
  chunkBuffers,
  chunkRanges,
  chunkView,
  handlePair,
  isZero,
  normalizeRanges,
  openBlockPair,
  positiveInt,
  readFully,
  resolveLimiter,
  runOrderedPipeline,
  type DataPassOptions,
  type PairIo,
} from './copy-engine.js';
import { cancelledError } from './rate-limiter.js';

/** Progress of a verification, in bytes. */
export interface VerifyProgress {
  /** Bytes of the logical range checked so far (each byte counted once, whichever side was read). */
  readonly bytesCompared: number;
  /** Bytes that need reading: allocated on at least one side. Known before the first read. */
  readonly bytesTotal: number;
  /** Bytes read so far, both sides added. */
  readonly bytesScanned: number;
}

export interface VerifyOptions extends DataPassOptions {
  /** Called at most every `progressIntervalMs`, and always once at the end. */
  readonly onProgress?: (progress: VerifyProgress) => void;
}

export interface VerifyResult {
  /** Bytes checked by reading (allocated on at least one side); the rest is zeros on both. */
  readonly bytesCompared: number;
  /** Logical size checked: the larger of the two volume sizes. */
  readonly bytesLogical: number;
  /** Bytes read, both sides added. */
  readonly bytesRead: number;
  readonly usedBlockPath: boolean;
  /** Whether both volumes were read with O_DIRECT (what is on disk, not what is in the page cache). */
  readonly usedDirectIo: boolean;
  readonly durationMs: number;
}

/** A stretch of the logical range and which sides report it allocated. */
interface Segment extends ByteRange {
  readonly inSrc: boolean;
  readonly inDst: boolean;
}

/**
 * Checks that `src` and `dst` read identical over `[0, max(size))` (a volume reads as zeros past
 * its own end, so a larger destination must hold zeros in its extra space). Ranges allocated on
 * both sides are compared byte for byte; a range allocated on one side only must read as zeros
 * there; ranges allocated on neither are equal without reading.
 *
 * @throws AppError `VERIFY_MISMATCH` naming the first differing offset (`details.offset`),
 * `CANCELLED`, `INVALID_INPUT` (options) or the drivers' I/O errors.
 */
export async function verifyVolumeData(src: VolumeHandle, dst: VolumeHandle, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const clock = opts.clock ?? systemClock;
  const startMs = clock.nowMs();
  const signal = opts.signal;
  const usesBlock = opts.useBlockPath !== false && src.blockPath !== null && dst.blockPath !== null;
  const direct = usesBlock && opts.directIo !== false;
  const bufferBytes = positiveInt(opts.bufferBytes ?? DEFAULT_COPY_BUFFER_BYTES, 'bufferBytes');
  const depth = bufferCount(opts.buffers);
  const limiter = resolveLimiter(opts);
  const progressEvery = opts.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  if (signal?.aborted) throw cancelledError(signal.reason);

  let bytesCompared = 0;
  let bytesTotal = 0;
  let bytesScanned = 0;
  let lastReportMs = Number.NEGATIVE_INFINITY;
  const report = (final: boolean): void => {
    if (!opts.onProgress) return;
    const now = clock.nowMs();
    if (!final && now - lastReportMs < progressEvery) return;
    lastReportMs = now;
    opts.onProgress({ bytesCompared, bytesTotal, bytesScanned });
  };

  let io: PairIo | undefined;
  let usedDirectIo = false;
  try {
    const [srcRanges, dstRanges] = await Promise.all([src.allocatedRanges(), dst.allocatedRanges()]);
    const segments = classifySegments(normalizeRanges(srcRanges, src.sizeBytes), normalizeRanges(dstRanges, dst.sizeBytes));
    bytesTotal = segments.reduce((s, r) => s + r.length, 0);
    report(false);
    io = usesBlock ? await openBlockPair(src, dst, { writable: false, direct }) : handlePair(src, dst);
    const pair = io;
    const zero = Buffer.alloc(Math.min(bufferBytes, 1024 * 1024));
    const as = chunkBuffers(depth, bufferBytes, direct);
    const bs = chunkBuffers(depth, bufferBytes, direct);
    const slots = as.map((a, i) => ({ a, b: bs[i] as Buffer }));
    await runOrderedPipeline({
      items: chunkRanges(segments, bufferBytes),
      slots,
      ...(signal ? { signal } : {}),
      produce: async (seg, slot) => {
        const n = seg.length * ((seg.inSrc ? 1 : 0) + (seg.inDst ? 1 : 0));
        if (limiter) await limiter.acquire(n, signal);
        await Promise.all([
          seg.inSrc ? readFully(pair.readA, chunkView(seg, slot.a, direct), seg.offset, seg.length) : undefined,
          seg.inDst ? readFully(pair.readB, chunkView(seg, slot.b, direct), seg.offset, seg.length) : undefined,
        ]);
        bytesScanned += n;
      },
      consume: (seg, slot) => {
        checkSegment(seg, chunkView(seg, slot.a, direct), chunkView(seg, slot.b, direct), zero);
        bytesCompared += seg.length;
        report(false);
      },
    });
  } catch (e) {
    throw toAppError(e, 'IO_ERROR');
  } finally {
    if (io) {
      usedDirectIo = direct && io.directReads();
      await io.close();
    }
  }
  try {
    report(true);
  } catch (e) {
    throw toAppError(e, 'IO_ERROR');
  }
  return {
    bytesCompared,
    bytesLogical: Math.max(src.sizeBytes, dst.sizeBytes),
    bytesRead: bytesScanned,
    usedBlockPath: usesBlock,
    usedDirectIo,
    durationMs: clock.nowMs() - startMs,
  };
}

/** Throws VERIFY_MISMATCH at the first difference of one chunk. */
function checkSegment(seg: Segment, a: Buffer, b: Buffer, zero: Buffer): void {
  const len = seg.length;
  if (seg.inSrc && seg.inDst) {
    if (a.subarray(0, len).equals(b.subarray(0, len))) return;
    const i = firstDifference(a, b, len);
    throw mismatch(seg.offset + i, a[i] ?? 0, b[i] ?? 0, 'data differs');
  }
  const side = seg.inSrc ? a : b;
  if (isZero(side, 0, len, zero)) return;
  const i = firstNonZero(side, len);
  const what = seg.inSrc
    ? 'source has non-zero data where the destination is unallocated'
    : 'destination has non-zero data where the source is unallocated';
  throw mismatch(seg.offset + i, seg.inSrc ? (side[i] ?? 0) : 0, seg.inSrc ? 0 : (side[i] ?? 0), what);
}

function mismatch(offset: number, srcByte: number, dstByte: number, what: string): AppError {
  const hex = (x: number): string => `0x${x.toString(16).padStart(2, '0')}`;
  return new AppError(
    'VERIFY_MISMATCH',
    `volumes differ at byte offset ${offset}: ${what} (source ${hex(srcByte)}, destination ${hex(dstByte)})`,
    { details: { offset, srcByte, dstByte } },
  );
}

function firstDifference(a: Buffer, b: Buffer, len: number): number {
  const step = 4096;
  for (let pos = 0; pos < len; pos += step) {
    const end = Math.min(len, pos + step);
    if (a.subarray(pos, end).equals(b.subarray(pos, end))) continue;
    for (let i = pos; i < end; i++) if (a[i] !== b[i]) return i;
  }
  return len;
}

function firstNonZero(buf: Buffer, len: number): number {
  for (let i = 0; i < len; i++) if (buf[i] !== 0) return i;
  return len;
}

/**
 * @internal Cuts the union of two normalized range lists into segments that are allocated on one side, the
 * other, or both (stretches allocated on neither are left out).
 */
export function classifySegments(a: readonly ByteRange[], b: readonly ByteRange[]): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  let j = 0;
  let pos = 0;
  while (i < a.length || j < b.length) {
    const ra = a[i];
    const rb = b[j];
    const aStart = ra ? Math.max(ra.offset, pos) : Infinity;
    const bStart = rb ? Math.max(rb.offset, pos) : Infinity;
    pos = Math.min(aStart, bStart);
    const inSrc = ra !== undefined && ra.offset <= pos;
    const inDst = rb !== undefined && rb.offset <= pos;
    let end = Infinity;
    if (ra) end = Math.min(end, inSrc ? ra.offset + ra.length : ra.offset);
    if (rb) end = Math.min(end, inDst ? rb.offset + rb.length : rb.offset);
    const last = out[out.length - 1];
    if (last && last.inSrc === inSrc && last.inDst === inDst && last.offset + last.length === pos) {
      out[out.length - 1] = { offset: last.offset, length: end - last.offset, inSrc, inDst };
    } else {
      out.push({ offset: pos, length: end - pos, inSrc, inDst });
    }
    pos = end;
    if (ra && ra.offset + ra.length <= pos) i++;
    if (rb && rb.offset + rb.length <= pos) j++;
  }
  return out;
}
