/**
 * The InfluxDB 1.x telemetry store (the only user of the `influx` package, with
 * `influx-connection.ts`). Layout, documented in docs/telemetry.md:
 * - database `database`, retention policy `retentionPolicy` (created with an infinite duration:
 *   retention is applied by {@link InfluxTelemetryStore.maintain}, so samples older than a server
 *   duration, backfills and simulations are accepted and retention is the same on both stores);
 * - measurements `ballast_pool` (tag `pool` = host@backend#pool) and `ballast_volume` (tag
 *   `volume` = volume id), one float field per metric (`free_gib`, `iops`, ...);
 * - coarse samples in `ballast_pool_downsampled` / `ballast_volume_downsampled`: field `<f>` the
 *   bucket mean, `<f>_max`, `<f>_count`.
 *
 * Writes are buffered and sent in batches; while the server is unreachable they stay buffered up to
 * `maxBufferedPoints`, beyond which a write is refused with `TELEMETRY_STORE_UNAVAILABLE`.
 *
 * @module
 */
import type { IPoint } from 'influx';
import { AppError } from '../shared/index.js';
import { InfluxConnection, ident, literal, type InfluxEndpoint, type InfluxSeries } from './influx-connection.js';
import { METRICS, downsampledMeasurement, keyTag, metricByField, rawMeasurement, type Entity, type MetricName } from './metrics.js';
import {
  invalidPoint,
  maintenanceCutoffs,
  statsOf,
  type MaintenanceReport,
  type Point,
  type RetentionSettings,
  type StoredSample,
  type TelemetryStore,
  type WindowQuery,
  type WindowStats,
} from './store.js';

/** Options of {@link InfluxTelemetryStore.open}. */
export interface InfluxStoreOptions extends InfluxEndpoint {
  readonly retentionPolicy: string;
  /** Points per HTTP write. */
  readonly batchSize: number;
  /** Samples kept while the server is unreachable; beyond, writes are refused. */
  readonly maxBufferedPoints: number;
  readonly retention: RetentionSettings;
}

const ENTITIES: readonly Entity[] = ['pool', 'volume'];
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The InfluxDB 1.x store (see the module comment). */
export class InfluxTelemetryStore implements TelemetryStore {
  readonly name: string;
  readonly retention: RetentionSettings;
  private readonly conn: InfluxConnection;
  private buffer: Point[] = [];
  private schemaReady = false;
  private flushing: Promise<void> = Promise.resolve();
  /** The last delivery failure, cleared by a successful flush. */
  lastError: AppError | null = null;

  private constructor(private readonly opts: InfluxStoreOptions) {
    this.conn = new InfluxConnection(opts);
    this.name = this.conn.label;
    this.retention = opts.retention;
  }

  /**
   * Opens the store; creates the database and retention policy when the server answers. An
   * unreachable server is not an error here: writes buffer until it is back.
   */
  static async open(opts: InfluxStoreOptions): Promise<InfluxTelemetryStore> {
    const s = new InfluxTelemetryStore(opts);
    try {
      await s.ensureSchema();
    } catch (e) {
      if (!(e instanceof AppError) || e.code !== 'TELEMETRY_STORE_UNAVAILABLE') throw e;
      s.lastError = e;
    }
    return s;
  }

  /** Samples waiting to be delivered. */
  get pending(): number {
    return this.buffer.length;
  }

  async write(points: readonly Point[]): Promise<void> {
    for (const p of points) {
      const bad = invalidPoint(p);
      if (bad) throw new AppError('TELEMETRY_WRITE_REJECTED', `refused a batch of ${points.length} samples: ${bad}`);
    }
    if (this.buffer.length + points.length > this.opts.maxBufferedPoints) {
      throw new AppError(
        'TELEMETRY_STORE_UNAVAILABLE',
        `InfluxDB at ${this.opts.url} has not taken samples for a while (${this.lastError?.message ?? 'unknown reason'}): ` +
          `${this.buffer.length} samples are buffered (bound ${this.opts.maxBufferedPoints}); these ${points.length} were not stored`,
        { details: { buffered: this.buffer.length, refused: points.length, bound: this.opts.maxBufferedPoints } },
      );
    }
    this.buffer.push(...points);
    try {
      await this.flush();
    } catch (e) {
      // Unreachable: the samples stay buffered (lastError says why); anything else is the caller's.
      if (!(e instanceof AppError) || e.code !== 'TELEMETRY_STORE_UNAVAILABLE') throw e;
    }
  }

