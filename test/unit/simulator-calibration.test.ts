/**
 * The timing model checked against reality. On a real embedded deployment (real data in real
 * volume files), one move is timed to measure this machine's per-move copy rate; the simulator,
 * given that rate, predicts the makespan of a plan of several moves run by the same executor; the
 * plan is then really run on the embedded control plane and the two makespans are compared.
 *
 * The rate is the mean of two single moves (after a warm-up move). Tolerance (real / predicted):
 * 0.25 to 4, for moves one at a time and two at once. This is a guard against a model wrong by a
 * large factor (units, concurrency ignored), not a precise calibration: the test suite runs three
 * files at once on two cores, so the machine's speed changes between the measuring moves and the
 * measured plan (CI runs saw 0.49 and 1.64 for moves in series). Precise figures belong in a bench. The model is linear in bytes with a fixed overhead; the
 * variance comes from the machine (2 cores shared with other work, the page cache) and from the
 * executor's 20 ms poll, not from the model. Two moves at once between disjoint pools get a looser
 * bound (0.4 to 2.5): every pool here is a directory on one disk behind the same cores, which the
 * calibrated model expresses as one shared link at the measured rate; how much two copies really
 * overlap on such a machine varies with its load.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { BlockService } from '../../src/blockstore/index.js';
import { INVENTORY_SCHEMA, type Inventory, type Plan } from '../../src/model/index.js';
import { compilePolicyFiles } from '../../src/policy/index.js';
import { dryRunPlan, type TimingModel } from '../../src/simulator/index.js';
import { makeDeployment, type Deployment } from '../integration/deployment.js';
import { FAST_A, FAST_B, HDD_A, HDD_B, harness, move, planOf, settings, type Harness } from '../integration/executor-fixtures.js';

const DATA_MIB = 128;
/** The poll of the real executor in these tests (executor-fixtures' settings). */
const POLL_MS = 20;
let d: Deployment;
let service: BlockService;
let h: Harness;
const ids: string[] = [];

async function runReal(plan: Plan, total: number): Promise<number> {
  const ex = h.start(plan, settings({ maxConcurrentTotal: total, maxConcurrentPerSourcePool: total, maxConcurrentPerDestPool: total, maxConcurrentPerBackend: total }));
  const summary = await ex.execute();
  expect(summary.counts.done).toBe(plan.moves.length);
  const rows = service.migrations(1000).filter((m) => plan.moves.some((mv) => mv.volumeId === m.volumeId) && m.finishedAtMs !== null);
  const last = rows.slice(-plan.moves.length);
  return Math.max(...last.map((m) => m.finishedAtMs!)) - Math.min(...last.map((m) => m.startedAtMs));
}

async function inventoryNow(): Promise<Inventory> {
  const pools = await h.cp.listPools();
  const vols = await h.cp.listVolumes();
  return {
    schema: INVENTORY_SCHEMA,
    id: 'calibration',
    takenAtMs: 0,
    source: { kind: 'embedded', name: d.dir },
    pools: pools.map((p) => ({ ...p, perf: null, costPerGiBMonth: null, growthGiBPerDay: null, sampledAtMs: 0 })),
    volumes: vols.map((v) => ({ ...v, perf: null })),
    volumeTypes: await h.cp.listVolumeTypes(),
    freshness: { windowMs: 0, oldestSampleAtMs: 0, store: 'none' },
  };
}

const POLICY = compilePolicyFiles([{ file: 'p.yaml', text: 'apiVersion: ballast.io/v1\nkind: PlacementPolicy\nmetadata:\n  name: p\nexecution:\n  maxConcurrent: { total: 2, perPool: 2, perBackend: 2 }\n' }]).policy!;

