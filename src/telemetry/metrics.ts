/**
 * Ballast's metrics: one registry naming each metric, the entity it describes (a pool or a
 * volume), its unit, and where it lives in InfluxDB (measurement and field). Stores and collectors
 * refer to metrics only by these names.
 *
 * @module
 */

/** What a series describes: a pool (`host@backend#pool`) or a volume (by id). */
export type Entity = 'pool' | 'volume';

/** A metric's definition. */
export interface MetricDef {
  /** Entities that carry this metric. */
  readonly entities: readonly Entity[];
  readonly unit: string;
  /** InfluxDB field name (the measurement is `ballast_<entity>`). */
  readonly field: string;
  readonly description: string;
}

const POOL: readonly Entity[] = ['pool'];
const BOTH: readonly Entity[] = ['pool', 'volume'];

/** Every metric Ballast records, by name. */
export const METRICS = {
  'capacity.total_gib': { entities: POOL, unit: 'GiB', field: 'total_gib', description: 'total_capacity_gb (numeric values only)' },
  'capacity.free_gib': { entities: POOL, unit: 'GiB', field: 'free_gib', description: 'free_capacity_gb (numeric values only)' },
  'capacity.allocated_gib': { entities: POOL, unit: 'GiB', field: 'allocated_gib', description: 'allocated_capacity_gb: sum of the sizes of the volumes on the pool' },
  'capacity.provisioned_gib': { entities: POOL, unit: 'GiB', field: 'provisioned_gib', description: 'provisioned_capacity_gb' },
  'capacity.reserved_pct': { entities: POOL, unit: '%', field: 'reserved_pct', description: 'reserved_percentage' },
  'capacity.max_over_subscription_ratio': { entities: POOL, unit: 'ratio', field: 'max_over_subscription_ratio', description: "max_over_subscription_ratio (absent when 'auto')" },
  'capacity.used_share': { entities: POOL, unit: 'ratio', field: 'used_share', description: 'allocated over total less reserved (0..1+)' },
  'capacity.up': { entities: POOL, unit: 'bool', field: 'up', description: '1 when the pool is up, 0 when down' },
  'perf.read_iops': { entities: BOTH, unit: 'op/s', field: 'read_iops', description: 'read operations per second over the sample interval' },
  'perf.write_iops': { entities: BOTH, unit: 'op/s', field: 'write_iops', description: 'write operations per second over the sample interval' },
  'perf.iops': { entities: BOTH, unit: 'op/s', field: 'iops', description: 'read + write operations per second' },
  'perf.read_bytes_per_sec': { entities: BOTH, unit: 'B/s', field: 'read_bytes_per_sec', description: 'bytes read per second' },
  'perf.write_bytes_per_sec': { entities: BOTH, unit: 'B/s', field: 'write_bytes_per_sec', description: 'bytes written per second' },
  'perf.bytes_per_sec': { entities: BOTH, unit: 'B/s', field: 'bytes_per_sec', description: 'bytes read + written per second' },
  'perf.latency_p50_ms': { entities: BOTH, unit: 'ms', field: 'latency_p50_ms', description: 'median operation latency over the interval (histogram deltas)' },
  'perf.latency_p95_ms': { entities: BOTH, unit: 'ms', field: 'latency_p95_ms', description: '95th percentile operation latency over the interval (histogram deltas)' },
  'cost.price_per_gib_month': { entities: POOL, unit: 'currency/GiB-month', field: 'price_per_gib_month', description: 'price of a GiB-month on the pool (price catalogue)' },
  'cost.price_per_iops_month': { entities: POOL, unit: 'currency/IOPS-month', field: 'price_per_iops_month', description: 'price of one IOPS for a month (price catalogue, optional)' },
  'cost.monthly': { entities: POOL, unit: 'currency/month', field: 'monthly_cost', description: 'allocated GiB × price per GiB-month (the IOPS part, when priced, is left to reports)' },
} as const satisfies Record<string, MetricDef>;

/** A metric name, e.g. `perf.iops`. */
export type MetricName = keyof typeof METRICS;

/** All metric names, sorted. */
export const METRIC_NAMES: readonly MetricName[] = (Object.keys(METRICS) as MetricName[]).sort();

/** True when `name` is a known metric. */
export function isMetricName(name: string): name is MetricName {
  return Object.prototype.hasOwnProperty.call(METRICS, name);
}

/** The metric whose InfluxDB field is `field`, or undefined. */
export function metricByField(field: string): MetricName | undefined {
  return METRIC_NAMES.find((m) => METRICS[m].field === field);
}

/** InfluxDB measurement of an entity's raw samples. */
export function rawMeasurement(entity: Entity): string {
  return `ballast_${entity}`;
}

/** InfluxDB measurement of an entity's downsampled samples. */
export function downsampledMeasurement(entity: Entity): string {
  return `ballast_${entity}_downsampled`;
}

/** InfluxDB tag holding the series key: `pool` (host@backend#pool) or `volume` (volume id). */
export function keyTag(entity: Entity): string {
  return entity;
}
