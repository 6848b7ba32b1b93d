import { describe, expect, test } from 'vitest';
import type { Inventory, Plan } from '../../src/model/index.js';
import { makePlan, simulatePlan, usableGiB } from '../../src/planner/index.js';
import type { CompiledPolicy } from '../../src/policy/index.js';
import { mulberry32 } from '../../src/shared/index.js';
import { basicPolicy, inventory, pool, solved, volume } from './planner-fixtures.js';

const OPTS = { planId: 'plan-test', nowMs: 1_700_000_100_000, policyDigest: 'sha256:test' };

const prng = mulberry32;

/** Highest GiB each pool may hold at any moment: its limit, or where it starts if already above. */
function ceilings(inv: Inventory, policy: CompiledPolicy): Map<string, number> {
  const limit = policy.rules[0]!.constraints.maxUtilizationPct! / 100;
  return new Map(inv.pools.map((p) => [p.name, Math.max(p.allocatedGiB, Math.min(limit * usableGiB(p), p.capacity.totalCapacityGb as number))]));
}

/**
 * Executes the plan independently of the planner: any move whose dependencies have ended may
 * start; a start reserves the destination, an end frees the source. `pickEnd` chooses which
 * running move ends next; every start is checked against every pool's ceiling.
 */
function execute(plan: Plan, inv: Inventory, ceil: Map<string, number>, maxRunning: number, pickEnd: (running: number[]) => number): string[] {
  const used = new Map(inv.pools.map((p) => [p.name, p.allocatedGiB]));
  const ended = new Set<string>();
  const started = new Set<string>();
  let running: number[] = [];
  const breaches: string[] = [];
  while (ended.size < plan.moves.length) {
    for (let i = 0; i < plan.moves.length && running.length < maxRunning; i++) {
      const m = plan.moves[i]!;
      if (started.has(m.id) || !m.dependsOn.every((d) => ended.has(d))) continue;
      started.add(m.id);
      running.push(i);
      if (m.from !== m.to) {
        used.set(m.to, used.get(m.to)! + m.sizeGiB);
        if (used.get(m.to)! > ceil.get(m.to)! + 1e-9) breaches.push(`${m.id} start: ${m.to} at ${used.get(m.to)} > ${ceil.get(m.to)}`);
      }
    }
    if (running.length === 0) throw new Error('stalled');
    const i = pickEnd(running);
    running = running.filter((r) => r !== i);
    const m = plan.moves[i]!;
    ended.add(m.id);
    if (m.from !== m.to) used.set(m.from, used.get(m.from)! - m.sizeGiB);
  }
  return breaches;
}

/** Many executions: adversarial (outgoing moves end last, everything starts early) and random. */
function breachesOf(plan: Plan, inv: Inventory, policy: CompiledPolicy): string[] {
  const ceil = ceilings(inv, policy);
  const out: string[] = [];
  for (const p of inv.pools) {
    // Adversary for pool p: end every move not leaving p first, so p is freed as late as possible.
    out.push(...execute(plan, inv, ceil, Infinity, (running) => running.find((i) => plan.moves[i]!.from !== p.name) ?? running[0]!));
  }
  const rnd = prng(7);
  for (let k = 0; k < 30; k++) {
    out.push(...execute(plan, inv, ceil, 1 + Math.floor(rnd() * 5), (running) => running[Math.floor(rnd() * running.length)]!));
  }
  return [...new Set(out)];
}

/** The final pool of each moved volume. */
const finalPools = (plan: Plan) => Object.fromEntries(plan.moves.map((m) => [m.volumeId, m.to]));

