/**
 * Rates from cumulative I/O counters: operations and bytes per second between two readings, and
 * latency percentiles of the operations in between (from the difference of two cumulative
 * histograms). A reading whose counters went backwards means the counting process restarted: it
 * yields no rate and becomes the new baseline.
 *
 * @module
 */
import { histogramQuantile, type IoCounterSet } from '../model/index.js';

/** Rates of one pool or volume over one interval. */
export interface IoRates {
  readonly readIops: number;
  readonly writeIops: number;
  readonly readBytesPerSec: number;
  readonly writeBytesPerSec: number;
  /** null when no operation completed in the interval. */
  readonly latencyP50Ms: number | null;
  readonly latencyP95Ms: number | null;
}

type Buckets = IoCounterSet['latencyBucketsMs'];

/** True when any counter of `now` is below `before` (the counting process restarted). */
export function countersWentBack(before: IoCounterSet, now: IoCounterSet): boolean {
  if (now.readOps < before.readOps || now.writeOps < before.writeOps) return true;
  if (now.readBytes < before.readBytes || now.writeBytes < before.writeBytes) return true;
  const prev = new Map(before.latencyBucketsMs.map((b) => [b.le, b.count]));
  return now.latencyBucketsMs.some((b) => b.count < (prev.get(b.le) ?? 0));
}

/** Cumulative histogram of the operations between two readings. */
export function bucketDelta(before: Buckets, now: Buckets): Buckets {
  const prev = new Map(before.map((b) => [b.le, b.count]));
  return now.map((b) => ({ le: b.le, count: b.count - (prev.get(b.le) ?? 0) }));
}

export { histogramQuantile };

/** Rates between two readings `seconds` apart; null when the counters went back (restart). */
export function ioRates(before: IoCounterSet, now: IoCounterSet, seconds: number): IoRates | null {
  if (!(seconds > 0) || countersWentBack(before, now)) return null;
  const delta = bucketDelta(before.latencyBucketsMs, now.latencyBucketsMs);
  return {
    readIops: (now.readOps - before.readOps) / seconds,
    writeIops: (now.writeOps - before.writeOps) / seconds,
    readBytesPerSec: (now.readBytes - before.readBytes) / seconds,
    writeBytesPerSec: (now.writeBytes - before.writeBytes) / seconds,
    latencyP50Ms: histogramQuantile(delta, 0.5),
    latencyP95Ms: histogramQuantile(delta, 0.95),
  };
}
