/**
 * The embedded telemetry store: one SQLite file (WAL) under the data directory. Samples are rows
 * `(series, at_ms, value, max, count, coarse)`; raw samples have `count` 1 and `coarse` 0, coarse
 * (downsampled) samples hold a bucket's mean, max and sample count.
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../shared/index.js';
import type { Entity, MetricName } from './metrics.js';
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY,
  entity TEXT NOT NULL,
  metric TEXT NOT NULL,
  key TEXT NOT NULL,
  UNIQUE (entity, metric, key)
);
CREATE TABLE IF NOT EXISTS samples (
  series_id INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  value REAL NOT NULL,
  max REAL NOT NULL,
  count INTEGER NOT NULL,
  coarse INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (series_id, at_ms)
) WITHOUT ROWID;
`;

type Row = [key: string, atMs: number, value: number, max: number, count: number];

/** Options of {@link SqliteTelemetryStore.open}. */
export interface SqliteStoreOptions {
  /** The database file (created with its directory when missing). */
  readonly path: string;
  readonly retention: RetentionSettings;
}

/** The embedded SQLite store (see the module comment). */
export class SqliteTelemetryStore implements TelemetryStore {
  readonly name: string;
  readonly retention: RetentionSettings;
  /** Series ids by `entity/metric`, then key. */
  private readonly seriesIds = new Map<string, Map<string, number>>();
  private readonly insert: Database.Statement;
  private readonly addSeries: Database.Statement;
  private readonly findSeries: Database.Statement;

  private constructor(
    private readonly db: Database.Database,
    opts: SqliteStoreOptions,
  ) {
    this.name = `sqlite:${opts.path}`;
    this.retention = opts.retention;
    this.insert = db.prepare('INSERT OR REPLACE INTO samples (series_id, at_ms, value, max, count, coarse) VALUES (?, ?, ?, ?, 1, 0)');
    this.addSeries = db.prepare('INSERT OR IGNORE INTO series (entity, metric, key) VALUES (?, ?, ?)');
    this.findSeries = db.prepare('SELECT id FROM series WHERE entity = ? AND metric = ? AND key = ?');
  }

