/**
 * I/O accounting for volume handles: operation counts, bytes, total time and a cumulative latency
 * histogram, kept per pool and per volume object (`nameId`). Drivers own one `IoAccounting` each,
 * record every completed read / write / flush of their handles, and expose `snapshot()` as
 * `VolumeDriver.ioStats()`. Counters only grow (Prometheus counter semantics) until a volume is
 * forgotten (deleted).
 */
import { performance } from 'node:perf_hooks';
import { histogramQuantile } from '../model/index.js';
import type { IoCounters, IoStats } from './driver-port.js';

/** Upper bounds (ms) of the latency histogram buckets; the last one is `+Inf`. */
export const DEFAULT_LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, Number.POSITIVE_INFINITY,
]);

/** The kinds of handle operation that are accounted. */
export type IoOpKind = 'read' | 'write' | 'flush';

/** Mutable counters of one pool or volume; `bucketCounts` is per bucket (not cumulative). */
class MutableCounters {
  readOps = 0;
  writeOps = 0;
  flushOps = 0;
  readBytes = 0;
  writeBytes = 0;
  readLatencyTotalMs = 0;
  writeLatencyTotalMs = 0;
  readonly bucketCounts: number[];

  constructor(private readonly bounds: readonly number[]) {
    this.bucketCounts = bounds.map(() => 0);
  }

  add(op: IoOpKind, bytes: number, durationMs: number): void {
    switch (op) {
      case 'read':
        this.readOps++;
        this.readBytes += bytes;
        this.readLatencyTotalMs += durationMs;
        break;
      case 'write':
        this.writeOps++;
        this.writeBytes += bytes;
        this.writeLatencyTotalMs += durationMs;
        break;
      case 'flush':
        this.flushOps++;
        break;
    }
    const i = this.bounds.findIndex((le) => durationMs <= le);
    // The last bound is +Inf, so `i` is found unless a custom bound list lacks it.
    const slot = i === -1 ? this.bounds.length - 1 : i;
    this.bucketCounts[slot] = (this.bucketCounts[slot] ?? 0) + 1;
  }

  freeze(): IoCounters {
    let cumulative = 0;
    const latencyBucketsMs = this.bounds.map((le, i) => {
      cumulative += this.bucketCounts[i] ?? 0;
      return { le, count: cumulative };
    });
    return {
      readOps: this.readOps,
      writeOps: this.writeOps,
      flushOps: this.flushOps,
      readBytes: this.readBytes,
      writeBytes: this.writeBytes,
      readLatencyTotalMs: this.readLatencyTotalMs,
      writeLatencyTotalMs: this.writeLatencyTotalMs,
      latencyBucketsMs,
    };
  }
}

/**
 * IoAccounting records handle operations per pool and per volume name id. Only operations that
 * complete are recorded (a failed read moved no bytes; its error reaches the caller instead).
 */
export class IoAccounting {
  private readonly pools = new Map<string, MutableCounters>();
  private readonly volumes = new Map<string, MutableCounters>();
  private readonly bounds: readonly number[];

  /** @param bucketsMs ascending upper bounds in ms; `+Inf` is appended when missing. */
  constructor(bucketsMs: readonly number[] = DEFAULT_LATENCY_BUCKETS_MS) {
    const sorted = [...bucketsMs].sort((a, b) => a - b);
    if (sorted[sorted.length - 1] !== Number.POSITIVE_INFINITY) sorted.push(Number.POSITIVE_INFINITY);
    this.bounds = Object.freeze(sorted);
  }

  /** Records one completed operation of `bytes` bytes that took `durationMs`. */
  record(pool: string, nameId: string, op: IoOpKind, bytes: number, durationMs: number): void {
    this.countersOf(this.pools, pool).add(op, bytes, durationMs);
    this.countersOf(this.volumes, nameId).add(op, bytes, durationMs);
  }

  /**
   * Runs `fn`, timing it with `performance.now()`, and records it when it resolves; `bytesOf`
   * maps the result to the byte count (reads: bytes actually read).
   */
  async measure<T>(pool: string, nameId: string, op: IoOpKind, fn: () => Promise<T>, bytesOf: (result: T) => number): Promise<T> {
    const start = performance.now();
    const result = await fn();
    this.record(pool, nameId, op, bytesOf(result), performance.now() - start);
    return result;
  }

  /** Drops a volume's counters (after it is deleted); pool counters keep what it did. */
  forgetVolume(nameId: string): void {
    this.volumes.delete(nameId);
  }

  /** An immutable copy of every counter, as the port's `IoStats`. */
  snapshot(): IoStats {
    const freezeAll = (m: Map<string, MutableCounters>): Record<string, IoCounters> =>
      Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, c]) => [k, c.freeze()]));
    return { pools: freezeAll(this.pools), volumes: freezeAll(this.volumes) };
  }

  private countersOf(map: Map<string, MutableCounters>, key: string): MutableCounters {
    let c = map.get(key);
    if (!c) {
      c = new MutableCounters(this.bounds);
      map.set(key, c);
    }
    return c;
  }
}

/** Counters with nothing recorded, on the default buckets. */
export function emptyIoCounters(bucketsMs: readonly number[] = DEFAULT_LATENCY_BUCKETS_MS): IoCounters {
  return new MutableCounters(bucketsMs).freeze();
}

/** The `q`-quantile (0..1) of a cumulative latency histogram (see {@link histogramQuantile}). */
export function latencyQuantileMs(buckets: IoCounters['latencyBucketsMs'], q: number): number | null {
  return histogramQuantile(buckets, q);
}

/** p50 and p95 latency (ms) of a counter set; null where nothing was recorded. */
export function latencyPercentiles(counters: Pick<IoCounters, 'latencyBucketsMs'>): { p50: number | null; p95: number | null } {
  return {
    p50: latencyQuantileMs(counters.latencyBucketsMs, 0.5),
    p95: latencyQuantileMs(counters.latencyBucketsMs, 0.95),
  };
}
