/**
 * Quantities the objective terms share: utilization shares, the unmet-constraint weight and scale.
 *
 * @module
 */
import type { Aggregates, PoolInfo, SolveContext } from '../context.js';
import type { PoolLimit } from '../plugin.js';

/** Used share of capacity (0–1) of a pool with a known usable size, else NaN. */
export function capShare(pool: PoolInfo, gib: number): number {
  return Number.isFinite(pool.baseGiB) && pool.baseGiB > 0 ? gib / pool.baseGiB : Number.NaN;
}

/** p95 IOPS over rated IOPS of a pool with a rating, else NaN. */
export function loadShare(pool: PoolInfo, iops: number): number {
  const r = pool.pool.ratedIops;
  return r !== null && r > 0 ? iops / r : Number.NaN;
}

/** The share kinds the balance term reads. */
export function balanceKinds(ctx: SolveContext): ('cap' | 'load')[] {
  const by = ctx.policy.objectives.balance.by;
  return by === 'capacity' ? ['cap'] : by === 'load' ? ['load'] : ['cap', 'load'];
}

/** Max and min share of the given kinds over the pools that have one. */
export function shareRange(ctx: SolveContext, agg: Aggregates, kinds: readonly ('cap' | 'load')[]): { max: number; min: number } {
  let max = Number.NEGATIVE_INFINITY;
  let min = Number.POSITIVE_INFINITY;
  for (const p of ctx.pools) {
    for (const k of kinds) {
      const s = k === 'cap' ? capShare(p, agg.gib[p.idx] as number) : loadShare(p, agg.iops[p.idx] as number);
      if (Number.isNaN(s)) continue;
      if (s > max) max = s;
      if (s < min) min = s;
    }
  }
  return Number.isFinite(max) ? { max, min } : { max: 0, min: 0 };
}

/** Unmet units per unit over a limit: GiB count as GiB, IOPS and throughput as percent of the limit. */
export function unmetScale(l: Pick<PoolLimit, 'resource' | 'limit'>): number {
  return l.resource === 'iops' || l.resource === 'tput' ? 100 / Math.max(l.limit, 1e-9) : 1;
}

/** Weight of the unmet term: larger than any gain a plan can buy per unit. */
export function unmetWeight(ctx: SolveContext): number {
  const o = ctx.policy.objectives;
  return 10 * Math.max(1, o.moveCostPerGiB, o.balance.weight, o.cost.weight, o.performance.weight);
}

const costNorms = new WeakMap<readonly PoolInfo[], number>();

/** Monthly cost of the current placement (the cost term's normalizer; 1 when it is 0). */
export function costNorm(ctx: SolveContext): number {
  let n = costNorms.get(ctx.pools);
  if (n === undefined) {
    const gib = Float64Array.from(ctx.pools, (p) => p.unmanagedGiB);
    for (const vi of ctx.vols) if (vi.cur >= 0) gib[vi.cur] = (gib[vi.cur] as number) + vi.v.sizeGiB;
    n = ctx.pools.reduce((s, p) => s + p.price * (gib[p.idx] as number), 0);
    if (!(n > 0)) n = 1;
    costNorms.set(ctx.pools, n);
  }
  return n;
}

/** Latency excess of a pool over the target (0 when under or unknown). */
export function latencyExcess(ctx: SolveContext, pool: PoolInfo): number {
  const target = ctx.policy.objectives.performance.targetLatencyP95Ms ?? 20;
  const lat = pool.pool.perf?.latencyP95Ms ?? null;
  return lat === null || target <= 0 ? 0 : Math.max(0, lat / target - 1);
}

/** Total p95 IOPS of the listed volumes (the latency term's normalizer; 1 when 0). */
export function totalIops(ctx: SolveContext): number {
  let s = 0;
  for (const vi of ctx.vols) s += vi.iops;
  return s > 0 ? s : 1;
}
