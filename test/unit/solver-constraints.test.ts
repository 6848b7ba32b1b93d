import { describe, expect, test } from 'vitest';
import { buildContext } from '../../src/solver/context.js';
import { CONSTRAINTS, verifyPlacement } from '../../src/solver/index.js';
import type { Inventory } from '../../src/model/index.js';
import type { CompiledPolicy } from '../../src/policy/index.js';
import { balancePolicy, inventory, pool, vol } from './solver-fixtures.js';

const twoPools = (extraA = {}, extraB = {}) => [pool('a', extraA), pool('b', extraB)];

// Each constraint kind: a scenario whose current placement is valid, and a deliberately broken
// placement the verifier must catch, naming that constraint.
const broken: { constraint: string; inv: Inventory; pol: CompiledPolicy; move: Record<string, string>; currentInvalid?: boolean }[] = [
  {
    constraint: 'movable',
    inv: inventory(twoPools(), [vol('v1', 'a', 10, { snapshots: 1 })]),
    pol: balancePolicy(),
    move: { v1: 'h@b#b' },
  },
  {
    constraint: 'compatibility',
    inv: inventory(twoPools({ caps: { tier: 'gold' } }, { caps: { tier: 'iron' } }), [vol('v1', 'a', 10, { type: 'gold' })], { gold: { 'capabilities:tier': 'gold' } }),
    pol: balancePolicy(),
    move: { v1: 'h@b#b' },
  },
  {
    constraint: 'compatibility',
    inv: inventory(twoPools({}, { state: 'down' }), [vol('v1', 'a', 10)]),
    pol: balancePolicy(),
    move: { v1: 'h@b#b' },
  },
  {
    constraint: 'capacity',
    inv: inventory(twoPools({}, { total: 100 }), [vol('v1', 'a', 90)]),
    pol: balancePolicy('constraints:\n  capacity:\n    maxUtilization: 80%'),
    move: { v1: 'h@b#b' },
  },
  {
    constraint: 'capacity',
    inv: inventory(twoPools({ total: 1000 }, { total: 100 }), [vol('v1', 'a', 150)]),
    pol: balancePolicy(),
    move: { v1: 'h@b#b' },
  },
  {
    constraint: 'performance',
    inv: inventory(twoPools({ ratedIops: 2000 }, { ratedIops: 1000 }), [vol('v1', 'a', 10, { iops: 800 })]),
    pol: balancePolicy('constraints:\n  performance:\n    maxIopsUtilization: 50%'),
    move: { v1: 'h@b#b' },
  },
  {
    constraint: 'drainPools',
    inv: inventory([pool('a'), pool('b'), pool('c')], [vol('v1', 'a', 10)]),
    pol: balancePolicy('constraints:\n  drainPools: ["h@b#c"]'),
    move: { v1: 'h@b#c' },
  },
  {
    constraint: 'drainPools',
    inv: inventory(twoPools(), [vol('v1', 'a', 10), vol('v2', 'b', 5)]),
    pol: balancePolicy('constraints:\n  drainPools: ["h@b#a"]'),
    move: {},
    currentInvalid: true,
  },
  {
    constraint: 'excludeDestinations',
    inv: inventory(twoPools(), [vol('v1', 'a', 10)]),
    pol: balancePolicy('constraints:\n  excludeDestinations: ["h@b#b"]'),
    move: { v1: 'h@b#b' },
  },
  {
    constraint: 'pinnedVolumes',
    inv: inventory(twoPools(), [vol('v1', 'a', 10)]),
    pol: balancePolicy('constraints:\n  pinnedVolumes: [v1]'),
    move: { v1: 'h@b#b' },
  },
  {
    constraint: 'excludedVolumes',
    inv: inventory(twoPools(), [vol('v1', 'a', 10)]),
    pol: balancePolicy('constraints:\n  excludedVolumes: [v1]'),
    move: { v1: 'h@b#b' },
  },
  {
    constraint: 'keepWithinAvailabilityZone',
    inv: inventory(twoPools({ az: 'az1' }, { az: 'az2' }), [vol('v1', 'a', 10)]),
    pol: balancePolicy(),
    move: { v1: 'h@b#b' },
  },
  {
    constraint: 'allowInUse',
    inv: inventory(twoPools(), [vol('v1', 'a', 10, { attached: true })]),
    pol: balancePolicy(),
    move: { v1: 'h@b#b' },
  },
  {
    constraint: 'antiAffinity',
    inv: inventory(twoPools(), [vol('v1', 'a', 10, { metadata: { app: 'x' } }), vol('v2', 'b', 10, { metadata: { app: 'x' } })]),
    pol: balancePolicy('constraints:\n  antiAffinity:\n    - labelKey: app'),
    move: { v2: 'h@b#a' },
  },
  {
    constraint: 'affinity',
    inv: inventory(twoPools(), [vol('v1', 'a', 10, { metadata: { app: 'x' } }), vol('v2', 'a', 10, { metadata: { app: 'x' } })]),
    pol: balancePolicy('constraints:\n  affinity:\n    - labelKey: app'),
    move: { v2: 'h@b#b' },
  },
  {
    constraint: 'budgets',
    inv: inventory(twoPools(), [vol('v1', 'a', 10), vol('v2', 'a', 10)]),
    pol: balancePolicy('constraints:\n  budgets:\n    maxMoves: 1'),
    move: { v1: 'h@b#b', v2: 'h@b#b' },
  },
  {
    constraint: 'budgets',
    inv: inventory(twoPools(), [vol('v1', 'a', 10), vol('v2', 'a', 10)]),
    pol: balancePolicy('constraints:\n  budgets:\n    maxBytes: 15GiB'),
    move: { v1: 'h@b#b', v2: 'h@b#b' },
  },
];

