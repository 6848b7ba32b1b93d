import { describe, expect, test } from 'vitest';
import { aggregatesOf, buildContext } from '../../src/solver/context.js';
import { Pricing, State } from '../../src/solver/engine/state.js';
import { evaluateIndices } from '../../src/solver/evaluate.js';
import { evaluatePlacement, generateFleet, fleetPolicy, OBJECTIVES } from '../../src/solver/index.js';
import { mulberry32 } from '../../src/shared/index.js';
import { inventory, policy, pool, vol } from './solver-fixtures.js';

const pools = () => [
  pool('a', { total: 100, price: 0.2, ratedIops: 1000, latencyP95Ms: 40 }),
  pool('b', { total: 100, price: 0.05, ratedIops: 1000, latencyP95Ms: 10 }),
];
const vols = () => [vol('v1', 'a', 60, { iops: 600 }), vol('v2', 'b', 20, { iops: 100 })];
const obj = (body: string) => policy(`objectives:\n${body}\n  minGain: 0%`);

// Each term on the same two-pool fleet, before and after moving v1 (60 GiB, 600 IOPS) from a to b.
const cases = [
  { name: 'balance max by capacity', term: 'balance', pol: obj('  balance:\n    weight: 1'), before: 0.6, after: 0.8 },
  { name: 'balance spread by capacity', term: 'balance', pol: obj('  balance:\n    weight: 1\n    metric: spread'), before: 0.4, after: 0.8 },
  { name: 'balance max by load', term: 'balance', pol: obj('  balance:\n    weight: 1\n    by: load'), before: 0.6, after: 0.7 },
  { name: 'cost over today\'s', term: 'cost', pol: obj('  cost:\n    weight: 1'), before: 1, after: (80 * 0.05) / (60 * 0.2 + 20 * 0.05) },
  { name: 'performance iops', term: 'performance', pol: obj('  performance:\n    weight: 1\n    metrics: [iops]'), before: 0.6, after: 0.7 },
  // a is at 40 ms against a 20 ms target (excess 1), b at 10 ms (excess 0): share of IOPS on a, weighted.
  { name: 'performance latency', term: 'performance', pol: obj('  performance:\n    weight: 1\n    metrics: [latencyP95]\n    targetLatencyP95: 20ms'), before: 600 / 700, after: 0 },
  { name: 'move cost', term: 'moveCost', pol: obj('  moveCost:\n    perGiB: 0.5'), before: 0, after: 60 },
];

describe('objective terms', () => {
  test('the registry names the policy language terms', () => {
    expect(OBJECTIVES.map((o) => o.name)).toEqual(['balance', 'cost', 'performance', 'moveCost', 'unmet']);
  });

  test.each(cases)('$name', ({ term, pol, before, after }) => {
    const e = evaluatePlacement(inventory(pools(), vols()), pol, { v1: 'h@b#b' });
    const t = e.terms.find((x) => x.name === term)!;
    expect(t.before).toBeCloseTo(before, 9);
    expect(t.after).toBeCloseTo(after, 9);
  });

  test('unmet counts GiB left on a drained pool and GiB over an exceeded limit', () => {
    const inv = inventory([pool('a', { total: 100 }), pool('b', { total: 100 })], [vol('v1', 'a', 50), vol('v2', 'a', 45), vol('v3', 'b', 5)]);
    const pol = policy('constraints:\n  capacity:\n    maxUtilization: 90%\n  drainPools: ["h@b#b"]');
    const e = evaluatePlacement(inv, pol, {});
    expect(e.terms.find((t) => t.name === 'unmet')!.before).toBeCloseTo(5 + 5, 9);
  });
});

describe('the fast evaluator agrees with the from-scratch one', () => {
  // 9 pools: the fullest/emptiest lists hold every pool; 40: they are kept incrementally
  test.each([9, 40])('State.total and State.delta match evaluateIndices on random moves (%i pools)', (pools) => {
    const inv = generateFleet({ volumes: 300, pools, seed: 3, drain: true });
    const pol = policy(
      'constraints:\n  capacity:\n    maxUtilization: 85%\n  allowInUse: true\n  performance:\n    maxIopsUtilization: 90%\n  drainPools: ["node0@std#p0001"]',
      'priority: 5\nobjectives:\n  balance:\n    weight: 1\n    metric: spread\n    by: both\n  cost:\n    weight: 0.5\n  performance:\n    weight: 0.3\n  moveCost:\n    perGiB: 0.00001\n  minGain: 0%',
    );
    const ctx = buildContext(inv, pol);
    const s = new State(ctx, new Pricing(ctx));
    expect(s.total()).toBeCloseTo(evaluateIndices(ctx, ctx.current).total, 9);
    const rnd = mulberry32(7);
    let checked = 0;
    for (let k = 0; k < 300 && checked < 60; k++) {
      const i = Math.floor(rnd() * ctx.items.length);
      const it = ctx.items[i]!;
      if (it.eligible.length === 0) continue;
      const to = it.eligible[Math.floor(rnd() * it.eligible.length)]!;
      if (to === s.assign[i]) continue;
      const before = s.total();
      const d = s.delta(i, to);
      s.apply(i, to);
      expect(s.total() - before).toBeCloseTo(d, 7);
      expect(s.total()).toBeCloseTo(evaluateIndices(ctx, s.placement()).total, 7);
      expect(s.movedGiB).toBeCloseTo(aggregatesOf(ctx, s.placement()).movedGiB, 9);
      checked++;
    }
    expect(checked).toBe(60);
  });

  test('fleetPolicy compiles and prices every pool', () => {
    const inv = generateFleet({ volumes: 50, pools: 6, seed: 1 });
    const ctx = buildContext(inv, fleetPolicy(inv));
    expect(ctx.pools.every((p) => p.price > 0)).toBe(true);
  });
});
