/**
 * Collectors against a real embedded deployment (block service, drivers' own I/O accounting):
 * capacity per pool, rates from counter deltas, a service restart (counters back to zero), a
 * reading from the future, and a collector that throws while the others keep running.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/index.js';
import { MiB } from '../../src/shared/index.js';
import {
  SqliteTelemetryStore,
  capacityCollector,
  performanceCollector,
  runCollectors,
  type Collector,
  type Point,
  type TelemetryStore,
} from '../../src/telemetry/index.js';
import { ManualClock, makeTelemetryDeployment, writeInto, type TelemetryDeployment } from './telemetry-fixture.js';

const T = Date.UTC(2026, 5, 1, 12);
const RETENTION = { retentionMs: 90 * 86_400_000, downsampleAfterMs: 7 * 86_400_000, downsampleBucketMs: 3_600_000 };

let d: TelemetryDeployment;
let store: TelemetryStore;
beforeEach(async () => {
  d = await makeTelemetryDeployment();
  store = SqliteTelemetryStore.open({ path: join(d.dir, 'telemetry.db'), retention: RETENTION });
});
afterEach(async () => {
  await store.close();
  await d.cleanup();
});

const value = (pts: readonly Point[], entity: Point['entity'], key: string, metric: Point['metric']) => pts.find((p) => p.entity === entity && p.key === key && p.metric === metric)?.value;

describe('capacity collector', () => {
  test('every pool with Cinder get_pools numbers and the allocation of its volumes', async () => {
    const service = await d.open();
    const cp = new EmbeddedControlPlane(service, { name: d.dir });
    const v = await service.createVolume({ sizeGiB: 3, type: 'gold', name: 'a' });
    const out = await capacityCollector().collect({ reader: cp, nowMs: T });
    const pools = [...new Set(out.points.map((p) => p.key))];
    expect(pools).toEqual(['ballast@capacity#hdd-a', 'ballast@capacity#hdd-b', 'ballast@fast#ssd-a', 'ballast@fast#ssd-b']);
    expect(out.points.every((p) => p.atMs === T && p.entity === 'pool')).toBe(true);
    expect(value(out.points, 'pool', v.host, 'capacity.allocated_gib')).toBe(3);
    expect(value(out.points, 'pool', v.host, 'capacity.total_gib')).toBe(100);
    expect(value(out.points, 'pool', 'ballast@capacity#hdd-a', 'capacity.reserved_pct')).toBe(5);
    expect(value(out.points, 'pool', v.host, 'capacity.used_share')).toBeCloseTo(3 / 100, 9);
    expect(value(out.points, 'pool', v.host, 'capacity.up')).toBe(1);
  });
});

describe('performance collector', () => {
  test('rates from counter deltas; a restart starts a new baseline; never a negative rate', async () => {
    const clock = new ManualClock(T);
    let service = await d.open();
    let cp = new EmbeddedControlPlane(service, { name: d.dir, clock });
    const v = await service.createVolume({ sizeGiB: 1, type: 'gold', name: 'perf' });
    const perf = performanceCollector();
    const first = await perf.collect({ reader: cp, nowMs: clock.ms });
    expect(first.points).toEqual([]);
    expect(first.notes.join()).toMatch(/baseline/);

    const bytes = 3 * MiB;
    await writeInto(service, d.dir, v.id, bytes);
    clock.ms += 10_000;
    const second = await perf.collect({ reader: cp, nowMs: clock.ms });
    expect(value(second.points, 'volume', v.id, 'perf.write_bytes_per_sec')).toBe(bytes / 10);
    expect(value(second.points, 'pool', v.host, 'perf.write_bytes_per_sec')).toBe(bytes / 10);
    expect(value(second.points, 'volume', v.id, 'perf.write_iops')).toBeGreaterThan(0);
    expect(value(second.points, 'volume', v.id, 'perf.latency_p95_ms')).toBeGreaterThanOrEqual(0);
    expect(value(second.points, 'volume', v.id, 'perf.read_iops')).toBe(0);

    // Restart the service: its counters start again from zero, below the baseline.
    service.close();
    service = await d.open();
    cp = new EmbeddedControlPlane(service, { name: d.dir, clock });
    await writeInto(service, d.dir, v.id, MiB);
    clock.ms += 10_000;
    const third = await perf.collect({ reader: cp, nowMs: clock.ms });
    expect(third.points).toEqual([]);
    expect(third.notes.join()).toMatch(/went backwards \(restart\) for pool ballast@fast#ssd-., volume /);

    await writeInto(service, d.dir, v.id, 2 * MiB);
    clock.ms += 4_000;
    const fourth = await perf.collect({ reader: cp, nowMs: clock.ms });
    expect(value(fourth.points, 'volume', v.id, 'perf.write_bytes_per_sec')).toBe((2 * MiB) / 4);
    expect(fourth.points.every((p) => p.value >= 0)).toBe(true);
  });

  test('a reading from the future is rejected with the collector named, the baseline kept, others run', async () => {
    const service = await d.open();
    const collectorClock = new ManualClock(T);
    const ahead = new ManualClock(T + 3_600_000);
    const cp = new EmbeddedControlPlane(service, { name: d.dir, clock: ahead });
    const perf = performanceCollector({ maxFutureSkewMs: 5000 });
    const report = await runCollectors([perf, capacityCollector()], cp, store, collectorClock);
    expect(report.outcomes.map((o) => [o.name, o.ok])).toEqual([
      ['performance', false],
      ['capacity', true],
    ]);
    const failed = report.outcomes[0]!;
    expect(!failed.ok && failed.error.message).toMatch(/from the future: taken at 2026-06-01T13:00:00.000Z, 3600000 ms ahead/);
    expect((await store.latest('pool', 'capacity.total_gib')).size).toBe(4);
  });
});

describe('runCollectors', () => {
  test('a collector that throws is reported by name; the others still run and their samples are stored', async () => {
    const service = await d.open();
    const cp = new EmbeddedControlPlane(service, { name: d.dir });
    const broken: Collector = {
      name: 'broken',
      collect: async () => {
        throw new Error('agent endpoint refused the connection');
      },
    };
    const report = await runCollectors([broken, capacityCollector()], cp, store, new ManualClock(T));
    expect(report.outcomes[0]).toMatchObject({ name: 'broken', ok: false, error: { code: 'COLLECTOR_FAILED', message: 'agent endpoint refused the connection' } });
    expect(report.outcomes[1]).toMatchObject({ name: 'capacity', ok: true, points: 4 * 8 });
    const latest = await store.latest('pool', 'capacity.allocated_gib');
    expect([...latest.values()].map((x) => x.atMs)).toEqual([T, T, T, T]);
  });
});
