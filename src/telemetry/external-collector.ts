/**
 * The external collector: performance data users already keep in InfluxDB (written by their own
 * agents), mapped onto Ballast's metrics. It reads the samples of one measurement since its last
 * run, takes the series key from a tag (pool name or volume id) and copies the mapped fields.
 *
 * @module
 */
import { AppError, isoTime, suggest } from '../shared/index.js';
import type { Collector, CollectContext, CollectOutput } from './collector.js';
import { InfluxConnection, ident, type InfluxEndpoint } from './influx-connection.js';
import { METRIC_NAMES, METRICS, isMetricName, type Entity, type MetricName } from './metrics.js';
import type { Point } from './store.js';

/** Where the external data is and how it maps onto Ballast's metrics. */
export interface ExternalMapping extends InfluxEndpoint {
  /** Retention policy to read from (default: the database's default). */
  readonly retentionPolicy?: string;
  readonly measurement: string;
  readonly entity: Entity;
  /** Tag whose value is the pool name (`host@backend#pool`) or the volume id. */
  readonly keyTag: string;
  /** Ballast metric (`perf.iops`, …) → field of the external measurement. */
  readonly fields: Readonly<Record<string, string>>;
  /** How far back the first run reads (ms). */
  readonly lookbackMs: number;
}

/** Collects mapped samples from an external InfluxDB measurement. */
export function externalCollector(m: ExternalMapping): Collector {
  const conn = new InfluxConnection(m);
  const mapped: [MetricName, string][] = [];
  for (const [metric, field] of Object.entries(m.fields).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!isMetricName(metric)) {
      const hint = suggest(metric, METRIC_NAMES);
      throw new AppError('CONFIG_INVALID', `telemetry.external.fields: unknown metric '${metric}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
    }
    if (!(METRICS[metric].entities as readonly Entity[]).includes(m.entity)) throw new AppError('CONFIG_INVALID', `telemetry.external.fields: ${metric} is not a ${m.entity} metric`);
    mapped.push([metric, field]);
  }
  let sinceMs: number | null = null;
  return {
    name: 'external',
    async collect({ nowMs }: CollectContext): Promise<CollectOutput> {
      const from = sinceMs ?? nowMs - m.lookbackMs;
      const source = `${m.retentionPolicy ? `${ident(m.database)}.${ident(m.retentionPolicy)}.` : ''}${ident(m.measurement)}`;
      const [series = []] = await conn.query(
        `SELECT ${mapped.map(([, f]) => ident(f)).join(', ')} FROM ${source} WHERE time > ${from}ms AND time <= ${nowMs}ms GROUP BY ${ident(m.keyTag)}`,
      );
      const points: Point[] = [];
      for (const s of series) {
        const key = s.tags[m.keyTag];
        if (!key) continue;
        for (const row of s.values) {
          const atMs = Number(row[0]);
          mapped.forEach(([metric], i) => {
            const v = row[i + 1];
            if (typeof v === 'number' && Number.isFinite(v)) points.push({ entity: m.entity, key, metric, atMs, value: v });
          });
        }
      }
      sinceMs = nowMs;
      return { points, notes: series.length === 0 ? [`no samples in ${m.measurement} since ${isoTime(from)}`] : [] };
    },
  };
}
