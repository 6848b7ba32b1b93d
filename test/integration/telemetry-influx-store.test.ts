/**
 * The InfluxDB store against a real influxd (Debian's influxdb, started on 127.0.0.1 by the test):
 * the store contract, then the server going away and coming back: writes buffer up to a bound,
 * then a typed error; after a restart the buffered samples are delivered.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { InfluxTelemetryStore, SqliteTelemetryStore, externalCollector, runCollectors, type Point, type RetentionSettings } from '../../src/telemetry/index.js';
import { join } from 'node:path';
import { EmbeddedControlPlane } from '../../src/controlplane/index.js';
import { makeTelemetryDeployment } from './telemetry-fixture.js';
import { startInfluxd, type InfluxServer } from '../support/influxd.js';
import { CONTRACT_RETENTION, storeContract, T0 } from '../unit/telemetry-store-contract.js';

let server: InfluxServer;
let n = 0;
beforeAll(async () => {
  server = await startInfluxd();
});
afterAll(async () => {
  await server?.cleanup();
});

const openStore = (retention: RetentionSettings, extra: { maxBufferedPoints?: number; batchSize?: number } = {}) =>
  InfluxTelemetryStore.open({
    url: server.url,
    database: `contract${n++}`,
    retentionPolicy: 'ballast',
    requestTimeoutMs: 5000,
    batchSize: extra.batchSize ?? 1000,
    maxBufferedPoints: extra.maxBufferedPoints ?? 100_000,
    retention,
  });

storeContract('influx', (retention) => openStore(retention));

describe('influx store when the server goes away', () => {
  test('buffers up to the bound, then refuses with TELEMETRY_STORE_UNAVAILABLE; delivers after a restart', async () => {
    const store = await openStore(CONTRACT_RETENTION, { maxBufferedPoints: 50, batchSize: 10 });
    const pts = (from: number, count: number): Point[] =>
      Array.from({ length: count }, (_, i) => ({ entity: 'pool', key: 'h@b#p', metric: 'perf.iops', atMs: T0 + (from + i) * 1000, value: from + i }));
    await store.write(pts(0, 5));
    expect(store.pending).toBe(0);
    await server.stop();
    await store.write(pts(5, 20));
    await store.write(pts(25, 25));
    expect(store.pending).toBe(45);
    expect(store.lastError?.code).toBe('TELEMETRY_STORE_UNAVAILABLE');
    await expect(store.write(pts(50, 10))).rejects.toMatchObject({
      code: 'TELEMETRY_STORE_UNAVAILABLE',
      message: expect.stringMatching(/45 samples are buffered \(bound 50\); these 10 were not stored/),
    });
    await expect(store.flush()).rejects.toMatchObject({ code: 'TELEMETRY_STORE_UNAVAILABLE' });
    await expect(store.windowStats({ entity: 'pool', metric: 'perf.iops', fromMs: T0, toMs: T0 + 1e6 })).rejects.toMatchObject({ code: 'TELEMETRY_STORE_UNAVAILABLE' });
    await server.restart();
    await store.flush();
    expect(store.pending).toBe(0);
    expect(store.lastError).toBeNull();
    const stats = await store.windowStats({ entity: 'pool', metric: 'perf.iops', fromMs: T0, toMs: T0 + 1e6 });
    expect(stats).toEqual([{ key: 'h@b#p', count: 50, mean: 24.5, max: 49, p95: 47 }]);
    await store.close();
  });

  test('opening while the server is down does not fail; the schema is made on first delivery', async () => {
    await server.stop();
    const store = await openStore(CONTRACT_RETENTION);
    expect(store.lastError?.code).toBe('TELEMETRY_STORE_UNAVAILABLE');
    await store.write([{ entity: 'volume', key: 'v1', metric: 'perf.iops', atMs: T0, value: 3 }]);
    expect(store.pending).toBe(1);
    await server.restart();
    await store.flush();
    expect(await store.windowStats({ entity: 'volume', metric: 'perf.iops', fromMs: T0, toMs: T0 })).toEqual([{ key: 'v1', count: 1, mean: 3, max: 3, p95: 3 }]);
    await store.close();
  });
});

describe('external InfluxDB measurement mapped onto Ballast metrics', () => {
  test('samples your agents wrote are read since the last run and stored under Ballast metric names', async () => {
    const q = async (query: string) => {
      const r = await fetch(`${server.url}/query?q=${encodeURIComponent(query)}`, { method: 'POST' });
      expect(r.status).toBe(200);
    };
    const write = async (lines: string) => {
      const r = await fetch(`${server.url}/write?db=agents&precision=ms`, { method: 'POST', body: lines });
      expect(r.status, await r.text()).toBe(204);
    };
    await q('CREATE DATABASE agents');
    const now = Date.UTC(2026, 3, 1, 12);
    await write(
      [
        `storage_pool,pool=ballast@fast#ssd-a,site=x ops=120,bps=1048576,other=1 ${now - 30_000}`,
        `storage_pool,pool=ballast@fast#ssd-a,site=x ops=180,bps=2097152 ${now - 10_000}`,
        `storage_pool,pool=ballast@capacity#hdd-a,site=x ops=5 ${now - 20_000}`,
        `storage_pool,pool=ballast@fast#ssd-b,site=x ops=999 ${now - 7_200_000}`,
      ].join('\n'),
    );
    const d = await makeTelemetryDeployment();
    const reader = new EmbeddedControlPlane(await d.open(), { name: d.dir });
    const store = SqliteTelemetryStore.open({ path: join(d.dir, 't.db'), retention: CONTRACT_RETENTION });
    try {
      const ext = externalCollector({
        url: server.url,
        database: 'agents',
        measurement: 'storage_pool',
        entity: 'pool',
        keyTag: 'pool',
        fields: { 'perf.iops': 'ops', 'perf.bytes_per_sec': 'bps' },
        lookbackMs: 3_600_000,
        requestTimeoutMs: 5000,
      });
      const clock = { ms: now, nowMs() { return this.ms; } };
      const first = await runCollectors([ext], reader, store, clock);
      expect(first.outcomes[0]).toMatchObject({ name: 'external', ok: true, points: 5 });
      const iops = await store.windowStats({ entity: 'pool', metric: 'perf.iops', fromMs: now - 3_600_000, toMs: now });
      expect(iops).toEqual([
        { key: 'ballast@capacity#hdd-a', count: 1, mean: 5, max: 5, p95: 5 },
        { key: 'ballast@fast#ssd-a', count: 2, mean: 150, max: 180, p95: 180 },
      ]);
      // The next run reads only what arrived since.
      await write(`storage_pool,pool=ballast@fast#ssd-a,site=x ops=60 ${now + 5_000}`);
      clock.ms = now + 10_000;
      const second = await runCollectors([ext], reader, store, clock);
      expect(second.outcomes[0]).toMatchObject({ ok: true, points: 1 });
      expect(() => externalCollector({ url: server.url, database: 'agents', measurement: 'm', entity: 'volume', keyTag: 'v', fields: { 'perf.iopz': 'x' }, lookbackMs: 1, requestTimeoutMs: 1000 })).toThrow(/unknown metric 'perf.iopz' \(did you mean 'perf.iops'\?\)/);
      expect(() => externalCollector({ url: server.url, database: 'agents', measurement: 'm', entity: 'volume', keyTag: 'v', fields: { 'capacity.free_gib': 'x' }, lookbackMs: 1, requestTimeoutMs: 1000 })).toThrow(/capacity.free_gib is not a volume metric/);
    } finally {
      await store.close();
      await d.cleanup();
    }
  });
});
