/**
 * Why each moved volume moves: the rule it serves (a drain, an over-full pool, an anti-affinity
 * group) or the objective terms its move improves, in words with numbers.
 *
 * @module
 */
import { matchesGlob } from '../policy/index.js';
import { aggregatesOf, type PoolInfo, type SolveContext, type VolInfo } from './context.js';
import { antiAffinityConflicts } from './constraints/anti-affinity.js';
import { capShare } from './objectives/common.js';
import type { MoveReason } from './types.js';

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** Reasons for every volume whose pool changes, by volume id (sorted keys). */
export function moveReasons(ctx: SolveContext, placement: Int32Array): Record<string, MoveReason> {
  const before = aggregatesOf(ctx, ctx.current);
  const after = aggregatesOf(ctx, placement);
  const overBefore = new Map<number, string[]>();
  for (const l of ctx.limits) {
    if (((before[l.resource] as Float64Array)[l.pool] as number) > l.limit + 1e-9) {
      overBefore.set(l.pool, [...(overBefore.get(l.pool) ?? []), l.plugin]);
    }
  }
  const conflicted = new Set<string>();
  for (const c of antiAffinityConflicts(ctx, ctx.current)) for (const v of c.volumes) conflicted.add(`${v}\u0000${c.key}`);
  const o = ctx.policy.objectives;
  const out: Record<string, MoveReason> = {};
  const moved = ctx.vols.filter((vi) => placement[vi.idx] !== vi.cur).sort((a, b) => (a.v.id < b.v.id ? -1 : 1));
  for (const vi of moved) {
    const from = ctx.pools[vi.cur] as PoolInfo;
    const to = ctx.pools[placement[vi.idx] as number] as PoolInfo;
    const serves: string[] = [];
    const words: string[] = [];
    if (vi.resolved.mustLeave) {
      const rules = ctx.policy.rules.filter((r) => vi.resolved.rules.includes(r.name) && r.constraints.drainPoolPatterns.some((p) => matchesGlob(p, from.name)));
      serves.push(...rules.map((r) => r.name));
      words.push(`leaves drained pool ${from.name}${rules.length ? ` (${rules.map((r) => r.name).join(', ')})` : ''}`);
    }
    const over = overBefore.get(vi.cur);
    if (over) {
      serves.push(...from.resolved.rules.filter((r) => !serves.includes(r)));
      words.push(`relieves ${from.name}, over its ${[...new Set(over)].join('/')} limit (${pct(capShare(from, before.gib[from.idx] as number) || 0)} → ${pct(capShare(from, after.gib[from.idx] as number) || 0)})`);
    }
    const aaKeys = [...conflicted].filter((k) => k.startsWith(`${vi.v.id}\u0000`)).map((k) => k.slice(k.indexOf('\u0000') + 1));
    if (aaKeys.length > 0) {
      serves.push('antiAffinity');
      words.push(`separates anti-affinity group ${aaKeys.join(', ')}`);
    }
    if (o.balance.weight > 0) {
      const sf = capShare(from, before.gib[from.idx] as number);
      const st = capShare(to, before.gib[to.idx] as number);
      if (!Number.isNaN(sf) && !Number.isNaN(st) && sf > st) {
        serves.push('objective:balance');
        words.push(`balance: from ${from.name} (${pct(sf)} → ${pct(capShare(from, after.gib[from.idx] as number))}) to ${to.name} (${pct(st)} → ${pct(capShare(to, after.gib[to.idx] as number))})`);
      }
    }
    if (o.cost.weight > 0 && to.price < from.price) {
      serves.push('objective:cost');
      words.push(`cost: ${from.price} → ${to.price} per GiB-month, saves ${((from.price - to.price) * vi.v.sizeGiB).toFixed(2)} a month`);
    }
    if (o.performance.weight > 0 && performanceGain(vi, from, to)) {
      serves.push('objective:performance');
      words.push(`performance: to a pool with more headroom`);
    }
    if (words.length === 0) words.push(`part of a plan that improves the objective as a whole`);
    out[vi.v.id] = { serves: [...new Set(serves)].sort(), reason: `${vi.v.sizeGiB} GiB ${from.name} → ${to.name}: ${words.join('; ')}` };
  }
  return out;
}

function performanceGain(vi: VolInfo, from: PoolInfo, to: PoolInfo): boolean {
  if (vi.iops <= 0) return false;
  const lf = from.pool.perf?.latencyP95Ms ?? null;
  const lt = to.pool.perf?.latencyP95Ms ?? null;
  return lf !== null && lt !== null ? lt < lf : (to.pool.ratedIops ?? 0) > (from.pool.ratedIops ?? 0);
}
