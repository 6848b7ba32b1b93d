import { describe, expect, test } from 'vitest';
import { GiB } from '../../src/shared/index.js';
import { gainPct, isExpired, makePlan, renderPlan, PLAN_FORMATS } from '../../src/planner/index.js';
import { basicPolicy, inventory, pool, solved, volume } from './planner-fixtures.js';

const OPTS = { planId: 'plan-test', nowMs: 1_700_000_100_000, policyDigest: 'sha256:test' };

function smallFleet() {
  const pools = [pool('ssd-a', 100, 80), pool('ssd-b', 100, 20), pool('hdd-a', 200, 50, { backend: 'capacity', location: 'chunked:ballast@capacity:hdd-a:4' })];
  const vols = [
    volume('v1', pools[0]!.name, 30),
    volume('v2', pools[0]!.name, 50, { attached: true }),
    volume('v3', pools[1]!.name, 20),
    volume('v4', pools[2]!.name, 50),
  ];
  return { pools, vols, inv: inventory(pools, vols) };
}

describe('makePlan', () => {
  test('moves carry kind, size, reason and serves; ids in execution order; totals and cost', () => {
    const { pools, inv } = smallFleet();
    const plan = makePlan(inv, basicPolicy(), solved(inv, { v1: pools[1]!.name, v2: pools[2]!.name }), OPTS);
    expect(plan.moves.map((m) => [m.id, m.volumeId, m.kind, m.sizeGiB, m.attached])).toEqual([
      ['m001', 'v2', 'live-copy', 50, true],
      ['m002', 'v1', 'driver-assisted', 30, false],
    ]);
    expect(plan.moves[1]!.reason).toContain('lowers the fullest pool');
    expect(plan.moves[1]!.serves).toEqual(['objective:balance']);
    expect(plan.totals).toEqual({
      moves: 2,
      bytes: 80 * GiB,
      // fast pools at 0.2, others at the default 0.05: before (30+50+20)*0.2 + 50*0.05, after 50 GiB leaves fast
      costPerMonthBefore: 22.5,
      costPerMonthAfter: 15,
    });
    expect(plan.pools.find((p) => p.pool === pools[0]!.name)).toMatchObject({ usedBeforeGiB: 80, usedAfterGiB: 0, limitShare: 0.9 });
    expect(plan.expiresAtMs - plan.createdAtMs).toBe(15 * 60_000);
    expect(plan.policies).toEqual(['base']);
  });

  test.each([
    { name: 'gain below minGain: empty plan with a note', before: 1, after: 0.995, minGain: '1%', serves: undefined, moves: 0, note: 'min-gain: the objective would improve by 0.5%' },
    { name: 'gain at minGain: plan kept', before: 1, after: 0.99, minGain: '1%', serves: undefined, moves: 1, note: null },
    { name: 'gain below minGain but a rule requires the move: kept with a note', before: 1, after: 0.999, minGain: '5%', serves: { v1: ['drain-ssd-a'] }, moves: 1, note: 'required by drain-ssd-a' },
    { name: 'minGain 0%: a plan without gain is still proposed', before: 1, after: 1, minGain: '0%', serves: undefined, moves: 1, note: null },
  ])('$name', ({ before, after, minGain, serves, moves, note }) => {
    const { pools, inv } = smallFleet();
    const plan = makePlan(inv, basicPolicy({ minGain }), solved(inv, { v1: pools[1]!.name }, { before, after, ...(serves ? { serves } : {}) }), OPTS);
    expect(plan.moves).toHaveLength(moves);
    if (note !== null) expect(plan.notes.join('\n')).toContain(note);
    if (moves === 0) expect(plan.quality.objectiveAfter).toBe(plan.quality.objectiveBefore);
  });

  test('a placement with violations is refused, never planned', () => {
    const { pools, inv } = smallFleet();
    const solve = { ...solved(inv, { v1: pools[1]!.name }), violations: [{ constraint: 'capacity', subject: pools[1]!.name, message: `pool ${pools[1]!.name}: needs 95 GiB, limit 90 GiB (90% of 100 GiB)` }] };
    expect(() => makePlan(inv, basicPolicy(), solve, OPTS)).toThrow(expect.objectContaining({ code: 'PLAN_REFUSED' }));
  });

  test('retypes: in place where the pool supports the new type; a migration is refused under migrationPolicy never', () => {
    const gold = pool('ssd-g', 100, 10, { caps: { tier: 'gold' } });
    const plainPool = pool('ssd-p', 100, 10);
    const inv = inventory([gold, plainPool], [volume('g1', gold.name, 10), volume('p1', plainPool.name, 10)]);
    const plan = makePlan(inv, basicPolicy(), solved(inv, {}), { ...OPTS, retypes: { g1: 'gold', p1: 'gold' } });
    expect(plan.moves.map((m) => [m.volumeId, m.kind, m.newVolumeType, m.from === m.to])).toEqual([['g1', 'retype-in-place', 'gold', true]]);
    expect(plan.totals.bytes).toBe(0);
    expect(plan.notes.join('\n')).toContain('does not support type gold');
  });

  test('a solver placement naming an unknown pool is an error, not a plan', () => {
    const { inv } = smallFleet();
    expect(() => makePlan(inv, basicPolicy(), solved(inv, { v1: 'nowhere@x#y' }), OPTS)).toThrow(/does not have/);
  });

  test('infeasibility and fixed volumes become notes', () => {
    const { inv } = smallFleet();
    const solve = {
      ...solved(inv, {}),
      fixed: [
        { volumeId: 'v2', reason: 'pinned' },
        { volumeId: 'v3', reason: 'pinned' },
        { volumeId: 'v4', reason: 'has snapshots' },
      ],
      infeasibility: { conflicts: ['pool a: needs 912 GiB, limit 870 GiB (85% of 1024 GiB)'], relaxations: ['raise maxUtilization on a to 90%'] },
    };
    const plan = makePlan(inv, basicPolicy(), solve, OPTS);
    expect(plan.moves).toEqual([]);
    expect(plan.notes).toEqual([
      'infeasible: pool a: needs 912 GiB, limit 870 GiB (85% of 1024 GiB)',
      'closest relaxation: raise maxUtilization on a to 90%',
      '3 volume(s) cannot move: 1 has snapshots, 2 pinned',
    ]);
  });

  test('expiry', () => {
    const { inv } = smallFleet();
    const plan = makePlan(inv, basicPolicy(), solved(inv, {}), OPTS);
    expect(isExpired(plan, plan.expiresAtMs - 1)).toBe(false);
    expect(isExpired(plan, plan.expiresAtMs)).toBe(true);
  });

  test('gainPct', () => {
    expect(gainPct({ objectiveBefore: 2, objectiveAfter: 1 })).toBe(50);
    expect(gainPct({ objectiveBefore: 1, objectiveAfter: 1.5 })).toBe(0);
    expect(gainPct({ objectiveBefore: 0, objectiveAfter: -1 })).toBe(Infinity);
  });

  test.each(PLAN_FORMATS)('%s rendering is byte-identical for the same inputs', (format) => {
    const make = () => {
      const { pools, inv } = smallFleet();
      return renderPlan(makePlan(inv, basicPolicy(), solved(inv, { v1: pools[1]!.name, v2: pools[2]!.name }), OPTS), format);
    };
    const a = make();
    expect(a.length).toBeGreaterThan(200);
    expect(make()).toBe(a);
    expect(a.endsWith('\n')).toBe(true);
  });
});

describe('concurrency limits of 0', () => {
  test.each([
    { name: 'total 0: nothing will run', total: 0, note: 'allows no move at all' },
    { name: 'in-use 0 with an attached move', total: 4, inUse: 0, note: 'will not start the moves of attached volumes' },
  ])('$name: the plan is still measured and says so', ({ total, inUse, note }) => {
    const { pools, inv } = smallFleet();
    const policy = basicPolicy({ total, ...(inUse !== undefined ? { inUse } : {}) });
    const plan = makePlan(inv, policy, solved(inv, { v1: pools[1]!.name, v2: pools[2]!.name }), OPTS);
    expect(plan.moves).toHaveLength(2);
    expect(plan.notes.join('\n')).toContain(note);
  });
});
