/**
 * The cost collector: each pool's price from the price catalogue (per GiB-month, per IOPS-month)
 * and its monthly cost at its current allocation. The catalogue is checked against the fleet on
 * every run: an entry that names no pool fails the run with located errors.
 *
 * @module
 */
import type { Collector, CollectContext, CollectOutput } from './collector.js';
import { resolvePrices, type PriceCatalogue } from './prices.js';
import type { Point } from './store.js';

/** Collects prices and monthly cost per pool from `catalogue`. */
export function costCollector(catalogue: PriceCatalogue): Collector {
  return {
    name: 'cost',
    async collect({ reader, nowMs }: CollectContext): Promise<CollectOutput> {
      const [pools, types] = await Promise.all([reader.listPools(), reader.listVolumeTypes()]);
      const prices = resolvePrices(catalogue, pools, types);
      const points: Point[] = [];
      const unpriced: string[] = [];
      for (const p of pools) {
        const price = prices.get(p.name);
        if (!price) {
          unpriced.push(p.name);
          continue;
        }
        const at = (metric: Point['metric'], value: number): Point => ({ entity: 'pool', key: p.name, metric, atMs: nowMs, value });
        points.push(at('cost.price_per_gib_month', price.perGiBMonth), at('cost.monthly', p.allocatedGiB * price.perGiBMonth));
        if (price.perIopsMonth !== null) points.push(at('cost.price_per_iops_month', price.perIopsMonth));
      }
      return { points, notes: unpriced.length > 0 ? [`no price for ${unpriced.join(', ')} in ${catalogue.file}`] : [] };
    },
  };
}
