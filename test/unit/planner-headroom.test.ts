import { describe, expect, test } from 'vitest';
import { capacityFilter, type PoolCapacity } from '../../src/model/index.js';
import { cinderRoomGiB, poolRoom } from '../../src/planner/index.js';
import { basicPolicy, pool } from './planner-fixtures.js';

const cap = (o: Partial<PoolCapacity>): PoolCapacity => ({
  totalCapacityGb: 100,
  freeCapacityGb: 60,
  provisionedCapacityGb: 40,
  maxOverSubscriptionRatio: 1,
  reservedPercentage: 0,
  thinProvisioningSupport: false,
  thickProvisioningSupport: true,
  ...o,
});

describe('cinderRoomGiB is the edge of Cinder\'s capacity filter', () => {
  test.each([
    { name: 'thick pool', c: cap({}), thin: false },
    { name: 'thick pool with 10% reserved', c: cap({ reservedPercentage: 10 }), thin: false },
    { name: 'thick pool whose free is below total less provisioned', c: cap({ freeCapacityGb: 30 }), thin: false },
    { name: 'thin pool, over-subscription 2', c: cap({ thinProvisioningSupport: true, thickProvisioningSupport: false, maxOverSubscriptionRatio: 2, provisionedCapacityGb: 150 }), thin: true },
    { name: 'thin pool, thick request', c: cap({ thinProvisioningSupport: true, maxOverSubscriptionRatio: 20, provisionedCapacityGb: 70, freeCapacityGb: 50 }), thin: false },
    { name: 'thin pool, auto ratio', c: cap({ thinProvisioningSupport: true, maxOverSubscriptionRatio: 'auto', provisionedCapacityGb: 80, freeCapacityGb: 50 }), thin: true },
    { name: 'full thick pool', c: cap({ freeCapacityGb: 0, provisionedCapacityGb: 100 }), thin: false },
  ])('$name', ({ c, thin }) => {
    const room = cinderRoomGiB(c, thin);
    expect(Number.isFinite(room)).toBe(true);
    if (room > 0) expect(capacityFilter(c, { sizeGiB: room, thin }).pass, `room ${room} passes`).toBe(true);
    expect(capacityFilter(c, { sizeGiB: Math.max(room, 0) + 0.02, thin }).pass, `room ${room} + 0.02 fails`).toBe(false);
  });

  test.each([
    { name: 'infinite free', c: cap({ freeCapacityGb: 'infinite' }), want: Infinity },
    { name: 'unknown total, nothing reserved', c: cap({ totalCapacityGb: 'unknown' }), want: Infinity },
    { name: 'unknown total with a reserve', c: cap({ totalCapacityGb: 'unknown', reservedPercentage: 5 }), want: 0 },
    { name: 'free not reported', c: cap({ freeCapacityGb: null }), want: 0 },
  ])('$name', ({ c, want }) => {
    expect(cinderRoomGiB(c, true)).toBe(want);
  });
});

describe('poolRoom: the policy limit or the capacity filter, whichever binds', () => {
  test.each([
    { name: 'policy 80% binds on a thick pool with room', p: pool('a', 100, 50), maxUtil: '80%', want: 30, binding: '80% policy limit' },
    { name: 'a 10% reserve shrinks the policy room', p: pool('a', 100, 50, { reservedPct: 10 }), maxUtil: '99%', want: 39.1, binding: '99% policy limit' },
    { name: 'capacity filter binds when the back-end reports little free space', p: { ...pool('a', 100, 50), capacity: { ...pool('a', 100, 50).capacity, freeCapacityGb: 20 } }, maxUtil: '90%', want: 20, binding: 'capacity filter' },
    { name: 'over its limit already: negative room', p: pool('a', 100, 95), maxUtil: '90%', want: -5, binding: '90% policy limit' },
  ])('$name', ({ p, maxUtil, want, binding }) => {
    const r = poolRoom(basicPolicy({ maxUtil }), p, { thin: true, thick: true });
    expect(r.roomGiB).toBeCloseTo(want, 9);
    expect(r.binding).toBe(binding);
  });
});