describe('ordering keeps every pool under its headroom at every moment', () => {
  test('chain: A is full and drains to B, which must first drain to C', () => {
    const pools = [pool('a', 100, 90), pool('b', 100, 90), pool('c', 100, 0)];
    const vols = [volume('a1', pools[0]!.name, 40), volume('a2', pools[0]!.name, 50), volume('b1', pools[1]!.name, 40), volume('b2', pools[1]!.name, 50)];
    const inv = inventory(pools, vols);
    const policy = basicPolicy({ maxUtil: '90%' });
    // a1 -> b (b has no room until b1, b2 leave for c)
    const plan = makePlan(inv, policy, solved(inv, { a1: pools[1]!.name, b1: pools[2]!.name, b2: pools[2]!.name }), OPTS);
    expect(plan.moves.map((m) => `${m.id} ${m.volumeId}`)).toEqual(['m001 b2', 'm002 a1', 'm003 b1']);
    expect(plan.moves.map((m) => m.dependsOn)).toEqual([[], ['m001'], []]);
    expect(breachesOf(plan, inv, policy)).toEqual([]);
    // The same plan with its dependencies removed would breach: the checker can fail.
    const unsafe: Plan = { ...plan, moves: [plan.moves[1]!, plan.moves[0]!, plan.moves[2]!].map((m) => ({ ...m, dependsOn: [] })) };
    expect(breachesOf(unsafe, inv, policy).length).toBeGreaterThan(0);
  });

  test('swap cycle between two full pools is staged through a pool with room', () => {
    // a: 90 of 90 allowed, b: 85; x (30) a->b needs y (25) gone from b, y needs x gone from a.
    const pools = [pool('a', 100, 90), pool('b', 100, 85), pool('c', 100, 60)];
    const vols = [volume('x', pools[0]!.name, 30), volume('y', pools[1]!.name, 25), volume('fa', pools[0]!.name, 60), volume('fb', pools[1]!.name, 60), volume('fc', pools[2]!.name, 60)];
    const inv = inventory(pools, vols);
    const policy = basicPolicy({ maxUtil: '90%' });
    const plan = makePlan(inv, policy, solved(inv, { x: pools[1]!.name, y: pools[0]!.name }), OPTS);
    expect(breachesOf(plan, inv, policy)).toEqual([]);
    // y (the smaller) is staged on c, then x goes to b, then y's second hop to a.
    expect(plan.moves.map((m) => `${m.volumeId} ${m.from.split('#')[1]}->${m.to.split('#')[1]}`)).toEqual(['y b->c', 'x a->b', 'y c->a']);
    expect(plan.moves[2]!.dependsOn).toEqual(['m001', 'm002']);
    expect(finalPools(plan)).toEqual({ x: pools[1]!.name, y: pools[0]!.name });
    expect(plan.notes.some((n) => n.includes('staging pool'))).toBe(true);
  });

  test.each([
    { name: 'no pool to stage on', extraPool: false, maxMoves: undefined },
    { name: 'no spare move in the budget for a staging hop', extraPool: true, maxMoves: 2 },
  ])('swap cycle, $name: the moves are dropped with notes, never an unsafe order', ({ extraPool, maxMoves }) => {
    const pools = [pool('a', 100, 90), pool('b', 100, 85), ...(extraPool ? [pool('c', 100, 0)] : [])];
    const vols = [volume('x', pools[0]!.name, 30), volume('y', pools[1]!.name, 25), volume('fa', pools[0]!.name, 60), volume('fb', pools[1]!.name, 60)];
    const inv = inventory(pools, vols);
    const policy = basicPolicy({ maxUtil: '90%', ...(maxMoves !== undefined ? { maxMoves } : {}) });
    const plan = makePlan(inv, policy, solved(inv, { x: pools[1]!.name, y: pools[0]!.name }), OPTS);
    expect(plan.moves).toEqual([]);
    expect(plan.notes.filter((n) => n.startsWith('dropped:'))).toHaveLength(2);
    expect(plan.pools.map((p) => p.peakShare)).toEqual(pools.map((p) => p.allocatedGiB / 100));
  });

  test('random fleets: every execution of every plan stays under every ceiling', () => {
    const rnd = prng(42);
    let checkedMoves = 0;
    for (let fleet = 0; fleet < 25; fleet++) {
      const nPools = 3 + Math.floor(rnd() * 4);
      const pools = Array.from({ length: nPools }, (_, i) => pool(`p${i}`, 100, 0));
      const vols = [];
      const used = new Array<number>(nPools).fill(0);
      for (let i = 0; i < 25; i++) {
        const size = 1 + Math.floor(rnd() * 15);
        const at = Math.floor(rnd() * nPools);
        if (used[at]! + size > 88) continue;
        used[at]! += size;
        vols.push(volume(`v${String(i).padStart(2, '0')}`, pools[at]!.name, size));
      }
      const filled = pools.map((p, i) => pool(p.name.split('#')[1]!, 100, used[i]!));
      // A random target placement that fits every pool's final limit (90%).
      const target = [...used.map(() => 0)];
      const moves: Record<string, string> = {};
      for (const v of vols) {
        const want = Math.floor(rnd() * nPools);
        const dest = target[want]! + v.sizeGiB <= 90 ? want : filled.findIndex((p) => p.name === v.pool);
        target[dest]! += v.sizeGiB;
        if (filled[dest]!.name !== v.pool) moves[v.id] = filled[dest]!.name;
      }
      const inv = inventory(filled, vols);
      const policy = basicPolicy({ maxUtil: '90%' });
      const plan = makePlan(inv, policy, solved(inv, moves), OPTS);
      checkedMoves += plan.moves.length;
      expect(breachesOf(plan, inv, policy), `fleet ${fleet}`).toEqual([]);
      for (const p of plan.pools) expect(p.peakShare, p.pool).toBeLessThanOrEqual(Math.max(0.9, p.usedBeforeGiB / p.capacityGiB) + 1e-9);
    }
    expect(checkedMoves).toBeGreaterThan(100);
  });
});

