/**
 * The scenario runner without rebalancing (no solve: fast, and nothing but the runner under
 * test): growth as new volumes, refused growth when the fleet is full, negative growth, pools
 * added, removed with volumes and failed, price changes, sampling, time to full, and determinism.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { generateFleet } from '../../src/solver/index.js';
import { openScenario, productionEngine, renderTextSummary, runScenario, type SimulationResult } from '../../src/simulator/index.js';
import { inventory, pool, volume } from './simulator-fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');
const POLICY = join(ROOT, 'simulations', 'policies', 'balance.yaml');
const dir = mkdtempSync(join(tmpdir(), 'ballast-runner-'));
const DAY = 86_400_000;

// a: 1000 GiB holding 500; b: 1000 GiB holding 100; fast f: 500 GiB holding 100 (gold).
const BASE = inventory(
  [pool('cap', 'a', 1000, { costPerGiBMonth: 0.05 }), pool('cap', 'b', 1000, { costPerGiBMonth: 0.05 }), pool('fast', 'f', 500, { costPerGiBMonth: 0.2 })],
  [volume(1, 'ballast@cap#a', 300), volume(2, 'ballast@cap#a', 200), volume(3, 'ballast@cap#b', 100), volume(4, 'ballast@fast#f', 100, { volumeType: 'gold', volumeTypeId: 'type-gold' })],
);
writeFileSync(join(dir, 'base.json'), JSON.stringify(BASE));

async function run(events: string, extra = '', name = Math.random().toString(36).slice(2)): Promise<SimulationResult> {
  const file = join(dir, `s-${name}.yaml`);
  writeFileSync(file, `apiVersion: ballast.io/v1\nkind: Scenario\nmetadata:\n  name: t\nbase:\n  inventory: base.json\npolicies: [${POLICY}]\nhorizon: 10d\n${extra}events:\n${events}`);
  const opened = openScenario(file, { displayName: 't.yaml' });
  return runScenario({ ...opened, engine: productionEngine() });
}

const shareOf = (r: SimulationResult, pool: string) => r.pools.find((p) => p.name === pool)!.share;

describe('runner', () => {
  test('pool growth creates whole volumes on the pool, sampled daily, with its rate and time to full', async () => {
    const r = await run('  - at: 0d\n    growth: { pool: ballast@cap#b, rate: 50GiB/d, volumeSize: 50GiB }\n');
    expect(r.sampleTimesMs).toEqual(Array.from({ length: 11 }, (_, i) => i * DAY));
    expect(shareOf(r, 'ballast@cap#b')).toEqual([0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6]);
    const b = r.pools.find((p) => p.name === 'ballast@cap#b')!;
    expect(b.growthGiBPerDay).toBe(50);
    expect(b.daysToFull).toBe(8); // 400 GiB free at 50 GiB/day
    expect(r.pools.find((p) => p.name === 'ballast@cap#a')!.daysToFull).toBeNull();
    expect(r.totals).toMatchObject({ volumesStart: 4, volumesEnd: 14, usedGiBStart: 700, usedGiBEnd: 1200, growthRefusedGiB: 0, runs: 0 });
  });

  test("type growth goes where Cinder's scheduler would (most free), and what fits nowhere is refused and reported", async () => {
    const r = await run('  - at: 0d\n    growth: { volumeType: gold, rate: 100GiB/d }\n');
    // Gold fits only the 500 GiB fast pool holding 100: four 100 GiB volumes fit, the rest is refused.
    expect(shareOf(r, 'ballast@fast#f').slice(0, 6)).toEqual([0.2, 0.4, 0.6, 0.8, 1, 1]);
    expect(r.totals.growthRefusedGiB).toBe(600);
    expect(r.violations.map((v) => [v.kind, v.subject, v.firstMs / DAY])).toEqual([
      ['maxUtilization', 'ballast@fast#f', 4],
      ['growthRefused', 'type gold', 5],
    ]);
  });

  test('compounding growth follows its curve to within one volume', async () => {
    const r = await run('  - at: 0d\n    growth: { pool: ballast@cap#a, rate: 10%/d, volumeSize: 10GiB }\n');
    const used = shareOf(r, 'ballast@cap#a').map((s) => Math.round(s! * 1000));
    // Until the pool is full (500 GiB x 1.1^8 > 1000 GiB): then the rest is refused.
    used.slice(0, 8).forEach((u, i) => expect(Math.abs(u - 500 * Math.pow(1.1, i))).toBeLessThan(10));
    expect(used.slice(8)).toEqual([1000, 1000, 1000]);
    expect(r.totals.growthRefusedGiB).toBeGreaterThan(0);
  });

  test('negative growth deletes whole volumes, newest first, once enough shrink has accumulated', async () => {
    const r = await run('  - at: 2d\n    growth: { pool: ballast@cap#a, rate: -100GiB/d, until: 5d }\n');
    // vol-002 (200 GiB) goes on day 4; the last 100 GiB never make a whole volume (vol-001 is 300).
    expect(shareOf(r, 'ballast@cap#a').slice(0, 7)).toEqual([0.5, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3]);
    expect(r.totals.volumesEnd).toBe(3);
  });

  test('pools added, removed with volumes, failed; a price change; every event in the timeline', async () => {
    const r = await run(
      [
        '  - at: 1d',
        '    addPool: { name: ballast@new#n, size: 2TiB, price: 0.01 }',
        '  - at: 2d',
        '    price: { pools: "ballast@fast#*", perGiBMonth: 0.5 }',
        '  - at: 3d',
        '    failPool: ballast@cap#b',
        '  - at: 4d',
        '    removePool: ballast@cap#a',
        '',
      ].join('\n'),
    );
    expect(r.events.map((e) => `${e.atMs / DAY} ${e.label}: ${e.detail}`)).toEqual([
      '1 add ballast@new#n (2048 GiB): 2048 GiB of capacity added',
      '2 price of ballast@fast#* becomes 0.5/GiB-month: monthly cost becomes 80.00',
      '3 pool ballast@cap#b fails: 1 volumes (100 GiB) unavailable',
      '4 remove ballast@cap#a: still holding volumes: ballast@cap#a: 2 volumes (500 GiB)',
    ]);
    expect(shareOf(r, 'ballast@new#n').slice(0, 3)).toEqual([null, 0, 0]);
    expect(shareOf(r, 'ballast@cap#a').slice(3, 6)).toEqual([0.5, null, null]);
    // a 500 GiB and b 100 GiB at 0.05, f 100 GiB at 0.20 then 0.50; a's volumes leave with it.
    expect(r.costPerMonth.slice(0, 6)).toEqual([50, 50, 80, 80, 55, 55]);
    expect(r.violations.map((v) => `${v.kind} ${v.subject} ${v.firstMs / DAY}`)).toEqual(['poolFailed ballast@cap#b 3', 'poolRemovedWithVolumes ballast@cap#a 4']);
    expect(r.pools.map((p) => [p.name, p.state])).toEqual([
      ['ballast@cap#a', 'removed'],
      ['ballast@cap#b', 'down'],
      ['ballast@fast#f', 'up'],
      ['ballast@new#n', 'up'],
    ]);
  });

  test('a pool above its policy limit is a violation over the stretch of samples it lasts', async () => {
    const r = await run('  - at: 0d\n    growth: { pool: ballast@cap#a, curve: [{ at: 3d, add: 400GiB }, { at: 6d, add: 400GiB }, { at: 8d, add: 0GiB }] }\n');
    // Whole 100 GiB volumes: 60%, 70%, 90% on days 1-3, 90% until day 6, then two are deleted (70%).
    expect(shareOf(r, 'ballast@cap#a').slice(0, 9)).toEqual([0.5, 0.6, 0.7, 0.9, 0.9, 0.9, 0.9, 0.7, 0.5]);
    expect(r.violations).toEqual([
      { kind: 'maxUtilization', subject: 'ballast@cap#a', firstMs: 3 * DAY, lastMs: 6 * DAY, samples: 4, message: 'ballast@cap#a above its 85% limit (worst 90.0%)' },
    ]);
  });

  test('the same scenario gives the identical result and summary twice', async () => {
    const events = '  - at: 0d\n    growth: { volumeType: standard, rate: 7%/w }\n  - at: 5d\n    addPool: { name: ballast@new#n, size: 1TiB }\n';
    const [a, b] = [await run(events, '', 'same'), await run(events, '', 'same')];
    expect(b).toEqual(a);
    expect(renderTextSummary(b)).toBe(renderTextSummary(a));
  });

  test('a generated base (the solver fleet generator) with its seed; without the generator it is a located problem', async () => {
    const file = join(dir, 'generated.yaml');
    writeFileSync(file, `apiVersion: ballast.io/v1\nkind: Scenario\nmetadata:\n  name: g\nbase:\n  generate: { pools: 6, volumes: 120, seed: 9 }\npolicies: [${POLICY}]\nhorizon: 3d\n`);
    const generate = (spec: { pools: number; volumes: number; seed: number }) => generateFleet(spec);
    const opened = openScenario(file, { generate });
    expect(opened.base.pools).toHaveLength(6);
    expect(opened.base.volumes).toHaveLength(120);
    const r = await runScenario({ ...opened, engine: productionEngine() });
    expect(r.scenario.base).toBe('generated: 6 pools, 120 volumes, seed 9');
    expect(r.totals.volumesStart).toBe(120);
    expect(JSON.stringify(openScenario(file, { generate }).base)).toBe(JSON.stringify(opened.base));
    const bench = openScenario(join(ROOT, 'simulations', 'bench-20k-year.yaml'), { generate });
    expect([bench.base.pools.length, bench.base.volumes.length, bench.scenario.rebalance?.everyMs]).toEqual([200, 20_000, 28 * DAY]);
    expect(() => openScenario(file, { displayName: 'g.yaml' })).toThrow(/g\.yaml:6:13: base\.generate: generated bases need the fleet generator/);
  });
});