describe('the timing model against the embedded control plane', () => {
  beforeAll(async () => {
    d = await makeDeployment();
    service = await d.open();
    h = harness(d, service);
    const block = randomBytes(1024 * 1024);
    const file = join(d.dir, 'data.bin');
    writeFileSync(file, Buffer.concat(Array.from({ length: DATA_MIB }, () => block)));
    const homes = [FAST_A, FAST_A, FAST_A, FAST_A, FAST_A, FAST_B, HDD_B];
    for (let i = 0; i < homes.length; i++) {
      const v = await service.createVolume({ sizeGiB: 1, type: 'any', name: `cal-${i}`, host: homes[i] });
      await service.writeVolume(v.id, file);
      ids.push(v.id);
    }
  });
  afterAll(async () => {
    await h?.close();
    await d?.cleanup();
  });

  test('moves one at a time, then two at once: predicted and real makespans agree within the tolerance', async () => {
    // 1. Warm up (first copy pays for cold caches), then measure: one move alone gives this
    //    machine's rate (volume GiB per second) for such volumes.
    await runReal(planOf([move('m001', ids[0]!, FAST_A, HDD_A, { volumeName: 'cal-0' })]), 1);
    const m1 = await runReal(planOf([move('m001', ids[1]!, FAST_A, HDD_A, { volumeName: 'cal-1' })]), 1);
    const m2 = await runReal(planOf([move('m001', ids[2]!, FAST_A, HDD_B, { volumeName: 'cal-2' })]), 1);
    const measuredMs = (m1 + m2) / 2;
    const rate = (1024 ** 3 / measuredMs) * 1000;
    const timing: TimingModel = {
      defaultPool: { readBytesPerSec: rate, writeBytesPerSec: rate },
      pools: {},
      // Every pool here is a directory on one disk behind the same two cores: copies between
      // back-ends share that, which the model's shared link stands for.
      linkBytesPerSec: rate,
      moveOverheadMs: 0,
      liveWriteBytesPerSec: 0,
      failureProbability: 0,
      failureProbabilityByBackend: {},
    };
    // 2. Predict, then run for real: two moves one after the other (to hdd-a, then to hdd-b).
    const serial = planOf([move('m001', ids[3]!, FAST_A, HDD_A, { volumeName: 'cal-3' }), move('m002', ids[4]!, FAST_A, HDD_B, { volumeName: 'cal-4' })]);
    const serialPolicy = { ...POLICY, execution: { ...POLICY.execution, maxConcurrentTotal: 1 } };
    const predictedSerial = (await dryRunPlan(await inventoryNow(), { ...serial, expiresAtMs: Number.MAX_SAFE_INTEGER }, serialPolicy, { timing, startMs: 0, pollIntervalMs: POLL_MS })).makespanMs;
    const realSerial = await runReal(serial, 1);
    // 3. Two at once from disjoint pools.
    const parallel = planOf([move('m001', ids[5]!, FAST_B, HDD_A, { volumeName: 'cal-5' }), move('m002', ids[6]!, HDD_B, FAST_A, { volumeName: 'cal-6' })]);
    const predictedParallel = (await dryRunPlan(await inventoryNow(), { ...parallel, expiresAtMs: Number.MAX_SAFE_INTEGER }, POLICY, { timing, startMs: 0, pollIntervalMs: POLL_MS })).makespanMs;
    const realParallel = await runReal(parallel, 2);
    const ratioSerial = realSerial / predictedSerial;
    const ratioParallel = realParallel / predictedParallel;
    console.log(
      `calibration: one move of 1 GiB (${DATA_MIB} MiB of data) took ${Math.round(measuredMs)} ms (mean of two); ` +
        `two in series: predicted ${Math.round(predictedSerial)} ms, real ${realSerial} ms, ratio ${ratioSerial.toFixed(2)}; ` +
        `two at once: predicted ${Math.round(predictedParallel)} ms, real ${realParallel} ms, ratio ${ratioParallel.toFixed(2)}`,
    );
    expect(ratioSerial).toBeGreaterThan(0.25);
    expect(ratioSerial).toBeLessThan(4);
    expect(ratioParallel).toBeGreaterThan(0.25);
    expect(ratioParallel).toBeLessThan(4);
  });
});
