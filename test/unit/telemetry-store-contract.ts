/**
 * The contract every telemetry store passes (the SQLite one in test/unit, the InfluxDB one against
 * a real influxd in test/integration): writes, windowed statistics, series, latest samples,
 * retention and downsampling, refused input.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Point, RetentionSettings, TelemetryStore } from '../../src/telemetry/index.js';
import { AppError } from '../../src/shared/index.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** 2026-01-01T00:00:00Z: a whole day, so 6-hour buckets align on it. */
export const T0 = Date.UTC(2026, 0, 1);

export const CONTRACT_RETENTION: RetentionSettings = { retentionMs: 7 * DAY, downsampleAfterMs: 2 * DAY, downsampleBucketMs: 6 * HOUR };

const pool = (key: string, metric: Point['metric'], atMs: number, value: number): Point => ({ entity: 'pool', key, metric, atMs, value });
const vol = (key: string, metric: Point['metric'], atMs: number, value: number): Point => ({ entity: 'volume', key, metric, atMs, value });

/** Runs the store contract; `open` gets a fresh, empty store each time. */
export function storeContract(name: string, open: (retention: RetentionSettings) => Promise<TelemetryStore>): void {
  describe(`telemetry store contract: ${name}`, () => {
    let store: TelemetryStore;
    beforeAll(async () => {
      store = await open(CONTRACT_RETENTION);
      const points: Point[] = [];
      // Pool A: iops 1..20 at one sample a minute; pool B: 100 at each of the same minutes.
      for (let i = 0; i < 20; i++) {
        points.push(pool('h@b#a', 'perf.iops', T0 + i * 60_000, i + 1));
        points.push(pool('h@b#b', 'perf.iops', T0 + i * 60_000, 100));
      }
      // The same key as a volume, and another metric of pool A: neither may leak into pool iops.
      points.push(vol('h@b#a', 'perf.iops', T0, 1e6));
      points.push(pool('h@b#a', 'capacity.free_gib', T0, 5e5));
      await store.write(points);
      await store.flush();
    });
    afterAll(async () => {
      await store.close();
    });

    test('windowed mean, max and nearest-rank p95 per series, sorted by key', async () => {
      const stats = await store.windowStats({ entity: 'pool', metric: 'perf.iops', fromMs: T0, toMs: T0 + 19 * 60_000 });
      expect(stats).toEqual([
        { key: 'h@b#a', count: 20, mean: 10.5, max: 20, p95: 19 },
        { key: 'h@b#b', count: 20, mean: 100, max: 100, p95: 100 },
      ]);
    });

    test('window bounds are inclusive and keys filter', async () => {
      const stats = await store.windowStats({ entity: 'pool', metric: 'perf.iops', fromMs: T0 + 60_000, toMs: T0 + 3 * 60_000, keys: ['h@b#a'] });
      expect(stats).toEqual([{ key: 'h@b#a', count: 3, mean: 3, max: 4, p95: 4 }]);
      expect(await store.windowStats({ entity: 'pool', metric: 'perf.iops', fromMs: T0 - DAY, toMs: T0 - 1 })).toEqual([]);
    });

    test('entities and metrics are separate series', async () => {
      const v = await store.windowStats({ entity: 'volume', metric: 'perf.iops', fromMs: T0, toMs: T0 + DAY });
      expect(v).toEqual([{ key: 'h@b#a', count: 1, mean: 1e6, max: 1e6, p95: 1e6 }]);
      const free = await store.latest('pool', 'capacity.free_gib');
      expect([...free]).toEqual([['h@b#a', { atMs: T0, value: 5e5 }]]);
    });

    test('series are sorted by time; latest is the newest sample of each series', async () => {
      const s = await store.series({ entity: 'pool', metric: 'perf.iops', fromMs: T0, toMs: T0 + 2 * 60_000, keys: ['h@b#b', 'h@b#a'] });
      expect([...s.keys()]).toEqual(['h@b#a', 'h@b#b']);
      expect(s.get('h@b#a')).toEqual([1, 2, 3].map((v, i) => ({ atMs: T0 + i * 60_000, value: v, max: v, count: 1 })));
      const latest = await store.latest('pool', 'perf.iops');
      expect([...latest]).toEqual([
        ['h@b#a', { atMs: T0 + 19 * 60_000, value: 20 }],
        ['h@b#b', { atMs: T0 + 19 * 60_000, value: 100 }],
      ]);
    });

    test('writing a sample at the same series and time replaces it', async () => {
      await store.write([pool('h@b#c', 'perf.iops', T0, 1)]);
      await store.write([pool('h@b#c', 'perf.iops', T0, 7)]);
      await store.flush();
      expect(await store.windowStats({ entity: 'pool', metric: 'perf.iops', fromMs: T0, toMs: T0, keys: ['h@b#c'] })).toEqual([{ key: 'h@b#c', count: 1, mean: 7, max: 7, p95: 7 }]);
    });

    test('a batch with a bad value is refused whole, with a typed error', async () => {
      const bad = [pool('h@b#d', 'perf.iops', T0, 3), pool('h@b#d', 'perf.iops', T0 + 1, Number.NaN)];
      await expect(store.write(bad)).rejects.toMatchObject({ code: 'TELEMETRY_WRITE_REJECTED' });
      await expect(store.write([vol('v1', 'capacity.free_gib', T0, 1)])).rejects.toBeInstanceOf(AppError);
      await store.flush();
      expect(await store.latest('pool', 'perf.iops', ['h@b#d'])).toEqual(new Map());
    });

    test('retention drops old samples; downsampling keeps mean, max and counts of old buckets', async () => {
      const key = 'h@b#retained';
      const now = T0 + 10 * DAY;
      const points: Point[] = [];
      // One sample an hour for 10 days: value = hour index within its 6-hour bucket (0..5), + day.
      for (let h = 0; h < 10 * 24; h++) points.push(pool(key, 'capacity.allocated_gib', T0 + h * HOUR, (h % 6) + Math.floor(h / 24)));
      await store.write(points);
      await store.flush();
      const report = await store.maintain(now);
      expect(report.retentionCutoffMs).toBe(now - 7 * DAY);
      expect(report.downsampleCutoffMs).toBe(now - 2 * DAY);
      expect(report.coarseWritten).toBeGreaterThanOrEqual(5 * 4); // days 3..7 of this series, 4 buckets a day

      const all = await store.series({ entity: 'pool', metric: 'capacity.allocated_gib', fromMs: T0, toMs: now, keys: [key] });
      const samples = all.get(key) ?? [];
      const kept = points.filter((p) => p.atMs >= now - 7 * DAY);
      const coarse = samples.filter((s) => s.atMs < now - 2 * DAY);
      const raw = samples.filter((s) => s.atMs >= now - 2 * DAY);
      expect(coarse.length).toBe(5 * 4);
      expect(raw.length).toBe(2 * 24);
      expect(samples.every((s) => s.atMs >= now - 7 * DAY)).toBe(true);
      // Each coarse bucket of day d holds hours 0..5 of the bucket: mean d + 2.5, max d + 5.
      for (const c of coarse) {
        const day = Math.floor((c.atMs - T0) / DAY);
        expect(c).toEqual({ atMs: c.atMs, value: day + 2.5, max: day + 5, count: 6 });
        expect((c.atMs - T0) % (6 * HOUR)).toBe(0);
      }
      const stats = await store.windowStats({ entity: 'pool', metric: 'capacity.allocated_gib', fromMs: T0, toMs: now, keys: [key] });
      const sum = kept.reduce((a, p) => a + p.value, 0);
      expect(stats).toHaveLength(1);
      expect(stats[0]!.count).toBe(kept.length);
      expect(stats[0]!.mean).toBeCloseTo(sum / kept.length, 9);
      expect(stats[0]!.max).toBe(Math.max(...kept.map((p) => p.value)));
      const latest = await store.latest('pool', 'capacity.allocated_gib', [key]);
      expect(latest.get(key)).toEqual({ atMs: T0 + 239 * HOUR, value: 5 + 9 });

      // A second pass is idempotent: nothing left to downsample changes what queries return.
      await store.maintain(now);
      const again = await store.series({ entity: 'pool', metric: 'capacity.allocated_gib', fromMs: T0, toMs: now, keys: [key] });
      expect(again.get(key)).toEqual(samples);
    });
  });
}
