/**
 * The capacity collector: each pool's Cinder `get_pools` numbers (total, free, allocated,
 * provisioned, reserved %, over-subscription ratio), its used share and whether it is up.
 *
 * @module
 */
import { poolUsedShare, type FleetPool } from '../model/index.js';
import type { Collector, CollectContext, CollectOutput } from './collector.js';
import type { MetricName } from './metrics.js';
import type { Point } from './store.js';

/** Samples of one pool at `atMs` (numeric capacity values only: `infinite`/`unknown` are skipped). */
export function capacityPoints(p: FleetPool, atMs: number): Point[] {
  const c = p.capacity;
  const values: [MetricName, unknown][] = [
    ['capacity.total_gib', c.totalCapacityGb],
    ['capacity.free_gib', c.freeCapacityGb],
    ['capacity.allocated_gib', p.allocatedGiB],
    ['capacity.provisioned_gib', c.provisionedCapacityGb],
    ['capacity.reserved_pct', c.reservedPercentage],
    ['capacity.max_over_subscription_ratio', c.maxOverSubscriptionRatio],
    ['capacity.used_share', poolUsedShare(p)],
    ['capacity.up', p.state === 'up' ? 1 : 0],
  ];
  return values
    .filter((v): v is [MetricName, number] => typeof v[1] === 'number' && Number.isFinite(v[1]))
    .map(([metric, value]) => ({ entity: 'pool', key: p.name, metric, atMs, value }));
}

/** Collects every pool's capacity. */
export function capacityCollector(): Collector {
  return {
    name: 'capacity',
    async collect({ reader, nowMs }: CollectContext): Promise<CollectOutput> {
      const pools = await reader.listPools();
      return { points: pools.flatMap((p) => capacityPoints(p, nowMs)), notes: pools.length === 0 ? ['the control plane reports no pools'] : [] };
    },
  };
}
