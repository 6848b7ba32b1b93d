/**
 * The inventory builder on a real embedded deployment: control plane + telemetry + prices joined,
 * deterministic JSON, and a refusal naming the pool whose telemetry is stale.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { BlockService } from '../../src/blockstore/index.js';
import { EmbeddedControlPlane } from '../../src/controlplane/index.js';
import { AppError, MiB } from '../../src/shared/index.js';
import {
  SqliteTelemetryStore,
  buildInventory,
  capacityCollector,
  capacityPoints,
  inventoryToJson,
  parsePriceCatalogue,
  performanceCollector,
  resolvePrices,
  runCollectors,
  type TelemetryStore,
} from '../../src/telemetry/index.js';
import { ManualClock, makeTelemetryDeployment, writeInto, type TelemetryDeployment } from './telemetry-fixture.js';

const T = Date.UTC(2026, 6, 1, 8);
const MIN = 60_000;
let d: TelemetryDeployment;
let store: TelemetryStore;
let service: BlockService;
let cp: EmbeddedControlPlane;
let clock: ManualClock;

beforeEach(async () => {
  d = await makeTelemetryDeployment();
  clock = new ManualClock(T);
  store = SqliteTelemetryStore.open({ path: join(d.dir, 'telemetry.db'), retention: { retentionMs: 90 * 86_400_000, downsampleAfterMs: 7 * 86_400_000, downsampleBucketMs: 3_600_000 } });
  service = await d.open();
  cp = new EmbeddedControlPlane(service, { name: d.dir, clock });
});
afterEach(async () => {
  await store.close();
  await d.cleanup();
});

const opts = (extra: { prices?: Awaited<ReturnType<typeof resolvePrices>> } = {}) => {
  let n = 0;
  return { clock, ids: () => `inv-${++n}`, windowMs: 60 * MIN, growthWindowMs: 7 * 86_400_000, maxAgeMs: 15 * MIN, ...extra };
};

describe('buildInventory', () => {
  test('joins pools, volumes and types with telemetry and prices; JSON is deterministic', async () => {
    const hot = await service.createVolume({ sizeGiB: 2, type: 'gold', name: 'hot' });
    const cold = await service.createVolume({ sizeGiB: 5, type: 'standard', name: 'cold' });
    const collectors = [capacityCollector(), performanceCollector()];
    await runCollectors(collectors, cp, store, clock);
    await writeInto(service, d.dir, hot.id, 2 * MiB);
    clock.ms += MIN;
    const report = await runCollectors(collectors, cp, store, clock);
    expect(report.outcomes.every((o) => o.ok)).toBe(true);
    clock.ms += MIN;

    const cat = parsePriceCatalogue(join(d.dir, 'prices.yaml'), await readFile(join(d.dir, 'prices.yaml'), 'utf8'));
    const prices = resolvePrices(cat, await cp.listPools(), await cp.listVolumeTypes());
    const inv = await buildInventory(cp, store, opts({ prices }));
    expect(inv).toMatchObject({ schema: 'ballast.io/inventory/v1', id: 'inv-1', takenAtMs: T + 2 * MIN, source: { kind: 'embedded', name: d.dir } });
    expect(inv.freshness).toEqual({ windowMs: 60 * MIN, oldestSampleAtMs: T + MIN, store: store.name });
    expect(inv.pools.map((p) => p.name)).toEqual(['ballast@capacity#hdd-a', 'ballast@capacity#hdd-b', 'ballast@fast#ssd-a', 'ballast@fast#ssd-b']);
    const hotPool = inv.pools.find((p) => p.name === hot.host)!;
    expect(hotPool).toMatchObject({ allocatedGiB: 2, costPerGiBMonth: 0.12, sampledAtMs: T + MIN, state: 'up' });
    expect(hotPool.perf?.throughputMeanBytesPerSec).toBe((2 * MiB) / 60);
    expect(hotPool.growthGiBPerDay).toBe(0);
    expect(inv.pools.find((p) => p.name === 'ballast@capacity#hdd-b')?.costPerGiBMonth).toBe(0.02);
    expect(inv.volumes.map((v) => v.id)).toEqual([hot.id, cold.id].sort());
    expect(inv.volumes.find((v) => v.id === hot.id)?.perf).toEqual({ iopsP95: expect.any(Number), throughputP95BytesPerSec: (2 * MiB) / 60 });
    expect(inv.volumes.find((v) => v.id === cold.id)).toMatchObject({ perf: null, sizeGiB: 5, volumeType: 'standard' });
    expect(inv.volumeTypes.map((t) => t.name)).toEqual(['gold', 'standard']);

    const again = await buildInventory(cp, store, opts({ prices }));
    const json = inventoryToJson(inv);
    expect(inventoryToJson(again)).toBe(json);
    expect(Object.keys(JSON.parse(json) as object)).toEqual(['freshness', 'id', 'pools', 'schema', 'source', 'takenAtMs', 'volumeTypes', 'volumes']);
  });

  test('a pool whose newest sample is older than the allowed age is named in a TELEMETRY_STALE error', async () => {
    await runCollectors([capacityCollector()], cp, store, clock);
    clock.ms += 20 * MIN;
    // Three pools report again; ssd-b's newest sample stays 20 minutes old.
    const fresh = (await cp.listPools()).filter((p) => p.name !== 'ballast@fast#ssd-b');
    await store.write(fresh.flatMap((p) => capacityPoints(p, clock.ms)));
    const err = await buildInventory(cp, store, opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({
      code: 'TELEMETRY_STALE',
      message: "telemetry is stale for 1 pool (allowed age 15m00s): ballast@fast#ssd-b (newest sample 20m00s old); run 'ballast telemetry collect' or check the collectors' schedule",
      details: { stale: [{ pool: 'ballast@fast#ssd-b', lastSampleAtMs: T, ageMs: 20 * MIN }], maxAgeMs: 15 * MIN },
    });
  });

  test('a pool that was never sampled is stale too', async () => {
    const err = await buildInventory(cp, store, opts()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TELEMETRY_STALE', message: expect.stringContaining('ballast@capacity#hdd-a (no capacity sample), ballast@capacity#hdd-b (no capacity sample)') });
  });
});
