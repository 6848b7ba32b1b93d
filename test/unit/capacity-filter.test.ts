import { describe, expect, test } from 'vitest';
import { capacityFilter, weighByCapacity, type CapacityValue, type PoolCapacity } from '../../src/model/index.js';

// The 25 numeric cases of cinder/tests/unit/scheduler/test_host_filters.py:CapacityFilterTestCase
// (reference/cinder-semantics.md section 2.4). `thin` is the request (provisioning:type != thick).
interface Case {
  name: string;
  size: number;
  total?: CapacityValue | null;
  free: CapacityValue | null;
  prov?: number;
  mosr?: number;
  res?: number;
  thinSup?: boolean;
  thickSup?: boolean;
  thin?: boolean;
  existsOn?: boolean;
  want: boolean;
}

const cases: Case[] = [
  { name: 'test_filter_passes', size: 100, total: 500, free: 200, prov: 0, res: 0, thinSup: false, want: true },
  { name: 'test_filter_current_backend_passes', size: 100, total: 100, free: 10, existsOn: true, want: true },
  { name: 'test_filter_fails', size: 121, total: 200, free: 120, prov: 0, res: 20, thinSup: false, want: false },
  { name: 'test_filter_fails_free_capacity_None', size: 100, free: null, want: false },
  { name: 'test_filter_with_size_0', size: 0, total: 500, free: 200, prov: 1500, mosr: 2, res: 5, thinSup: true, want: true },
  { name: 'test_filter_passes_infinite', size: 100, free: 'infinite', want: true },
  { name: 'test_filter_passes_unknown', size: 100, free: 'unknown', want: true },
  { name: 'test_filter_passes_total_infinite', size: 100, total: 'infinite', free: 'infinite', res: 0, want: true },
  { name: 'test_filter_passes_total_unknown', size: 100, total: 'unknown', free: 'unknown', res: 0, want: true },
  { name: 'test_filter_fails_total_infinite', size: 100, total: 'infinite', free: 0, res: 5, want: false },
  { name: 'test_filter_fails_total_unknown', size: 100, total: 'unknown', free: 0, res: 5, want: false },
  { name: 'test_filter_fails_total_zero', size: 100, total: 0, free: 0, res: 5, want: false },
  { name: 'test_filter_extend_request', size: 100 - 50, total: 500, free: 200, thinSup: false, want: true },
  { name: 'test_filter_extend_request_negative', size: 50, total: 500, free: 49, thinSup: false, want: false },
  { name: 'test_filter_thin_true_passes', size: 100, total: 500, free: 200, prov: 500, mosr: 2.0, res: 5, thinSup: true, want: true },
  { name: 'test_filter_thin_true_passes2', size: 2400, total: 500, free: 200, prov: 7000, mosr: 20, res: 5, thinSup: true, want: true },
  { name: 'test_filter_thin_false_passes', size: 100, total: 500, free: 200, prov: 300, mosr: 1.0, res: 5, thinSup: false, thickSup: true, thin: false, want: true },
  { name: 'test_filter_over_subscription_less_than_1', size: 200, total: 500, free: 100, prov: 400, mosr: 0.8, res: 0, thinSup: true, want: false },
  { name: 'test_filter_over_subscription_equal_to_1', size: 150, total: 500, free: 200, prov: 400, mosr: 1.0, res: 0, thinSup: true, want: false },
  { name: 'test_filter_over_subscription_fails', size: 100, total: 500, free: 200, prov: 700, mosr: 1.5, res: 5, thinSup: true, want: false },
  { name: 'test_filter_over_subscription_fails2', size: 2000, total: 500, free: 30, prov: 9000, mosr: 20, res: 0, thinSup: true, want: false },
  { name: 'test_filter_reserved_thin_true_fails', size: 100, total: 500, free: 100, prov: 1000, mosr: 2.0, res: 5, thinSup: true, want: false },
  { name: 'test_filter_reserved_thin_false_fails', size: 100, total: 500, free: 100, prov: 400, mosr: 1.0, res: 5, thinSup: false, thickSup: true, thin: false, want: false },
  { name: 'test_filter_reserved_thin_thick_true_fails', size: 151, total: 500, free: 0, prov: 800, mosr: 2.0, res: 5, thinSup: true, thickSup: true, want: false },
  { name: 'test_filter_reserved_thin_thick_true_passes', size: 100, total: 500, free: 125, prov: 400, mosr: 2.0, res: 5, thinSup: true, thickSup: true, want: true },
  { name: 'test_filter_reserved_thin_true_passes', size: 100, total: 500, free: 80, prov: 600, mosr: 2.0, res: 5, thinSup: true, want: true },
  { name: 'test_filter_reserved_thin_thick_true_fails2', size: 100, total: 500, free: 99, prov: 1000, mosr: 2.0, res: 5, thinSup: true, thickSup: true, want: false },
  { name: 'test_filter_reserved_thin_thick_true_passes2', size: 100, total: 500, free: 100, prov: 400, mosr: 2.0, res: 0, thinSup: true, thickSup: true, want: true },
];