describe('simulatePlan: peak shares under the concurrency limits', () => {
  const pools = [
    { name: 'A', backend: 'x', usedGiB: 50, usableGiB: 100 },
    { name: 'B', backend: 'y', usedGiB: 60, usableGiB: 100 },
    { name: 'C', backend: 'z', usedGiB: 0, usableGiB: 100 },
  ];
  // m001: B -> C (30 GiB), m002: A -> B (20 GiB)
  const moves = [
    { from: 'B', to: 'C', sizeGiB: 30, attached: false, dependsOn: [] },
    { from: 'A', to: 'B', sizeGiB: 20, attached: false, dependsOn: [] },
  ];
  const limits = (total: number) => ({ maxConcurrentTotal: total, maxConcurrentPerPool: 2, maxConcurrentPerBackend: 2, maxConcurrentInUse: 1 });
  test.each([
    { name: 'both at once: B holds its 60 GiB plus the incoming 20', total: 2, deps: [[], []], wantB: 0.8 },
    { name: 'one at a time: B is freed of 30 before the 20 arrive', total: 1, deps: [[], []], wantB: 0.6 },
    { name: 'a dependency serializes them whatever the limit', total: 2, deps: [[], [0]], wantB: 0.6 },
  ])('$name', ({ total, deps, wantB }) => {
    const sim = simulatePlan(moves.map((m, i) => ({ ...m, dependsOn: deps[i]! })), pools, limits(total));
    expect(sim.peakShare.get('B')).toBeCloseTo(wantB, 9);
    expect(sim.peakShare.get('C')).toBeCloseTo(0.3, 9);
    expect(sim.peakShare.get('A')).toBeCloseTo(0.5, 9);
  });
});

describe('pools over their limit before the plan', () => {
  test('a pool over its limit that only sheds volumes is fine, even if it stays over', () => {
    const pools = [pool('a', 100, 98), pool('b', 100, 85)];
    const vols = [volume('a1', pools[0]!.name, 3), volume('a2', pools[0]!.name, 95), volume('b1', pools[1]!.name, 85)];
    const inv = inventory(pools, vols);
    const policy = basicPolicy({ maxUtil: '90%' });
    const plan = makePlan(inv, policy, solved(inv, { a1: pools[1]!.name }), OPTS);
    expect(plan.moves.map((m) => m.volumeId)).toEqual(['a1']);
    expect(plan.pools.map((p) => [p.usedAfterGiB, p.peakShare])).toEqual([
      [95, 0.98],
      [88, 0.88],
    ]);
    expect(breachesOf(plan, inv, policy)).toEqual([]);
  });

  test('a move into a pool that stays over its limit is dropped, with the excess in the note', () => {
    const pools = [pool('a', 100, 98), pool('b', 100, 10)];
    const vols = [volume('a1', pools[0]!.name, 50), volume('a2', pools[0]!.name, 48), volume('b1', pools[1]!.name, 10)];
    const inv = inventory(pools, vols);
    const policy = basicPolicy({ maxUtil: '90%' });
    // b1 -> a while nothing leaves a: it would end at 98 + 10 = 108 GiB, 18 over its 90 GiB limit.
    const plan = makePlan(inv, policy, solved(inv, { b1: pools[0]!.name }), OPTS);
    expect(plan.moves).toEqual([]);
    expect(plan.notes.join('\n')).toMatch(/dropped: vol-b1 ballast@fast#b -> ballast@fast#a \(10 GiB\): ballast@fast#a would end 18 GiB over its headroom/);
  });
});

describe('scale', () => {
  test('5,000 moves among 50 pools of one back-end (every move waits on the back-end limit) plan in seconds', () => {
    const nPools = 50;
    const pools = Array.from({ length: nPools }, (_, i) => pool(`p${String(i).padStart(2, '0')}`, 100_000, 0));
    const vols = Array.from({ length: 10_000 }, (_, i) => volume(`v${String(i).padStart(5, '0')}`, pools[i % nPools]!.name, 1 + (i % 40)));
    const used = new Map<string, number>();
    for (const v of vols) used.set(v.pool, (used.get(v.pool) ?? 0) + v.sizeGiB);
    const filled = pools.map((p) => pool(p.name.split('#')[1]!, 100_000, used.get(p.name)!));
    const inv = inventory(filled, vols);
    const moves: Record<string, string> = {};
    vols.forEach((v, i) => {
      const to = filled[(i * 7 + 3) % nPools]!.name;
      if (i % 2 === 0 && to !== v.pool) moves[v.id] = to;
    });
    const t0 = performance.now();
    const plan = makePlan(inv, basicPolicy({ maxUtil: '90%', total: 8, perPool: 2 }), solved(inv, moves), OPTS);
    const ms = performance.now() - t0;
    expect(plan.moves.length).toBe(Object.keys(moves).length);
    expect(plan.moves.length).toBeGreaterThan(4_000);
    expect(ms).toBeLessThan(5_000);
  });
});
