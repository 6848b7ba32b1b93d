import { describe, expect, test } from 'vitest';
import { fleetPolicy, generateFleet } from '../../src/solver/index.js';
import { poolUsedShare } from '../../src/model/index.js';
import { buildContext } from '../../src/solver/context.js';

describe('generateFleet', () => {
  test('same options, same fleet; another seed, another fleet', () => {
    const a = generateFleet({ volumes: 500, pools: 12, seed: 3 });
    expect(JSON.stringify(generateFleet({ volumes: 500, pools: 12, seed: 3 }))).toBe(JSON.stringify(a));
    expect(JSON.stringify(generateFleet({ volumes: 500, pools: 12, seed: 4 }))).not.toBe(JSON.stringify(a));
  });

  test('looks like a real fleet: types, zones, hot pools, prices, anti-affinity, fixed volumes', () => {
    const inv = generateFleet({ volumes: 3000, pools: 30, seed: 1 });
    expect(inv.volumes).toHaveLength(3000);
    expect(new Set(inv.volumes.map((v) => v.volumeType))).toEqual(new Set(['nvme', 'ssd', 'hdd']));
    expect(new Set(inv.pools.map((p) => p.availabilityZone)).size).toBe(3);
    const shares = inv.pools.map((p) => poolUsedShare(p));
    expect(shares.filter((s) => s > 0.85).length).toBeGreaterThan(0);
    expect(shares.filter((s) => s < 0.75).length).toBeGreaterThan(inv.pools.length / 2);
    expect(new Set(inv.pools.map((p) => p.costPerGiBMonth)).size).toBeGreaterThan(10);
    const groups = new Map<string, string[]>();
    for (const v of inv.volumes) if (v.metadata['replica-set']) groups.set(v.metadata['replica-set'], [...(groups.get(v.metadata['replica-set']) ?? []), v.pool]);
    expect(groups.size).toBeGreaterThan(5);
    for (const pools of groups.values()) expect(new Set(pools).size).toBe(pools.length);
    expect(inv.volumes.some((v) => v.snapshotCount > 0)).toBe(true);
    expect(inv.volumes.some((v) => v.attached)).toBe(true);
    // every volume sits on a pool its type accepts
    const ctx = buildContext(inv, fleetPolicy(inv));
    for (const it of ctx.items) expect(it.eligible.length).toBeGreaterThan(0);
  });

  test('a drained pool policy makes its movable volumes leave', () => {
    const inv = generateFleet({ volumes: 300, pools: 9, seed: 2 });
    const drained = inv.pools[1]!.name;
    const ctx = buildContext(inv, fleetPolicy(inv, { drainPool: drained, maxMoves: 5 }));
    const on = ctx.items.filter((it) => ctx.pools[it.cur]!.name === drained);
    expect(on.length).toBeGreaterThan(0);
    expect(on.every((it) => it.mustLeave)).toBe(true);
    expect(ctx.budgets.maxMoves).toBe(5);
  });

  test('rejects a fleet too small to mean anything', () => {
    expect(() => generateFleet({ volumes: 0, pools: 3, seed: 1 })).toThrow(/at least 1 volume and 3 pools/);
  });
});
