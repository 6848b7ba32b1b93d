import { constants as fsConstants, existsSync } from 'node:fs';
import { mkdtemp, open as openFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChunkedDriver } from '../../drivers/chunked/index.js';
import { createRawDriver } from '../../drivers/raw/index.js';
import { alignedBuffers, copyVolumeData, normalizeRanges, openBlockPair, type CopyProgress } from '../../src/blockstore/copy-engine.js';
import type { BackendSpec, VolumeDriver, VolumeHandle } from '../../src/blockstore/driver-port.js';
import { RateLimiter, type SleepClock } from '../../src/blockstore/rate-limiter.js';
import { classifySegments, verifyVolumeData } from '../../src/blockstore/verify.js';
import { AppError } from '../../src/shared/index.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

// ---------------------------------------------------------------------------------------------
// Fixtures: real drivers on a temp dir.

let root = '';
const drivers: Record<'raw' | 'chunked', VolumeDriver> = {} as Record<'raw' | 'chunked', VolumeDriver>;
const open: VolumeHandle[] = [];
let seq = 0;

function backend(name: string, driver: string): BackendSpec {
  return {
    name,
    host: 'ballast',
    driver,
    volumeBackendName: name,
    options: {},
    pools: [
      {
        name: 'p1',
        sizeGiB: 100,
        provisioning: 'thin',
        maxOverSubscriptionRatio: 20,
        reservedPercentage: 0,
        availabilityZone: 'nova',
        capabilities: {},
        dataPath: path.join(root, name, 'p1'),
      },
    ],
  };
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'ballast-copy-'));
  drivers.raw = createRawDriver(backend('b-raw', 'raw'));
  drivers.chunked = createChunkedDriver(backend('b-chunked', 'chunked'));
  await drivers.raw.setup();
  await drivers.chunked.setup();
});

afterAll(async () => {
  await Promise.allSettled(open.map((h) => h.close()));
  await rm(root, { recursive: true, force: true });
});

/** A fresh (all-zero) open volume. */
async function volume(kind: 'raw' | 'chunked', sizeGiB: number): Promise<VolumeHandle> {
  const loc = { nameId: `v${++seq}`, pool: 'p1', sizeGiB };
  await drivers[kind].createVolume(loc);
  const h = await drivers[kind].openVolume(loc);
  open.push(h);
  return h;
}

/** Deterministic pseudo-random bytes (mulberry32). */
function randomBytes(n: number, seed: number): Buffer {
  const buf = Buffer.alloc(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    buf[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return buf;
}

interface Extent {
  readonly offset: number;
  readonly data: Buffer;
}

/**
 * Random data at unaligned offsets across 4 MiB chunk boundaries, a tiny write, a write ending at
 * the last byte, and an allocated-but-zero stretch; holes everywhere else.
 */
function layout(sizeBytes: number): Extent[] {
  return [
    { offset: 4 * MiB - 1000, data: randomBytes(3 * MiB + 777, 1) },
    { offset: 10 * MiB + 12345, data: randomBytes(9 * MiB + 3, 2) },
    { offset: 100 * MiB + 1, data: randomBytes(17, 3) },
    { offset: 200 * MiB, data: Buffer.alloc(2 * MiB) }, // zeros, written (allocated on raw)
    { offset: 300 * MiB + 4095, data: randomBytes(64 * 1024 + 2, 4) },
    { offset: sizeBytes - 5000, data: randomBytes(5000, 5) },
  ];
}

async function writeExtents(h: VolumeHandle, extents: readonly Extent[]): Promise<void> {
  for (const e of extents) await h.write(e.data, e.offset, e.data.length);
  await h.flush();
}

/** Independent check: the whole logical range of both handles, read and compared in 16 MiB pieces. */
async function fullCompare(a: VolumeHandle, b: VolumeHandle): Promise<number | null> {
  const size = Math.max(a.sizeBytes, b.sizeBytes);
  const ba = Buffer.alloc(16 * MiB);
  const bb = Buffer.alloc(16 * MiB);
  for (let off = 0; off < size; off += ba.length) {
    const n = Math.min(ba.length, size - off);
    ba.fill(0);
    bb.fill(0);
    if (off < a.sizeBytes) await a.read(ba, off, Math.min(n, a.sizeBytes - off));
    if (off < b.sizeBytes) await b.read(bb, off, Math.min(n, b.sizeBytes - off));
    if (!ba.subarray(0, n).equals(bb.subarray(0, n))) {
      for (let i = 0; i < n; i++) if (ba[i] !== bb[i]) return off + i;
    }
  }
  return null;
}

/** Whether the file system of `file` accepts O_DIRECT (tmpfs does not). */
async function directIoAllowed(file: string): Promise<boolean> {
  try {
    const fh = await openFile(file, fsConstants.O_RDONLY | fsConstants.O_DIRECT);
    await fh.close();
    return true;
  } catch {
    return false;
  }
}

async function readAt(h: VolumeHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  expect(await h.read(buf, offset, length)).toBe(length);
  return buf;
}

async function expectAppError(p: Promise<unknown>, code: string): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe(code);
    return e as AppError;
  }
  throw new Error(`expected AppError ${code}, got success`);
}

