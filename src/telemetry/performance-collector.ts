/**
 * The performance collector: read/write IOPS, bytes per second and latency p50/p95 of every pool
 * and volume, from the control plane's cumulative I/O counters. Each run compares the reading with
 * the previous one (kept in memory):
 * - the first reading becomes the baseline and yields no rate; a series that appears later did its
 *   first I/O since the previous reading and counts from zero;
 * - a reading whose counters went backwards (the service restarted) becomes the series' new
 *   baseline and yields no rate (never a negative one);
 * - a reading from the future (later than this collector's clock allows) or not newer than the
 *   baseline is rejected: no samples, and the baseline stays.
 *
 * @module
 */
import type { IoCounterSample, IoCounterSet } from '../model/index.js';
import { AppError, isoTime } from '../shared/index.js';
import type { Collector, CollectContext, CollectOutput } from './collector.js';
import type { Entity } from './metrics.js';
import { ioRates, type IoRates } from './rates.js';
import type { Point } from './store.js';

/** Options of {@link performanceCollector}. */
export interface PerformanceCollectorOptions {
  /** How far ahead of the collector's clock a reading may be (clock skew), ms. Default 5000. */
  readonly maxFutureSkewMs?: number;
}

function ratePoints(entity: Entity, key: string, r: IoRates, atMs: number): Point[] {
  const values = {
    'perf.read_iops': r.readIops,
    'perf.write_iops': r.writeIops,
    'perf.iops': r.readIops + r.writeIops,
    'perf.read_bytes_per_sec': r.readBytesPerSec,
    'perf.write_bytes_per_sec': r.writeBytesPerSec,
    'perf.bytes_per_sec': r.readBytesPerSec + r.writeBytesPerSec,
    'perf.latency_p50_ms': r.latencyP50Ms,
    'perf.latency_p95_ms': r.latencyP95Ms,
  } as const;
  return (Object.entries(values) as [Point['metric'], number | null][])
    .filter((e): e is [Point['metric'], number] => e[1] !== null)
    .map(([metric, value]) => ({ entity, key, metric, atMs, value }));
}

function zeroLike(c: IoCounterSet): IoCounterSet {
  return { readOps: 0, writeOps: 0, readBytes: 0, writeBytes: 0, readLatencyTotalMs: 0, writeLatencyTotalMs: 0, latencyBucketsMs: c.latencyBucketsMs.map((b) => ({ le: b.le, count: 0 })) };
}

/** Collects pool and volume performance from cumulative counters (see the module comment). */
export function performanceCollector(opts: PerformanceCollectorOptions = {}): Collector {
  const skew = opts.maxFutureSkewMs ?? 5000;
  let baseline: IoCounterSample | null = null;
  return {
    name: 'performance',
    async collect({ reader, nowMs }: CollectContext): Promise<CollectOutput> {
      const sample = await reader.ioCounters();
      if (!sample) return { points: [], notes: [`${reader.kind} control plane ${reader.name} does not measure I/O`] };
      if (sample.atMs > nowMs + skew) {
        throw new AppError(
          'INVALID_INPUT',
          `rejected an I/O counter reading from the future: taken at ${isoTime(sample.atMs)}, ${sample.atMs - nowMs} ms ahead of this collector's clock (skew allowed ${skew} ms)`,
        );
      }
      const prev = baseline;
      if (prev && sample.atMs <= prev.atMs) {
        throw new AppError('INVALID_INPUT', `rejected an I/O counter reading taken at ${isoTime(sample.atMs)}, not after the previous one (${isoTime(prev.atMs)})`);
      }
      baseline = sample;
      if (!prev) return { points: [], notes: ['first reading: baseline taken, rates start with the next run'] };
      const seconds = (sample.atMs - prev.atMs) / 1000;
      const points: Point[] = [];
      const restarted: string[] = [];
      const each = (entity: Entity, now: Readonly<Record<string, IoCounterSet>>, before: Readonly<Record<string, IoCounterSet>>) => {
        for (const key of Object.keys(now).sort()) {
          // A series absent from the previous reading did its first I/O since: it counted from zero.
          const b = before[key] ?? zeroLike(now[key]!);
          const r = ioRates(b, now[key]!, seconds);
          if (r) points.push(...ratePoints(entity, key, r, sample.atMs));
          else restarted.push(`${entity} ${key}`);
        }
      };
      each('pool', sample.pools, prev.pools);
      each('volume', sample.volumes, prev.volumes);
      const shown = restarted.slice(0, 10).join(', ') + (restarted.length > 10 ? ` and ${restarted.length - 10} more` : '');
      const notes = restarted.length > 0 ? [`counters went backwards (restart) for ${shown}: new baseline, no rate this run`] : [];
      return { points, notes };
    },
  };
}
