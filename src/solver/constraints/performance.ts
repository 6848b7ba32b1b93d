/**
 * `performance`: IOPS and throughput headroom per pool. The p95 IOPS (throughput) of the volumes
 * on a pool stays within `maxIopsUtilization` (`maxThroughputUtilization`) of its rated figure
 * and leaves `minFreeIops` (`minFreeThroughput`) unused. Pools without a rated figure, and
 * volumes without telemetry, do not count.
 *
 * @module
 */
import type { PoolInfo, SolveContext } from '../context.js';
import type { ConstraintPlugin, PoolLimit } from '../plugin.js';
import { limitViolations, num } from './common.js';

export const name = 'performance';

function capOf(rated: number, pct: number | null, minFree: number | null): { limit: number; why: string } | null {
  const byPct = pct === null ? Number.POSITIVE_INFINITY : (pct / 100) * rated;
  const byFree = minFree === null ? Number.POSITIVE_INFINITY : rated - minFree;
  if (!Number.isFinite(byPct) && !Number.isFinite(byFree)) return null;
  return byPct <= byFree ? { limit: byPct, why: `${num(pct as number)}% of ${num(rated)}` } : { limit: byFree, why: `${num(rated)} less ${num(minFree as number)} kept free` };
}

function limits(ctx: SolveContext): PoolLimit[] {
  const out: PoolLimit[] = [];
  for (const p of ctx.pools) {
    const r = p.resolved;
    const rated = p.pool.ratedIops;
    const c = rated === null ? null : capOf(rated, r.maxIopsUtilizationPct, r.minFreeIops);
    if (c) out.push(limit(p, 'iops', c.limit, `IOPS (${c.why})`, 'p95 IOPS'));
    const ratedT = p.pool.ratedThroughputBytesPerSec;
    const t = ratedT === null ? null : capOf(ratedT, r.maxThroughputUtilizationPct, r.minFreeThroughputBytesPerSec);
    if (t) out.push(limit(p, 'tput', t.limit, `B/s (${t.why})`, 'p95 B/s'));
  }
  return out;
}

function limit(p: PoolInfo, resource: 'iops' | 'tput', value: number, why: string, what: string): PoolLimit {
  return {
    plugin: name,
    pool: p.idx,
    resource,
    limit: value,
    describe: (a) => `pool ${p.name}: needs ${num(a)} ${what}, limit ${num(value)} ${why}`,
  };
}

/** IOPS and throughput headroom. */
export const performance: ConstraintPlugin = {
  name,
  limits,
  verify: (ctx, placement) => limitViolations(ctx, placement, name),
};
