/**
 * The objective's constants for the fast path (weights, normalizers, latency excess per pool,
 * limits by pool), computed once per context.
 *
 * @module
 */
import type { SolveContext } from '../context.js';
import type { PoolLimit } from '../plugin.js';
import { balanceKinds, costNorm, latencyExcess, totalIops, unmetScale, unmetWeight } from '../objectives/common.js';

/** A share kind: used capacity or load (p95 IOPS over rated). */
export type Kind = 'cap' | 'load';

/** Constants of the objective, computed once per context. */
export class Pricing {
  readonly wB: number;
  readonly wC: number;
  readonly perGiB: number;
  readonly W: number;
  readonly spread: boolean;
  readonly balKinds: readonly Kind[];
  readonly wIops: number;
  readonly wLat: number;
  readonly excess: Float64Array;
  readonly totIops: number;
  readonly costN: number;
  readonly limitsByPool: PoolLimit[][];
  readonly scale: Map<PoolLimit, number>;

  constructor(readonly ctx: SolveContext) {
    const o = ctx.policy.objectives;
    this.wB = o.balance.weight;
    this.wC = o.cost.weight;
    this.perGiB = o.moveCostPerGiB;
    this.W = unmetWeight(ctx);
    this.spread = o.balance.metric === 'spread';
    this.balKinds = balanceKinds(ctx);
    const k = o.performance.metrics.length || 1;
    this.wIops = o.performance.metrics.includes('iops') ? o.performance.weight / k : 0;
    this.wLat = o.performance.metrics.includes('latencyP95') ? o.performance.weight / k : 0;
    this.excess = Float64Array.from(ctx.pools, (p) => latencyExcess(ctx, p));
    this.totIops = totalIops(ctx);
    this.costN = costNorm(ctx);
    this.limitsByPool = ctx.pools.map(() => []);
    this.scale = new Map();
    for (const l of ctx.limits) {
      (this.limitsByPool[l.pool] as PoolLimit[]).push(l);
      this.scale.set(l, unmetScale(l));
    }
  }
}
