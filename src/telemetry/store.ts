/**
 * The telemetry store port: what collectors write and what queries read, whatever holds the
 * samples (the embedded SQLite store, InfluxDB 1.x). Both implementations pass one contract suite
 * (`test/unit/telemetry-store-contract.ts`).
 *
 * Semantics every store keeps:
 * - A sample is one value of one metric of one entity (pool or volume) at one time (ms). Writing a
 *   sample at the same series and time again replaces it.
 * - Retention: {@link TelemetryStore.maintain} deletes samples older than `retentionMs`.
 * - Downsampling: it also replaces raw samples older than `downsampleAfterMs` with one coarse
 *   sample per series and bucket of `downsampleBucketMs` (bucket start time, mean value, max, and
 *   how many raw samples it stands for).
 * - Window statistics count a coarse sample as its raw samples for the mean (weighted) and use its
 *   max for the max; the p95 is the nearest-rank 95th percentile (InfluxDB's `percentile()`) of
 *   the sample values, a coarse sample counting once with its mean.
 *
 * @module
 */
import { METRICS, type Entity, type MetricName } from './metrics.js';

/** One sample. */
export interface Point {
  readonly entity: Entity;
  /** `host@backend#pool` for pools, the volume id for volumes. */
  readonly key: string;
  readonly metric: MetricName;
  readonly atMs: number;
  readonly value: number;
}

/** A window over one metric of one entity kind; `keys` restricts to some series. Bounds inclusive. */
export interface WindowQuery {
  readonly entity: Entity;
  readonly metric: MetricName;
  readonly fromMs: number;
  readonly toMs: number;
  readonly keys?: readonly string[];
}

/** Statistics of one series over a window. */
export interface WindowStats {
  readonly key: string;
  /** Raw samples the window holds (a coarse sample counts as the samples it stands for). */
  readonly count: number;
  readonly mean: number;
  readonly max: number;
  readonly p95: number;
}

/** One stored sample as read back: raw (`count` 1) or coarse (mean, max, count). */
export interface StoredSample {
  readonly atMs: number;
  readonly value: number;
  readonly max: number;
  readonly count: number;
}

/** Retention and downsampling of a store. */
export interface RetentionSettings {
  readonly retentionMs: number;
  readonly downsampleAfterMs: number;
  readonly downsampleBucketMs: number;
}

/** What one {@link TelemetryStore.maintain} pass did. */
export interface MaintenanceReport {
  /** Cut-off of retention: samples before it were deleted. */
  readonly retentionCutoffMs: number;
  /** Cut-off of downsampling: raw samples before it were replaced by coarse ones. */
  readonly downsampleCutoffMs: number;
  /** Coarse samples written. */
  readonly coarseWritten: number;
}

/** The store port. */
export interface TelemetryStore {
  /** `sqlite:/path/telemetry.db`, `influx:http://host:8086/db`: shown in inventories. */
  readonly name: string;
  readonly retention: RetentionSettings;
  /** Stores samples (a store may buffer them; see {@link flush}). */
  write(points: readonly Point[]): Promise<void>;
  /** Makes every buffered sample durable, or throws a typed error saying what was not stored. */
  flush(): Promise<void>;
  /** Statistics per series over the window, sorted by key; series without samples are absent. */
  windowStats(q: WindowQuery): Promise<WindowStats[]>;
  /** Samples per series over the window, each sorted by time; keys sorted. */
  series(q: WindowQuery): Promise<Map<string, StoredSample[]>>;
  /** The newest sample of each series of a metric (any age), keys sorted. */
  latest(entity: Entity, metric: MetricName, keys?: readonly string[]): Promise<Map<string, { atMs: number; value: number }>>;
  /** Applies retention and downsampling as of `nowMs`. */
  maintain(nowMs: number): Promise<MaintenanceReport>;
  close(): Promise<void>;
}

/**
 * Nearest-rank percentile as InfluxDB 1.x's `percentile(field, p)`: the value at index
 * `floor(n * p / 100 + 0.5) - 1` of the sorted values; null when that index is out of range.
 */
export function nearestRankPercentile(sortedValues: ArrayLike<number>, p: number): number | null {
  const i = Math.floor((sortedValues.length * p) / 100 + 0.5) - 1;
  if (i < 0 || i >= sortedValues.length) return null;
  return sortedValues[i]!;
}

/** Window statistics of one series from its stored samples (null when there are none). */
export function statsOf(key: string, samples: readonly StoredSample[]): WindowStats | null {
  if (samples.length === 0) return null;
  let count = 0;
  let sum = 0;
  let max = Number.NEGATIVE_INFINITY;
  const values = new Float64Array(samples.length);
  samples.forEach((s, i) => {
    count += s.count;
    sum += s.value * s.count;
    if (s.max > max) max = s.max;
    values[i] = s.value;
  });
  values.sort(); // typed arrays sort numerically
  return { key, count, mean: sum / count, max, p95: nearestRankPercentile(values, 95) ?? values[values.length - 1]! };
}

/** Bucket start of `atMs` for buckets of `bucketMs` aligned on the epoch. */
export function bucketStart(atMs: number, bucketMs: number): number {
  return Math.floor(atMs / bucketMs) * bucketMs;
}

/** The two cut-offs of a maintenance pass at `nowMs`. */
export function maintenanceCutoffs(r: RetentionSettings, nowMs: number): { retentionCutoffMs: number; downsampleCutoffMs: number } {
  return {
    retentionCutoffMs: nowMs - r.retentionMs,
    downsampleCutoffMs: bucketStart(nowMs - r.downsampleAfterMs, r.downsampleBucketMs),
  };
}

/** Checks a batch before it is stored: finite values, integer times, known entity per metric. */
export function invalidPoint(p: Point): string | null {
  if (!Number.isFinite(p.value)) return `${p.metric} of ${p.entity} ${p.key}: value ${p.value} is not a finite number`;
  if (!Number.isSafeInteger(p.atMs) || p.atMs < 0) return `${p.metric} of ${p.entity} ${p.key}: time ${p.atMs} is not a whole number of ms since the epoch`;
  if (p.key.length === 0) return `${p.metric}: empty ${p.entity} key`;
  const def = METRICS[p.metric] as { entities: readonly Entity[] } | undefined;
  if (!def) return `unknown metric '${String(p.metric)}'`;
  if (!def.entities.includes(p.entity)) return `${p.metric} is not a ${p.entity} metric`;
  return null;
}