/** Virtual time: a sleep moves the clock to its deadline at once (and resolves on the next tick). */
class AutoClock implements SleepClock {
  t = 0;
  readonly sleeps: number[] = [];
  nowMs(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new Error('aborted'));
    this.sleeps.push(ms);
    this.t += ms;
    return Promise.resolve();
  }
}

/** Virtual time advanced by hand; sleeps resolve when `advance` passes their deadline. */
class ManualClock implements SleepClock {
  t = 0;
  private timers: { at: number; resolve: () => void }[] = [];
  nowMs(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = { at: this.t + ms, resolve };
      this.timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(new Error('aborted'));
      });
    });
  }
  pending(): number {
    return this.timers.length;
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const x of due) x.resolve();
  }
}

const flushMicrotasks = (): Promise<void> => new Promise((r) => setImmediate(r));

// ---------------------------------------------------------------------------------------------

describe.each([
  ['raw', 'raw'],
  ['raw', 'chunked'],
  ['chunked', 'raw'],
  ['chunked', 'chunked'],
] as const)('copy %s → %s', (srcKind, dstKind) => {
  it('copies unaligned random data across chunk boundaries and a sparse layout; verify and a byte compare agree', async () => {
    const src = await volume(srcKind, 1);
    const dst = await volume(dstKind, 1);
    const extents = layout(src.sizeBytes);
    await writeExtents(src, extents);

    const result = await copyVolumeData(src, dst, { sparse: false });
    expect(result.bytesCopied).toBe(result.bytesTotal);
    expect(result.bytesWritten + result.bytesSkippedZero).toBe(result.bytesCopied);
    expect(result.bytesSkippedZero).toBe(0);
    expect(result.usedBlockPath).toBe(srcKind === 'raw' && dstKind === 'raw');
    if (result.usedBlockPath) expect(result.usedDirectIo).toBe(await directIoAllowed(dst.blockPath as string));
    // sparse-aware: only the allocated ranges (data + driver granularity), not the 1 GiB
    const data = extents.reduce((s, e) => s + e.data.length, 0);
    expect(result.bytesTotal).toBeGreaterThanOrEqual(data - 2 * MiB); // the zero extent may be a hole
    expect(result.bytesTotal).toBeLessThan(data + extents.length * 8 * MiB);

    const v = await verifyVolumeData(src, dst);
    expect(v.usedBlockPath).toBe(result.usedBlockPath);
    expect(v.bytesCompared).toBeGreaterThanOrEqual(result.bytesTotal);
    expect(v.bytesLogical).toBe(src.sizeBytes);
    expect(await fullCompare(src, dst)).toBeNull();
    for (const e of extents) expect((await readAt(dst, e.offset, e.data.length)).equals(e.data)).toBe(true);
  });

  it('sparse copy skips zero blocks and still reads back identical', async () => {
    const src = await volume(srcKind, 1);
    const dst = await volume(dstKind, 1);
    const extents = layout(src.sizeBytes);
    await writeExtents(src, extents);
    const result = await copyVolumeData(src, dst, { sparse: true, maxWriteBytes: 300_001 });
    expect(result.bytesCopied).toBe(result.bytesTotal);
    expect(result.bytesWritten + result.bytesSkippedZero).toBe(result.bytesTotal);
    const data = extents.reduce((s, e) => s + (e.data.some((b) => b !== 0) ? e.data.length : 0), 0);
    expect(result.bytesWritten).toBeGreaterThanOrEqual(data);
    expect(result.bytesWritten).toBeLessThan(data + extents.length * 128 * 1024);
    if (srcKind === 'raw') expect(result.bytesSkippedZero).toBeGreaterThanOrEqual(2 * MiB); // the written zeros
    await verifyVolumeData(src, dst);
    expect(await fullCompare(src, dst)).toBeNull();
  });

  it('copies a 20 GiB volume with a few MiB written in time and bytes proportional to the data', async () => {
    const src = await volume(srcKind, 20);
    const dst = await volume(dstKind, 20);
    const extents: Extent[] = [
      { offset: 3 * GiB + 123, data: randomBytes(MiB + 5, 11) },
      { offset: 11 * GiB - 7, data: randomBytes(2 * MiB, 12) },
      { offset: 20 * GiB - 65536, data: randomBytes(65536, 13) },
    ];
    await writeExtents(src, extents);
    const progress: CopyProgress[] = [];
    const result = await copyVolumeData(src, dst, { sparse: true, onProgress: (p) => progress.push(p), progressIntervalMs: 0 });
    expect(result.bytesTotal).toBeLessThan(32 * MiB); // not 20 GiB
    expect(result.bytesCopied).toBe(result.bytesTotal);
    expect(result.bytesWritten).toBeLessThanOrEqual(4 * MiB);
    expect(progress.at(-1)?.bytesCopied).toBe(result.bytesTotal);
    const v = await verifyVolumeData(src, dst);
    expect(v.bytesCompared).toBeLessThan(64 * MiB);
    for (const e of extents) expect((await readAt(dst, e.offset, e.data.length)).equals(e.data)).toBe(true);
  });

  it('verify finds a flipped byte inside allocated data, in a hole of one side, and in a source-only range', async () => {
    const src = await volume(srcKind, 1);
    const dst = await volume(dstKind, 1);
    const extents = layout(src.sizeBytes);
    await writeExtents(src, extents);
    await copyVolumeData(src, dst, { sparse: true });
    await verifyVolumeData(src, dst);

    // 1. inside data both sides hold
    const at = 10 * MiB + 12345 + 4 * MiB + 3;
    const orig = await readAt(dst, at, 1);
    await dst.write(Buffer.from([(orig[0] ?? 0) ^ 0x5a]), at, 1);
    const e1 = await expectAppError(verifyVolumeData(src, dst), 'VERIFY_MISMATCH');
    expect(e1.details['offset']).toBe(at);
    expect(e1.message).toContain(String(at));
    await dst.write(orig, at, 1);
    await verifyVolumeData(src, dst);

    // 2. in a hole of the source: the destination has a non-zero byte there
    const hole = 700 * MiB + 3;
    await dst.write(Buffer.from([1]), hole, 1);
    const e2 = await expectAppError(verifyVolumeData(src, dst), 'VERIFY_MISMATCH');
    expect(e2.details['offset']).toBe(hole);
    await dst.write(Buffer.from([0]), hole, 1);
    await verifyVolumeData(src, dst);

    // 3. in a hole of the destination: the source gained a byte after the copy
    const hole2 = 900 * MiB + 77;
    await src.write(Buffer.from([0xff]), hole2, 1);
    const e3 = await expectAppError(verifyVolumeData(src, dst), 'VERIFY_MISMATCH');
    expect(e3.details['offset']).toBe(hole2);
    expect(e3.details['srcByte']).toBe(0xff);
    expect(e3.details['dstByte']).toBe(0);
  });
});