  /** Opens (or creates) the store's database file. */
  static open(opts: SqliteStoreOptions): SqliteTelemetryStore {
    try {
      mkdirSync(dirname(opts.path), { recursive: true });
      const db = new Database(opts.path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      // Each collection touches one page per series: keep them in memory (64 MiB).
      db.pragma('cache_size = -65536');
      db.exec(SCHEMA);
      return new SqliteTelemetryStore(db, opts);
    } catch (e) {
      throw new AppError('STATE_LOCKED', `cannot open the telemetry database ${opts.path}: ${(e as Error).message}`, { cause: e });
    }
  }

  async write(points: readonly Point[]): Promise<void> {
    // One transaction: a bad sample anywhere rolls the whole batch back.
    this.db.transaction(() => {
      for (const p of points) {
        const bad = invalidPoint(p);
        if (bad) throw new AppError('TELEMETRY_WRITE_REJECTED', `refused a batch of ${points.length} samples: ${bad}`);
        this.insert.run(this.seriesId(p.entity, p.metric, p.key), p.atMs, p.value, p.value);
      }
    })();
  }

  async flush(): Promise<void> {
    // Every write is committed when it returns.
  }

  async windowStats(q: WindowQuery): Promise<WindowStats[]> {
    const out: WindowStats[] = [];
    for (const [key, samples] of await this.series(q)) {
      const s = statsOf(key, samples);
      if (s) out.push(s);
    }
    return out;
  }

  async series(q: WindowQuery): Promise<Map<string, StoredSample[]>> {
    const keyFilter = q.keys ? ` AND s.key IN (SELECT value FROM json_each(?))` : '';
    const stmt = this.db
      .prepare(
        `SELECT s.key, x.at_ms, x.value, x.max, x.count FROM samples x JOIN series s ON s.id = x.series_id
         WHERE s.entity = ? AND s.metric = ? AND x.at_ms >= ? AND x.at_ms <= ?${keyFilter} ORDER BY s.key, x.at_ms`,
      )
      .raw(true);
    const args: unknown[] = [q.entity, q.metric, q.fromMs, q.toMs];
    if (q.keys) args.push(JSON.stringify(q.keys));
    const out = new Map<string, StoredSample[]>();
    let currentKey: string | null = null;
    let current: StoredSample[] = [];
    for (const row of stmt.iterate(...args) as IterableIterator<Row>) {
      const [key, atMs, value, max, count] = row;
      if (key !== currentKey) {
        current = [];
        out.set(key, current);
        currentKey = key;
      }
      current.push({ atMs, value, max, count });
    }
    return sortedMap(out);
  }

  async latest(entity: Entity, metric: MetricName, keys?: readonly string[]): Promise<Map<string, { atMs: number; value: number }>> {
    const keyFilter = keys ? ` AND s.key IN (SELECT value FROM json_each(?))` : '';
    const rows = this.db
      .prepare(
        `SELECT s.key, x.at_ms, x.value FROM series s JOIN samples x ON x.series_id = s.id
         AND x.at_ms = (SELECT MAX(at_ms) FROM samples WHERE series_id = s.id)
         WHERE s.entity = ? AND s.metric = ?${keyFilter} ORDER BY s.key`,
      )
      .raw(true)
      .all(...[entity, metric, ...(keys ? [JSON.stringify(keys)] : [])]) as [string, number, number][];
    return new Map(rows.map(([k, atMs, value]) => [k, { atMs, value }]));
  }

  async maintain(nowMs: number): Promise<MaintenanceReport> {
    const { retentionCutoffMs, downsampleCutoffMs } = maintenanceCutoffs(this.retention, nowMs);
    const bucket = this.retention.downsampleBucketMs;
    let coarseWritten = 0;
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM samples WHERE at_ms < ?').run(retentionCutoffMs);
      const groups = this.db
        .prepare(
          `SELECT series_id, (at_ms / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS b, SUM(value * count) / SUM(count), MAX(max), SUM(count)
           FROM samples WHERE coarse = 0 AND at_ms < ? GROUP BY series_id, b`,
        )
        .raw(true)
        .all(bucket, bucket, downsampleCutoffMs) as [number, number, number, number, number][];
      this.db.prepare('DELETE FROM samples WHERE coarse = 0 AND at_ms < ?').run(downsampleCutoffMs);
      // A bucket downsampled before (late samples arrived since) merges with its coarse sample.
      const upsert = this.db.prepare(
        `INSERT INTO samples (series_id, at_ms, value, max, count, coarse) VALUES (?, ?, ?, ?, ?, 1)
         ON CONFLICT (series_id, at_ms) DO UPDATE SET
           value = (value * count + excluded.value * excluded.count) / (count + excluded.count),
           max = MAX(max, excluded.max), count = count + excluded.count, coarse = 1`,
      );
      for (const [sid, b, mean, max, count] of groups) upsert.run(sid, b, mean, max, count);
      coarseWritten = groups.length;
    })();
    return { retentionCutoffMs, downsampleCutoffMs, coarseWritten };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private seriesId(entity: Entity, metric: MetricName, key: string): number {
    const group = `${entity}/${metric}`;
    let ids = this.seriesIds.get(group);
    if (!ids) {
      ids = new Map();
      this.seriesIds.set(group, ids);
    }
    let id = ids.get(key);
    if (id === undefined) {
      this.addSeries.run(entity, metric, key);
      id = (this.findSeries.get(entity, metric, key) as { id: number }).id;
      ids.set(key, id);
    }
    return id;
  }
}

function sortedMap<V>(m: Map<string, V>): Map<string, V> {
  return new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