function pool(c: Partial<Case>): PoolCapacity {
  return {
    totalCapacityGb: c.total === undefined ? 500 : c.total,
    freeCapacityGb: c.free === undefined ? 0 : c.free,
    provisionedCapacityGb: c.prov ?? 0,
    maxOverSubscriptionRatio: c.mosr ?? 1,
    reservedPercentage: c.res ?? 0,
    thinProvisioningSupport: c.thinSup ?? false,
    thickProvisioningSupport: c.thickSup ?? false,
  };
}

describe('CapacityFilter (Cinder test vectors)', () => {
  test('covers the reference table', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });
  test.each(cases)('$name → $want', (c) => {
    const v = capacityFilter(pool(c), { sizeGiB: c.size, thin: c.thin ?? true, existsOnPool: c.existsOn ?? false });
    expect(v.pass, v.reason).toBe(c.want);
  });
  test.each([
    { name: 'thin passes: virtual free 450', c: cases[14]!, vf: 450 },
    { name: 'thin passes2: virtual free 2500', c: cases[15]!, vf: 2500 },
    { name: 'thick passes: virtual free 175', c: cases[16]!, vf: 175 },
    { name: 'over-subscription fails: virtual free 12.5', c: cases[19]!, vf: 12.5 },
  ])('$name', ({ c, vf }) => {
    expect(capacityFilter(pool(c), { sizeGiB: c.size, thin: c.thin ?? true }).virtualFreeGiB).toBe(vf);
  });
});

describe('CapacityWeigher (test_default_of_spreading_first)', () => {
  const hosts: { name: string; cap: PoolCapacity }[] = [
    { name: 'host1', cap: { totalCapacityGb: 1024, freeCapacityGb: 1024, provisionedCapacityGb: 0, maxOverSubscriptionRatio: 1, reservedPercentage: 10, thinProvisioningSupport: false, thickProvisioningSupport: true } },
    { name: 'host2', cap: { totalCapacityGb: 2048, freeCapacityGb: 300, provisionedCapacityGb: 1748, maxOverSubscriptionRatio: 1.5, reservedPercentage: 10, thinProvisioningSupport: true, thickProvisioningSupport: false } },
    { name: 'host3', cap: { totalCapacityGb: 512, freeCapacityGb: 256, provisionedCapacityGb: 256, maxOverSubscriptionRatio: 2, reservedPercentage: 0, thinProvisioningSupport: false, thickProvisioningSupport: true } },
    { name: 'host4', cap: { totalCapacityGb: 2048, freeCapacityGb: 200, provisionedCapacityGb: 2047, maxOverSubscriptionRatio: 1, reservedPercentage: 5, thinProvisioningSupport: true, thickProvisioningSupport: false } },
    { name: 'host5', cap: { totalCapacityGb: 'unknown', freeCapacityGb: 'unknown', provisionedCapacityGb: 0, maxOverSubscriptionRatio: 1, reservedPercentage: 0, thinProvisioningSupport: false, thickProvisioningSupport: true } },
  ];
  test.each([
    { name: 'thin request: host2 wins (virtual free 1018)', thin: true, want: 'host2' },
    { name: 'thick request: host1 wins', thin: false, want: 'host1' },
  ])('$name', ({ thin, want }) => {
    const ranked = weighByCapacity(hosts, (h) => h.cap, thin);
    expect(ranked[0]!.item.name).toBe(want);
    expect(ranked[0]!.weight).toBe(1);
    expect(ranked[ranked.length - 1]!.item.name).toBe(thin ? 'host4' : 'host4');
  });
});