describe('copy engine behaviour', () => {
  it('raw → raw: block paths with O_DIRECT (where allowed) by default, buffered or handles on request; same result', async () => {
    const src = await volume('raw', 1);
    await writeExtents(src, layout(src.sizeBytes));
    const direct = await directIoAllowed(src.blockPath as string);

    const dst = await volume('raw', 1);
    const r = await copyVolumeData(src, dst, { sparse: true, bufferBytes: MiB, buffers: 2 });
    expect(r.usedBlockPath).toBe(true);
    expect(r.usedDirectIo).toBe(direct);
    expect(r.bytesSkippedZero).toBeGreaterThanOrEqual(2 * MiB);
    const v = await verifyVolumeData(src, dst, { bufferBytes: 3 * MiB + 5 });
    expect(v.usedBlockPath).toBe(true);
    expect(v.usedDirectIo).toBe(direct);
    expect(await fullCompare(src, dst)).toBeNull();

    const dst2 = await volume('raw', 1);
    const r2 = await copyVolumeData(src, dst2, { useBlockPath: false, bufferBytes: 3 * MiB + 5 });
    expect(r2.usedBlockPath).toBe(false);
    expect(r2.usedDirectIo).toBe(false);
    expect((await verifyVolumeData(src, dst2, { useBlockPath: false })).usedBlockPath).toBe(false);
    expect(await fullCompare(src, dst2)).toBeNull();

    const dst3 = await volume('raw', 1);
    const r3 = await copyVolumeData(src, dst3, { directIo: false, maxWriteBytes: 100_000 });
    expect(r3.usedBlockPath).toBe(true);
    expect(r3.usedDirectIo).toBe(false);
    expect((await verifyVolumeData(src, dst3, { directIo: false })).usedDirectIo).toBe(false);
    expect(await fullCompare(src, dst3)).toBeNull();
  });

  // tmpfs refuses O_DIRECT before Linux 6.6 (then the buffered fallback runs) and accepts it since.
  it.runIf(existsSync('/dev/shm'))('uses O_DIRECT only where the file system allows it (destination on tmpfs)', async () => {
    const shm = await mkdtemp('/dev/shm/ballast-copy-');
    try {
      const spec = backend('b-shm', 'raw');
      const shmDriver = createRawDriver({ ...spec, pools: spec.pools.map((p) => ({ ...p, dataPath: shm })) });
      await shmDriver.setup();
      const loc = { nameId: 'shm1', pool: 'p1', sizeGiB: 1 };
      await shmDriver.createVolume(loc);
      const dst = await shmDriver.openVolume(loc);
      open.push(dst);
      const src = await volume('raw', 1);
      await writeExtents(src, layout(src.sizeBytes));
      const allowed = await directIoAllowed(dst.blockPath as string);
      const r = await copyVolumeData(src, dst, {});
      expect(r.usedBlockPath).toBe(true);
      expect(r.usedDirectIo).toBe(allowed);
      const v = await verifyVolumeData(src, dst);
      expect(v.usedDirectIo).toBe(allowed);
      expect(await fullCompare(src, dst)).toBeNull();
    } finally {
      await rm(shm, { recursive: true, force: true });
    }
  });

  it('block I/O falls back to buffered writes when O_DIRECT refuses the memory (EINVAL), data intact', async () => {
    const src = await volume('raw', 1);
    const dst = await volume('raw', 1);
    const allowed = await directIoAllowed(dst.blockPath as string);
    const [slot] = alignedBuffers(1, 2 * MiB);
    const misaligned = (slot as Buffer).subarray(1, 1 + MiB); // page-aligned file offset, odd address
    randomBytes(MiB, 51).copy(misaligned);
    const io = await openBlockPair(src, dst, { writable: true, direct: true });
    try {
      expect(io.directWrites()).toBe(allowed);
      await io.writeB(misaligned, 4 * MiB, MiB);
      expect(io.directWrites()).toBe(false);
    } finally {
      await io.close();
    }
    expect((await readAt(dst, 4 * MiB, MiB)).equals(misaligned)).toBe(true);
  });

  it('a destination smaller than the source is INVALID_INPUT; a larger one is fine', async () => {
    const src = await volume('raw', 2);
    const small = await volume('chunked', 1);
    await src.write(randomBytes(1000, 7), GiB + 5, 1000);
    await expectAppError(copyVolumeData(src, small, {}), 'INVALID_INPUT');

    const big = await volume('chunked', 3);
    await copyVolumeData(src, big, {});
    const v = await verifyVolumeData(src, big);
    expect(v.bytesLogical).toBe(3 * GiB);
    // data in the extra space of the larger destination is a mismatch (the source reads zeros there)
    await big.write(Buffer.from([9]), 2 * GiB + 10, 1);
    const e = await expectAppError(verifyVolumeData(src, big), 'VERIFY_MISMATCH');
    expect(e.details['offset']).toBe(2 * GiB + 10);
  });

  it('rejects bad options', async () => {
    const src = await volume('raw', 1);
    const dst = await volume('raw', 1);
    await expectAppError(copyVolumeData(src, dst, { bufferBytes: 0 }), 'INVALID_INPUT');
    await expectAppError(copyVolumeData(src, dst, { buffers: 1 }), 'INVALID_INPUT');
    await expectAppError(copyVolumeData(src, dst, { maxWriteBytes: 1.5 }), 'INVALID_INPUT');
    await expectAppError(
      copyVolumeData(src, dst, { bpsLimit: 10, rateLimiter: new RateLimiter({ bytesPerSecond: 10 }) }),
      'INVALID_INPUT',
    );
  });

  it('progress is monotonic, bytesTotal is known up front, and the last report is complete', async () => {
    const src = await volume('chunked', 1);
    const dst = await volume('raw', 1);
    await writeExtents(src, layout(src.sizeBytes));
    const seen: CopyProgress[] = [];
    const r = await copyVolumeData(src, dst, { bufferBytes: MiB, onProgress: (p) => seen.push(p), progressIntervalMs: 0 });
    expect(seen.length).toBeGreaterThan(10);
    for (const p of seen) {
      expect(p.bytesTotal).toBe(r.bytesTotal);
      expect(p.bytesScanned).toBeGreaterThanOrEqual(p.bytesCopied);
      expect(p.bytesCopied).toBeLessThanOrEqual(p.bytesTotal);
    }
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.bytesCopied).toBeGreaterThanOrEqual(seen[i - 1]!.bytesCopied);
      expect(seen[i]!.bytesScanned).toBeGreaterThanOrEqual(seen[i - 1]!.bytesScanned);
    }
    expect(seen.at(-1)).toEqual({ bytesCopied: r.bytesTotal, bytesTotal: r.bytesTotal, bytesScanned: r.bytesTotal });

    // throttled: with a clock that never moves, only the first and the final report
    const few: CopyProgress[] = [];
    const dst2 = await volume('raw', 1);
    await copyVolumeData(src, dst2, { bufferBytes: MiB, onProgress: (p) => few.push(p), progressIntervalMs: 1000, clock: { nowMs: () => 0 } });
    expect(few).toHaveLength(2);
    expect(few[0]!.bytesCopied).toBe(0);
    expect(few[1]!.bytesCopied).toBe(r.bytesTotal);
  });

  it('verify reports progress too', async () => {
    const src = await volume('raw', 1);
    const dst = await volume('chunked', 1);
    await writeExtents(src, layout(src.sizeBytes));
    await copyVolumeData(src, dst, {});
    const seen: { bytesCompared: number; bytesTotal: number }[] = [];
    const v = await verifyVolumeData(src, dst, { onProgress: (p) => seen.push(p), progressIntervalMs: 0 });
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.bytesCompared).toBeGreaterThanOrEqual(seen[i - 1]!.bytesCompared);
    expect(seen.at(-1)?.bytesCompared).toBe(v.bytesCompared);
    expect(seen.at(-1)?.bytesTotal).toBe(v.bytesCompared);
  });

  it.each(['raw', 'chunked'] as const)('cancel via AbortSignal mid-copy (%s destination) → CANCELLED, promptly', async (dstKind) => {
    const src = await volume('raw', 1);
    const dst = await volume(dstKind, 1);
    await src.write(randomBytes(32 * MiB, 21), 0, 32 * MiB);
    const ac = new AbortController();
    const seen: CopyProgress[] = [];
    const p = copyVolumeData(src, dst, {
      bufferBytes: MiB,
      signal: ac.signal,
      progressIntervalMs: 0,
      onProgress: (x) => {
        seen.push(x);
        if (x.bytesCopied >= 2 * MiB) ac.abort();
      },
    });
    await expectAppError(p, 'CANCELLED');
    const last = seen.at(-1);
    expect(last?.bytesCopied).toBeLessThan(8 * MiB); // stopped within the buffers in flight
    // an already aborted signal does nothing at all
    await expectAppError(copyVolumeData(src, dst, { signal: AbortSignal.abort() }), 'CANCELLED');
    await expectAppError(verifyVolumeData(src, dst, { signal: AbortSignal.abort() }), 'CANCELLED');
  });

  it('cancel while waiting on the rate limiter', async () => {
    const src = await volume('raw', 1);
    const dst = await volume('raw', 1);
    await src.write(randomBytes(8 * MiB, 22), 0, 8 * MiB);
    const clock = new ManualClock();
    const limiter = new RateLimiter({ bytesPerSecond: MiB, burstBytes: MiB, clock });
    const ac = new AbortController();
    const p = copyVolumeData(src, dst, { rateLimiter: limiter, bufferBytes: MiB, signal: ac.signal });
    while (clock.pending() === 0) await flushMicrotasks();
    ac.abort();
    await expectAppError(p, 'CANCELLED');
    // the cancelled reservation was given back
    expect(limiter.available()).toBe(0);
  });

  it('verify can be cancelled mid-way', async () => {
    const src = await volume('raw', 1);
    const dst = await volume('raw', 1);
    await src.write(randomBytes(16 * MiB, 23), 0, 16 * MiB);
    await copyVolumeData(src, dst, {});
    const ac = new AbortController();
    const p = verifyVolumeData(src, dst, {
      bufferBytes: MiB,
      signal: ac.signal,
      progressIntervalMs: 0,
      onProgress: (x) => {
        if (x.bytesCompared >= MiB) ac.abort();
      },
    });
    await expectAppError(p, 'CANCELLED');
  });
});