  async flush(): Promise<void> {
    const run = this.flushing.then(() => this.deliver());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  async windowStats(q: WindowQuery): Promise<WindowStats[]> {
    const coarse = await this.coarse(q);
    if (coarse.size > 0) {
      const out: WindowStats[] = [];
      for (const [key, samples] of await this.series(q, coarse)) {
        const s = statsOf(key, samples);
        if (s) out.push(s);
      }
      return out;
    }
    const f = ident(METRICS[q.metric].field);
    const [series = []] = await this.select(
      `SELECT count(${f}), mean(${f}), max(${f}), percentile(${f}, 95) FROM ${this.from(rawMeasurement(q.entity))} WHERE ${this.where(q)} GROUP BY ${ident(keyTag(q.entity))}`,
    );
    return series
      .map((s): WindowStats | null => {
        const row = s.values[0] ?? [];
        const [count, mean, max, p95] = [num(row[1]), num(row[2]), num(row[3]), num(row[4])];
        if (count === null || count === 0 || mean === null || max === null) return null;
        return { key: s.tags[keyTag(q.entity)] ?? '', count, mean, max, p95: p95 ?? max };
      })
      .filter((s): s is WindowStats => s !== null)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async series(q: WindowQuery, coarseKnown?: Map<string, StoredSample[]>): Promise<Map<string, StoredSample[]>> {
    const coarse = coarseKnown ?? (await this.coarse(q));
    const f = ident(METRICS[q.metric].field);
    const [series = []] = await this.select(`SELECT ${f} FROM ${this.from(rawMeasurement(q.entity))} WHERE ${this.where(q)} GROUP BY ${ident(keyTag(q.entity))}`);
    const out = new Map<string, StoredSample[]>(coarse);
    for (const s of series) {
      const key = s.tags[keyTag(q.entity)] ?? '';
      const list = out.get(key) ?? [];
      for (const row of s.values) {
        const at = num(row[0]);
        const v = num(row[1]);
        if (at !== null && v !== null) list.push({ atMs: at, value: v, max: v, count: 1 });
      }
      out.set(key, list);
    }
    for (const list of out.values()) list.sort((a, b) => a.atMs - b.atMs);
    return new Map([...out].filter(([, l]) => l.length > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  async latest(entity: Entity, metric: MetricName, keys?: readonly string[]): Promise<Map<string, { atMs: number; value: number }>> {
    const f = ident(METRICS[metric].field);
    const filter = keys ? ` WHERE ${this.keyFilter(entity, keys)}` : '';
    const out = new Map<string, { atMs: number; value: number }>();
    for (const m of [downsampledMeasurement(entity), rawMeasurement(entity)]) {
      const [series = []] = await this.select(`SELECT last(${f}) FROM ${this.from(m)}${filter} GROUP BY ${ident(keyTag(entity))}`);
      for (const s of series) {
        const row = s.values[0] ?? [];
        const at = num(row[0]);
        const v = num(row[1]);
        const key = s.tags[keyTag(entity)] ?? '';
        if (at !== null && v !== null && (out.get(key)?.atMs ?? -1) < at) out.set(key, { atMs: at, value: v });
      }
    }
    return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  async maintain(nowMs: number): Promise<MaintenanceReport> {
    await this.flush();
    const { retentionCutoffMs, downsampleCutoffMs } = maintenanceCutoffs(this.retention, nowMs);
    const bucket = this.retention.downsampleBucketMs;
    let coarseWritten = 0;
    for (const entity of ENTITIES) {
      const tag = keyTag(entity);
      const raw = rawMeasurement(entity);
      const [series = []] = await this.select(
        `SELECT mean(*), max(*), count(*) FROM ${this.from(raw)} WHERE time >= ${retentionCutoffMs}ms AND time < ${downsampleCutoffMs}ms GROUP BY time(${bucket}ms), ${ident(tag)} fill(none)`,
      );
      const points: IPoint[] = [];
      for (const s of series) {
        for (const row of s.values) {
          const fields: Record<string, number> = {};
          s.columns.forEach((c, i) => {
            const v = num(row[i]);
            const m = /^(mean|max|count)_(.+)$/.exec(c);
            if (!m || v === null || !metricByField(m[2]!)) return;
            fields[m[1] === 'mean' ? m[2]! : `${m[2]!}_${m[1]!}`] = v;
          });
          if (Object.keys(fields).length > 0) points.push({ measurement: downsampledMeasurement(entity), tags: { [tag]: s.tags[tag] ?? '' }, fields, timestamp: Number(row[0]) });
        }
      }
      for (let i = 0; i < points.length; i += this.opts.batchSize) await this.conn.writePoints(points.slice(i, i + this.opts.batchSize), this.opts.retentionPolicy);
      coarseWritten += points.length;
      await this.conn.query(`DELETE FROM ${ident(raw)} WHERE time < ${downsampleCutoffMs}ms`, { method: 'POST' });
      await this.conn.query(`DELETE FROM ${ident(downsampledMeasurement(entity))} WHERE time < ${retentionCutoffMs}ms`, { method: 'POST' });
    }
    return { retentionCutoffMs, downsampleCutoffMs, coarseWritten };
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } catch (e) {
      if (!(e instanceof AppError) || e.code !== 'TELEMETRY_STORE_UNAVAILABLE') throw e;
      throw new AppError('TELEMETRY_STORE_UNAVAILABLE', `closing with ${this.buffer.length} samples not delivered: ${e.message}`, { cause: e });
    }
  }

  private async ensureSchema(): Promise<void> {
    if (this.schemaReady) return;
    const db = ident(this.opts.database);
    const rp = ident(this.opts.retentionPolicy);
    await this.conn.query(`CREATE DATABASE ${db}`, { method: 'POST' });
    const [rps = []] = await this.conn.query(`SHOW RETENTION POLICIES ON ${db}`);
    const exists = rps.some((s) => s.values.some((r) => r[0] === this.opts.retentionPolicy));
    await this.conn.query(`${exists ? 'ALTER' : 'CREATE'} RETENTION POLICY ${rp} ON ${db} DURATION INF REPLICATION 1`, { method: 'POST' });
    this.schemaReady = true;
  }

  private async deliver(): Promise<void> {
    try {
      await this.ensureSchema();
      while (this.buffer.length > 0) {
        const batch = this.buffer.slice(0, this.opts.batchSize);
        try {
          await this.conn.writePoints(toInfluxPoints(batch), this.opts.retentionPolicy);
        } catch (e) {
          // Refused by the server (4xx): sending it again would be refused again; drop it, say so.
          if (e instanceof AppError && e.code === 'TELEMETRY_WRITE_REJECTED') this.buffer.splice(0, batch.length);
          throw e;
        }
        this.buffer.splice(0, batch.length);
      }
      this.lastError = null;
    } catch (e) {
      if (e instanceof AppError && e.code === 'TELEMETRY_STORE_UNAVAILABLE') {
        this.lastError = e;
        throw new AppError('TELEMETRY_STORE_UNAVAILABLE', `${e.message}; ${this.buffer.length} samples stay buffered (bound ${this.opts.maxBufferedPoints})`, { cause: e });
      }
      throw e;
    }
  }

  private async select(q: string): Promise<InfluxSeries[][]> {
    await this.ensureSchema();
    return this.conn.query(q);
  }

  private from(measurement: string): string {
    return `${ident(this.opts.database)}.${ident(this.opts.retentionPolicy)}.${ident(measurement)}`;
  }

  private where(q: WindowQuery): string {
    return `time >= ${Math.floor(q.fromMs)}ms AND time <= ${Math.floor(q.toMs)}ms${q.keys ? ` AND ${this.keyFilter(q.entity, q.keys)}` : ''}`;
  }

  private keyFilter(entity: Entity, keys: readonly string[]): string {
    if (keys.length === 0) return 'false';
    return `(${keys.map((k) => `${ident(keyTag(entity))} = ${literal(k)}`).join(' OR ')})`;
  }

  /** Coarse samples in the window, by key (empty when nothing was downsampled there). */
  private async coarse(q: WindowQuery): Promise<Map<string, StoredSample[]>> {
    const f = METRICS[q.metric].field;
    const [series = []] = await this.select(
      `SELECT ${ident(f)}, ${ident(`${f}_max`)}, ${ident(`${f}_count`)} FROM ${this.from(downsampledMeasurement(q.entity))} WHERE ${this.where(q)} GROUP BY ${ident(keyTag(q.entity))}`,
    );
    const out = new Map<string, StoredSample[]>();
    for (const s of series) {
      const list: StoredSample[] = [];
      for (const row of s.values) {
        const [at, v, max, count] = [num(row[0]), num(row[1]), num(row[2]), num(row[3])];
        if (at !== null && v !== null) list.push({ atMs: at, value: v, max: max ?? v, count: count ?? 1 });
      }
      if (list.length > 0) out.set(s.tags[keyTag(q.entity)] ?? '', list);
    }
    return out;
  }
}

/** Samples as InfluxDB points: one point per entity, key and time, one field per metric. */
export function toInfluxPoints(points: readonly Point[]): IPoint[] {
  const byLine = new Map<string, IPoint & { fields: Record<string, number> }>();
  for (const p of points) {
    const id = `${p.entity}\u0000${p.key}\u0000${p.atMs}`;
    let line = byLine.get(id);
    if (!line) {
      line = { measurement: rawMeasurement(p.entity), tags: { [keyTag(p.entity)]: p.key }, fields: {}, timestamp: p.atMs };
      byLine.set(id, line);
    }
    line.fields[METRICS[p.metric].field] = p.value;
  }
  return [...byLine.values()];
}