describe('verifier', () => {
  test('every constraint plugin has a broken-placement case', () => {
    expect(new Set(broken.map((b) => b.constraint))).toEqual(new Set(CONSTRAINTS.map((c) => c.name)));
  });

  test.each(broken.map((b, i) => ({ ...b, name: `${b.constraint} #${i}` })))('$name: current placement valid, broken placement caught', ({ constraint, inv, pol, move, currentInvalid }) => {
    if (!currentInvalid) expect(verifyPlacement(inv, pol, {})).toEqual([]);
    const v = verifyPlacement(inv, pol, move);
    expect(v.map((x) => x.constraint)).toContain(constraint);
    for (const x of v) expect(x.message.length).toBeGreaterThan(10);
  });

  test('a capacity violation is stated with numbers', () => {
    const inv = inventory([pool('a', { total: 1024 }), pool('b', { total: 1024 })], [vol('v1', 'a', 912)]);
    const v = verifyPlacement(inv, balancePolicy('constraints:\n  capacity:\n    maxUtilization: 85%'), { v1: 'h@b#b' });
    expect(v.find((x) => x.constraint === 'capacity')?.message).toBe('pool h@b#b: needs 912 GiB, limit 870.4 GiB (85% of 1024 GiB)');
  });

  test('a placement naming an unknown pool is refused', () => {
    const inv = inventory(twoPools(), [vol('v1', 'a', 10)]);
    expect(verifyPlacement(inv, balancePolicy(), { v1: 'h@b#zz' }).map((x) => x.constraint)).toEqual(['compatibility']);
  });
});

