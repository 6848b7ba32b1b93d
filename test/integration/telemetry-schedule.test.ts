/**
 * The daemon's telemetry schedule with real node-cron schedules firing every second, on a real
 * embedded deployment. Assertions wait on conditions (bounded), never on sleeps.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { TelemetrySchedule, telemetryScheduleFromConfig } from '../../src/daemon/telemetry-schedule.js';
import { readFile } from 'node:fs/promises';
import { EmbeddedControlPlane } from '../../src/controlplane/index.js';
import { AppError } from '../../src/shared/index.js';
import { SqliteTelemetryStore, capacityCollector, parsePriceCatalogue, type CollectReport, type Collector, type MaintenanceReport, type TelemetryStore } from '../../src/telemetry/index.js';
import { makeTelemetryDeployment, type TelemetryDeployment } from './telemetry-fixture.js';

async function waitFor<T>(what: string, check: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let d: TelemetryDeployment;
let store: TelemetryStore;
let schedule: TelemetrySchedule | null = null;
beforeEach(async () => {
  d = await makeTelemetryDeployment();
  store = SqliteTelemetryStore.open({ path: join(d.dir, 'telemetry.db'), retention: { retentionMs: 86_400_000, downsampleAfterMs: 3_600_000, downsampleBucketMs: 60_000 } });
});
afterEach(async () => {
  await schedule?.stop();
  schedule = null;
  await store.close();
  await d.cleanup();
});

describe('TelemetrySchedule', () => {
  test('runs collectors every second; a throwing collector is reported by name while the others go on', async () => {
    const service = await d.open();
    const reader = new EmbeddedControlPlane(service, { name: d.dir });
    const reports: CollectReport[] = [];
    const maintenance: MaintenanceReport[] = [];
    const broken: Collector = {
      name: 'broken',
      collect: async () => {
        throw new AppError('DRIVER_ERROR', 'the agent is down');
      },
    };
    schedule = new TelemetrySchedule({
      reader,
      store,
      collectors: [capacityCollector(), broken],
      schedules: { capacity: '* * * * * *', broken: '* * * * * *', maintenance: '* * * * * *' },
      onReport: (r) => reports.push(r),
      onMaintenance: (r) => maintenance.push(r),
    });
    schedule.start();
    const ok = () => reports.filter((r) => r.outcomes[0]?.name === 'capacity' && r.outcomes[0].ok);
    await waitFor('two capacity runs', () => ok().length >= 2);
    await waitFor('two reported failures of the broken collector', () => reports.filter((r) => r.outcomes[0]?.name === 'broken' && !r.outcomes[0].ok).length >= 2);
    await waitFor('a maintenance pass', () => maintenance.length >= 1);
    const failure = reports.find((r) => r.outcomes[0]?.name === 'broken')!.outcomes[0]!;
    expect(failure).toMatchObject({ name: 'broken', ok: false, error: { code: 'DRIVER_ERROR', message: 'the agent is down' } });
    const times = new Set(ok().map((r) => r.atMs));
    expect(times.size).toBeGreaterThanOrEqual(2);
    const latest = await store.latest('pool', 'capacity.total_gib');
    expect(latest.size).toBe(4);
    await schedule.stop();
    const after = reports.length;
    // Stopped: a direct run still works, the schedule itself fires no more (nothing running now).
    expect(await schedule.runCollector(capacityCollector())).toMatchObject({ outcomes: [{ name: 'capacity', ok: true }] });
    expect(reports.length).toBe(after + 1);
  });

  test('from the configuration: capacity, performance and cost (the init price catalogue) on their schedules', async () => {
    const service = await d.open();
    const reader = new EmbeddedControlPlane(service, { name: d.dir });
    const pricesFile = d.config.telemetry.pricesFile!;
    const catalogue = parsePriceCatalogue(pricesFile, await readFile(pricesFile, 'utf8'));
    const every = '* * * * * *';
    const names = new Set<string>();
    schedule = telemetryScheduleFromConfig(
      { ...d.config.telemetry, schedules: { capacity: every, performance: every, cost: every, external: every, maintenance: every } },
      { reader, store, catalogue, onReport: (r) => r.outcomes.forEach((o) => o.ok && names.add(o.name)) },
    );
    schedule.start();
    await waitFor('capacity, performance and cost runs', () => ['capacity', 'performance', 'cost'].every((n) => names.has(n)));
    await waitFor('cost samples in the store', async () => (await store.latest('pool', 'cost.price_per_gib_month')).size === 4);
    expect([...names].sort()).toEqual(['capacity', 'cost', 'performance']);
  });

  test('a bad or missing schedule is refused at construction, naming the job', async () => {
    const service = await d.open();
    const reader = new EmbeddedControlPlane(service, { name: d.dir });
    expect(() => new TelemetrySchedule({ reader, store, collectors: [capacityCollector()], schedules: { capacity: '61 * * * *' } })).toThrow(/telemetry\.schedules\.capacity: '61 \* \* \* \*' is not a valid cron schedule/);
    expect(() => new TelemetrySchedule({ reader, store, collectors: [capacityCollector()], schedules: {} })).toThrow(/telemetry\.schedules\.capacity: no schedule for the capacity collector/);
  });
});