describe('rate limiter', () => {
  it('token bucket math on a manual clock', async () => {
    const clock = new ManualClock();
    const l = new RateLimiter({ bytesPerSecond: 1000, burstBytes: 1000, clock });
    expect(l.available()).toBe(1000); // starts full
    await l.acquire(400);
    await l.acquire(600); // burst used up, no wait
    expect(l.available()).toBe(0);
    let done = false;
    const p = l.acquire(500).then(() => (done = true));
    await flushMicrotasks();
    expect(done).toBe(false);
    expect(l.available()).toBe(-500);
    clock.advance(499);
    await flushMicrotasks();
    expect(done).toBe(false);
    clock.advance(1);
    await p;
    expect(done).toBe(true);
    expect(l.available()).toBe(0);
    // refill is capped at the burst
    clock.advance(10_000);
    expect(l.available()).toBe(1000);
    // a request larger than the burst waits (n - tokens) / rate
    const big = l.acquire(3000);
    clock.advance(1999);
    await flushMicrotasks();
    expect(clock.pending()).toBe(1);
    clock.advance(1);
    await big;
  });

  it('concurrent callers are served in call order and split the rate', async () => {
    const clock = new AutoClock();
    const l = new RateLimiter({ bytesPerSecond: 100, burstBytes: 0, clock });
    await Promise.all([l.acquire(100), l.acquire(100), l.acquire(300)]);
    expect(clock.sleeps).toEqual([1000, 1000, 3000]);
    expect(clock.t).toBe(5000);
  });

  it('an aborted wait gives its tokens back and rejects CANCELLED', async () => {
    const clock = new ManualClock();
    const l = new RateLimiter({ bytesPerSecond: 1000, burstBytes: 0, clock });
    const ac = new AbortController();
    const p = l.acquire(2000, ac.signal);
    expect(l.available()).toBe(-2000);
    ac.abort();
    await expectAppError(p, 'CANCELLED');
    expect(l.available()).toBe(0);
  });

  it('rejects a non-positive rate', () => {
    expect(() => new RateLimiter({ bytesPerSecond: 0 })).toThrow(AppError);
    expect(() => new RateLimiter({ bytesPerSecond: Number.NaN })).toThrow(AppError);
  });

  it('one limiter shared by two copies limits their sum (virtual time)', async () => {
    const srcA = await volume('raw', 1);
    const srcB = await volume('chunked', 1);
    const dstA = await volume('chunked', 1);
    const dstB = await volume('raw', 1);
    await srcA.write(randomBytes(12 * MiB, 31), 0, 12 * MiB);
    await srcB.write(randomBytes(12 * MiB, 32), 100 * MiB, 12 * MiB);
    const clock = new AutoClock();
    const rate = 4 * MiB; // bytes per virtual second
    const burst = MiB;
    const limiter = new RateLimiter({ bytesPerSecond: rate, burstBytes: burst, clock });
    const finished: number[] = [];
    const [ra, rb] = await Promise.all([
      copyVolumeData(srcA, dstA, { rateLimiter: limiter, bufferBytes: MiB }).then((r) => (finished.push(clock.t), r)),
      copyVolumeData(srcB, dstB, { rateLimiter: limiter, bufferBytes: MiB }).then((r) => (finished.push(clock.t), r)),
    ]);
    const total = ra.bytesTotal + rb.bytesTotal;
    expect(total).toBeGreaterThanOrEqual(24 * MiB);
    // the limit holds for the sum: total bytes ≤ burst + rate × elapsed
    expect(clock.t).toBeCloseTo(((total - burst) / rate) * 1000, 6);
    // and it was shared: the first to finish took longer than it would have alone
    const alone = ((Math.min(ra.bytesTotal, rb.bytesTotal) - burst) / rate) * 1000;
    expect(Math.min(...finished)).toBeGreaterThan(alone * 1.5);
    await verifyVolumeData(srcA, dstA);
    await verifyVolumeData(srcB, dstB);
  });

  it('bpsLimit makes a private limiter (wall clock, tiny volume: no timing asserted)', async () => {
    const src = await volume('raw', 1);
    const dst = await volume('raw', 1);
    await src.write(randomBytes(4096, 41), 0, 4096);
    const r = await copyVolumeData(src, dst, { bpsLimit: 1024 * MiB });
    expect(r.bytesCopied).toBe(4096);
  });
});

describe('range helpers', () => {
  it('normalizeRanges sorts, clips and merges', () => {
    expect(
      normalizeRanges(
        [
          { offset: 50, length: 100 },
          { offset: 0, length: 10 },
          { offset: 10, length: 5 },
          { offset: 120, length: 10 },
          { offset: 990, length: 100 },
        ],
        1000,
      ),
    ).toEqual([
      { offset: 0, length: 15 },
      { offset: 50, length: 100 },
      { offset: 990, length: 10 },
    ]);
  });

  it('classifySegments splits the union by side', () => {
    expect(
      classifySegments(
        [
          { offset: 0, length: 10 },
          { offset: 20, length: 10 },
        ],
        [{ offset: 5, length: 20 }],
      ),
    ).toEqual([
      { offset: 0, length: 5, inSrc: true, inDst: false },
      { offset: 5, length: 5, inSrc: true, inDst: true },
      { offset: 10, length: 10, inSrc: false, inDst: true },
      { offset: 20, length: 5, inSrc: true, inDst: true },
      { offset: 25, length: 5, inSrc: true, inDst: false },
    ]);
    expect(classifySegments([], [{ offset: 3, length: 4 }])).toEqual([{ offset: 3, length: 4, inSrc: false, inDst: true }]);
  });
});