// Destination filters and fixed volumes, plugin by plugin.
describe('eligibility and fixed volumes', () => {
  const cases = [
    { name: 'movable: snapshots fix a volume', vols: [vol('v1', 'a', 5, { snapshots: 2 })], pol: '', fixed: 'has snapshots (2)' },
    { name: 'movable: error status fixes a volume', vols: [vol('v1', 'a', 5, { status: 'error' })], pol: '', fixed: 'status error' },
    { name: 'allowInUse: attached stays by default', vols: [vol('v1', 'a', 5, { attached: true })], pol: '', fixed: 'in-use not allowed' },
    { name: 'allowInUse: attached may move when allowed', vols: [vol('v1', 'a', 5, { attached: true })], pol: 'constraints:\n  allowInUse: true', eligible: ['h@b#b', 'h@c#c'] },
    { name: 'pinnedVolumes: by name glob', vols: [vol('v1', 'a', 5, { name: 'db-1' })], pol: 'constraints:\n  pinnedVolumes: ["db-*"]', fixed: 'pinned' },
    { name: 'excludedVolumes', vols: [vol('v1', 'a', 5)], pol: 'constraints:\n  excludedVolumes: [v1]', fixed: 'excluded' },
    { name: 'compatibility: extra specs select pools', vols: [vol('v1', 'a', 5, { type: 'gold' })], pol: '', eligible: ['h@c#c'] },
    { name: 'keepWithinAvailabilityZone false opens other zones', vols: [vol('v1', 'a', 5)], pol: 'constraints:\n  keepWithinAvailabilityZone: false', eligible: ['h@b#b', 'h@b#d', 'h@c#c'] },
    { name: 'drainPools closes a destination', vols: [vol('v1', 'a', 5)], pol: 'constraints:\n  drainPools: ["h@b#b"]', eligible: ['h@c#c'] },
    { name: 'excludeDestinations closes a destination', vols: [vol('v1', 'a', 5)], pol: 'constraints:\n  excludeDestinations: ["h@c#*"]', eligible: ['h@b#b'] },
    {
      name: 'affinity within backend keeps members on their back-end',
      vols: [vol('v1', 'a', 5, { metadata: { app: 'x' } }), vol('v2', 'h@b#b', 5, { metadata: { app: 'x' } })],
      pol: 'constraints:\n  affinity:\n    - labelKey: app\n      within: backend',
      eligible: ['h@b#b'],
    },
  ];
  const pools = () => [pool('a'), pool('b'), pool('c', { backend: 'c', caps: { tier: 'gold' } }), pool('d', { az: 'az2' })];
  test.each(cases)('$name', ({ vols, pol, fixed, eligible }) => {
    const ctx = buildContext(inventory(pools(), vols, { gold: { 'capabilities:tier': 'gold' } }), balancePolicy(pol));
    const v1 = ctx.vols.find((v) => v.v.id === 'v1')!;
    if (fixed) {
      expect(ctx.fixedReason.get(v1.idx)?.reason).toBe(fixed);
      return;
    }
    const item = ctx.items[ctx.itemOfVol[v1.idx]!]!;
    expect(item.eligible.map((p) => ctx.pools[p]!.name)).toEqual(eligible);
  });

  test('affinity within pool makes one item of the group', () => {
    const ctx = buildContext(
      inventory([pool('a'), pool('b')], [vol('v1', 'a', 5, { metadata: { app: 'x' } }), vol('v2', 'a', 7, { metadata: { app: 'x' } }), vol('v3', 'a', 1)]),
      balancePolicy('constraints:\n  affinity:\n    - labelKey: app'),
    );
    expect(ctx.items.map((it) => ({ vols: it.vols.length, gib: it.gib }))).toEqual([{ vols: 2, gib: 12 }, { vols: 1, gib: 1 }]);
  });

  test('an over-subscribed pool (negative virtual free) takes nothing, and is no violation when nothing arrives', () => {
    const inv = inventory(twoPools({}, { total: 100 }), [vol('v1', 'a', 10)]);
    const over = { ...inv, pools: inv.pools.map((p) => (p.name === 'h@b#b' ? { ...p, capacity: { ...p.capacity, provisionedCapacityGb: 150 } } : p)) };
    const pol = balancePolicy();
    expect(verifyPlacement(over, pol, { v1: 'h@b#a' })).toEqual([]);
    const moved = verifyPlacement(over, pol, { v1: 'h@b#b' });
    expect(moved.map((v) => v.constraint)).toContain('capacity');
    expect(moved.find((v) => v.constraint === 'capacity')!.message).toMatch(/h@b#b: 10 GiB of thin volumes arrive, capacity filter allows 0 GiB \(virtual free -50 GiB\)/);
  });

  test('capacity and performance limits carry the policy numbers', () => {
    const ctx = buildContext(
      inventory([pool('a', { total: 1000, reserved: 10, ratedIops: 5000 })], [vol('v1', 'a', 5)]),
      balancePolicy('constraints:\n  capacity:\n    maxUtilization: 80%\n  performance:\n    maxIopsUtilization: 70%\n    minFreeIops: 2000'),
    );
    const byRes = Object.fromEntries(ctx.limits.map((l) => [`${l.plugin}/${l.resource}`, l.limit]));
    expect(byRes).toEqual({ 'capacity/gib': 720, 'capacity/inGib': 895, 'performance/iops': 3000 });
  });
});
