/**
 * Small helpers of the benchmarks: seeded data, page-cache dropping, RSS sampling, timing,
 * statistics. Benchmarks may print; library code may not.
 */
import { execFile } from 'node:child_process';
import { createCipheriv, createHash, type Cipher } from 'node:crypto';
import { statfs, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

export const execFileP = promisify(execFile);
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/**
 * A deterministic byte stream (AES-256-CTR keystream of a seed): fast (AES-NI) and the same for a
 * given seed on every machine, so the bench always writes the same data.
 */
export class SeededBytes {
  private readonly cipher: Cipher;
  private zeros = Buffer.alloc(0);

  constructor(seed: string) {
    const key = createHash('sha256').update(`ballast-bench:${seed}`).digest();
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }

  /** The next `n` bytes of the stream. */
  next(n: number): Buffer {
    if (this.zeros.length < n) this.zeros = Buffer.alloc(n);
    return this.cipher.update(this.zeros.subarray(0, n));
  }

  /** A deterministic integer in `[0, max)` (from the same stream). */
  int(max: number): number {
    const b = this.next(6);
    return b.readUIntBE(0, 6) % max;
  }
}

/** Tries `sync; echo 3 > /proc/sys/vm/drop_caches`; false when not permitted. */
export async function dropCaches(): Promise<boolean> {
  try {
    await execFileP('sync');
    await writeFile('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

/** Free bytes of the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** Samples the process RSS every `everyMs` while `fn` runs; returns fn's value and the peak. */
export async function withRssSampling<T>(fn: () => Promise<T>, everyMs = 5): Promise<{ value: T; peakRss: number; baseRss: number }> {
  const baseRss = process.memoryUsage.rss();
  let peakRss = baseRss;
  const timer = setInterval(() => {
    const r = process.memoryUsage.rss();
    if (r > peakRss) peakRss = r;
  }, everyMs);
  try {
    const value = await fn();
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    return { value, peakRss, baseRss };
  } finally {
    clearInterval(timer);
  }
}

/** Wall time of `fn`, ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** MiB/s of `bytes` moved in `ms`. */
export function mibps(bytes: number, ms: number): number {
  return bytes / MiB / (ms / 1000);
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
