import { describe, expect, test } from 'vitest';
import { evaluatePlacement, explainVolume, fleetPolicy, generateFleet, greedyPlacement, solvePlacement, verifyPlacement } from '../../src/solver/index.js';
import type { Placement } from '../../src/model/index.js';
import { balancePolicy, inventory, policy, pool, vol } from './solver-fixtures.js';

const now = () => performance.now();
const moved = (inv: { volumes: readonly { id: string; pool: string; sizeGiB: number }[] }, p: Placement) =>
  inv.volumes.filter((v) => p[v.id] !== v.pool);

describe('solvePlacement', () => {
  test('deterministic: the same inputs give the same result', async () => {
    const inv = generateFleet({ volumes: 400, pools: 9, seed: 5 });
    const pol = fleetPolicy(inv);
    const a = await solvePlacement(inv, pol, { now: () => 0 });
    const b = await solvePlacement(inv, pol, { now: () => 0 });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(a.violations).toEqual([]);
  });

  test.each([1, 2, 3])('never worse than either greedy plan, always verified (seed %i)', async (seed) => {
    const inv = generateFleet({ volumes: 600, pools: 12, seed });
    const pol = fleetPolicy(inv);
    const r = await solvePlacement(inv, pol, { now });
    expect(verifyPlacement(inv, pol, r.placement)).toEqual([]);
    const after = evaluatePlacement(inv, pol, r.placement).total;
    for (const style of ['watcher', 'objective'] as const) {
      const g = greedyPlacement(inv, pol, style);
      expect(verifyPlacement(inv, pol, g)).toEqual([]);
      expect(after).toBeLessThanOrEqual(evaluatePlacement(inv, pol, g).total + 1e-9);
    }
    expect(r.quality.bound).not.toBeNull();
    expect(r.quality.bound!).toBeLessThanOrEqual(after + 1e-9);
    expect(r.quality.objectiveAfter).toBeCloseTo(after, 9);
  });

  test('a drain under a tight byte budget never exceeds it and uses it', async () => {
    const inv = generateFleet({ volumes: 800, pools: 18, seed: 4 });
    const drained = inv.pools[1]!.name;
    const onDrained = inv.volumes.filter((v) => v.pool === drained && v.snapshotCount === 0);
    const totalGiB = onDrained.reduce((s, v) => s + v.sizeGiB, 0);
    const budgetGiB = Math.floor(totalGiB / 3);
    const pol = fleetPolicy(inv, { drainPool: drained, maxBytes: `${budgetGiB}GiB` });
    const r = await solvePlacement(inv, pol, { now });
    expect(r.violations).toEqual([]);
    expect(r.infeasibility).toBeNull();
    const m = moved(inv, r.placement);
    const gib = m.reduce((s, v) => s + v.sizeGiB, 0);
    expect(gib).toBeLessThanOrEqual(budgetGiB);
    const left = onDrained.filter((v) => r.placement[v.id] === drained);
    // the most the budget allows: what is left over is less than any volume still on the pool
    expect(left.length).toBeGreaterThan(0);
    expect(budgetGiB - gib).toBeLessThan(Math.min(...left.map((v) => v.sizeGiB)));
    expect(gib).toBeGreaterThan(budgetGiB * 0.95);
    expect(r.notes.some((n) => n.includes('must still leave drained pools'))).toBe(true);
  });

  test('small instances: the plan is the optimum found by enumerating every placement', async () => {
    const inv = inventory(
      [pool('a', { total: 100, price: 0.2 }), pool('b', { total: 80, price: 0.1 }), pool('c', { total: 60, price: 0.05 })],
      [vol('v1', 'a', 30), vol('v2', 'a', 25), vol('v3', 'a', 20), vol('v4', 'b', 15, { metadata: { app: 'x' } }), vol('v5', 'b', 10, { metadata: { app: 'x' } }), vol('v6', 'c', 5)],
    );
    const pol = policy(
      'constraints:\n  capacity:\n    maxUtilization: 80%\n  antiAffinity:\n    - labelKey: app\n  budgets:\n    maxMoves: 3',
      'priority: 1\nobjectives:\n  balance:\n    weight: 1\n  cost:\n    weight: 0.5\n  moveCost:\n    perGiB: 0.001\n  minGain: 0%',
    );
    const ids = inv.volumes.map((v) => v.id);
    const names = inv.pools.map((p) => p.name);
    let best = Number.POSITIVE_INFINITY;
    for (let code = 0; code < names.length ** ids.length; code++) {
      const p: Record<string, string> = {};
      let c = code;
      for (const id of ids) {
        p[id] = names[c % names.length]!;
        c = Math.floor(c / names.length);
      }
      if (verifyPlacement(inv, pol, p).length === 0) best = Math.min(best, evaluatePlacement(inv, pol, p).total);
    }
    const r = await solvePlacement(inv, pol, { now });
    expect(r.quality.method).toBe('mip');
    expect(r.quality.objectiveAfter).toBeCloseTo(best, 9);
    expect(r.quality.bound!).toBeLessThanOrEqual(best + 1e-9);
  });

  test('an infeasible policy is explained: the pool, the numbers, the closest relaxation', async () => {
    const inv = inventory([pool('a', { total: 1024 })], [vol('v1', 'a', 500), vol('v2', 'a', 412)]);
    const r = await solvePlacement(inv, balancePolicy('constraints:\n  capacity:\n    maxUtilization: 85%'), { now });
    expect(r.infeasibility).not.toBeNull();
    expect(r.infeasibility!.conflicts).toContain('[capacity] pool h@b#a: needs 912 GiB, limit 870.4 GiB (85% of 1024 GiB)');
    expect(r.infeasibility!.relaxations.join('\n')).toContain('raise capacity.maxUtilization on h@b#a to 90%');
    expect(r.placement).toEqual({ v1: 'h@b#a', v2: 'h@b#a' });
  });

  test('a drain with nowhere to go names the drain and what closes the other pools', async () => {
    const inv = inventory([pool('a'), pool('b', { az: 'az2' })], [vol('v1', 'a', 10)]);
    const r = await solvePlacement(inv, balancePolicy('constraints:\n  drainPools: ["h@b#a"]'), { now });
    expect(r.infeasibility!.conflicts.join('\n')).toMatch(/\[drainPools\].*no pool accepts it: 1 pools closed by keepWithinAvailabilityZone/);
  });

  test('anti-affinity against a pinned member with no room elsewhere is a conflict of antiAffinity', async () => {
    const inv = inventory([pool('a'), pool('b', { total: 15 })], [vol('v1', 'a', 10, { metadata: { app: 'x' } }), vol('v2', 'a', 20, { metadata: { app: 'x' } })]);
    const r = await solvePlacement(inv, balancePolicy('constraints:\n  pinnedVolumes: [v1]\n  antiAffinity:\n    - labelKey: app'), { now });
    expect(r.infeasibility!.conflicts.join('\n')).toContain('[antiAffinity] group app=x@pool: 2 volumes share h@b#a');
  });

  test('below the minimum gain the current placement stays, with a note', async () => {
    // moving v2 (2 GiB) evens a and b at 40%: a 4.8% gain, below the 5% asked for
    const inv = inventory([pool('a', { total: 100 }), pool('b', { total: 100 })], [vol('v1', 'a', 40), vol('v2', 'a', 2), vol('v3', 'b', 38)]);
    const r = await solvePlacement(inv, policy('objectives:\n  balance:\n    weight: 1\n  moveCost:\n    perGiB: 0\n  minGain: 5%'), { now });
    expect(moved(inv, r.placement)).toEqual([]);
    expect(r.notes.join('\n')).toMatch(/improves the objective by 4\.762%, below the minimum gain of 5%/);
  });

  test('a plan says why each volume moves', async () => {
    const inv = inventory([pool('a', { total: 100 }), pool('b', { total: 100 })], [vol('v1', 'a', 50), vol('v2', 'a', 40)]);
    const r = await solvePlacement(inv, balancePolicy('constraints:\n  capacity:\n    maxUtilization: 85%'), { now });
    expect(Object.keys(r.reasons)).toHaveLength(1);
    const [id, reason] = Object.entries(r.reasons)[0]!;
    expect(reason.serves).toContain('p0');
    expect(reason.reason).toMatch(/relieves h@b#a, over its capacity limit \(90\.0% → /);
    expect(r.placement[id]).toBe('h@b#b');
  });

  test('a hard time limit still yields a valid plan', async () => {
    const inv = generateFleet({ volumes: 3000, pools: 30, seed: 2 });
    const pol = fleetPolicy(inv);
    const r = await solvePlacement(inv, pol, { now, timeLimitMs: 1 });
    expect(r.violations).toEqual([]);
    expect(r.quality.timeLimited).toBe(true);
    expect(verifyPlacement(inv, pol, r.placement)).toEqual([]);
  });

  test('the HiGHS engine gives a valid plan and a bound', async () => {
    const inv = generateFleet({ volumes: 500, pools: 9, seed: 6 });
    const pol = fleetPolicy(inv);
    const r = await solvePlacement(inv, pol, { now, engine: 'highs', timeLimitMs: 30_000 });
    expect(r.violations).toEqual([]);
    expect(r.lp?.engine).toBe('highs');
    expect(r.quality.bound).not.toBeNull();
    const j = await solvePlacement(inv, pol, { now });
    expect(r.quality.bound!).toBeCloseTo(j.quality.bound!, 4);
  }, 30_000);
});

describe('explainVolume', () => {
  const inv = inventory([pool('a'), pool('b'), pool('c', { az: 'az2' })], [vol('v1', 'a', 10), vol('v2', 'a', 10, { snapshots: 1 })]);
  const pol = balancePolicy();
  test('a movable volume: where it may go, what closes the rest, what a move gains', async () => {
    const r = await solvePlacement(inv, pol, { now });
    const lines = explainVolume(inv, pol, r, 'v1');
    expect(lines[0]).toMatch(/^volume v1 \(v1\): 10 GiB/);
    expect(lines).toContain('eligible destinations (1): h@b#b');
    expect(lines).toContain('  h@b#c: pool h@b#c is in zone az2, the volume in az1');
    expect(lines.join('\n')).toMatch(/best single move: → h@b#b: objective change/);
  });
  test('a fixed volume says why it stays', async () => {
    const r = await solvePlacement(inv, pol, { now });
    expect(explainVolume(inv, pol, r, 'v2')).toContain('stays: has snapshots (1) [movable]');
  });
});

describe('scaling strategy', () => {
  test('a fleet too big for one dense LP is split into independent zones with pruned candidates', async () => {
    const { prunedModels } = await import('../../src/solver/solve.js');
    const { buildContext, aggregatesOf } = await import('../../src/solver/context.js');
    const inv = generateFleet({ volumes: 2000, pools: 27, seed: 8 });
    const ctx = buildContext(inv, fleetPolicy(inv));
    const models = prunedModels(ctx, aggregatesOf(ctx, ctx.current));
    expect(models).toHaveLength(3);
    for (const m of models) {
      expect(m.pruned).toBe(true);
      const zones = new Set(m.classes.map((c) => ctx.pools[c.cur]!.az));
      expect(zones.size).toBe(1);
      for (const c of m.classes) for (const p of c.dests) expect(ctx.pools[p]!.az).toBe(ctx.pools[c.cur]!.az);
    }
  });
});
