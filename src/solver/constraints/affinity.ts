/**
 * `affinity`: volumes sharing a value of a label are kept together on one pool (they move as one
 * item) or on one back-end (each member only moves within the back-end they share).
 *
 * @module
 */
import type { PoolInfo, SolveContext, VolInfo } from '../context.js';
import type { ConstraintPlugin } from '../plugin.js';
import type { Violation } from '../types.js';

export const name = 'affinity';

interface Group {
  readonly key: string;
  readonly within: 'pool' | 'backend';
  readonly members: number[];
}

const cache = new WeakMap<readonly VolInfo[], Map<string, Group>>();

/** Affinity groups by `label=value@within`. */
export function affinityGroups(ctx: SolveContext): Map<string, Group> {
  let g = cache.get(ctx.vols);
  if (g) return g;
  g = new Map();
  for (const vi of ctx.vols) {
    for (const a of vi.resolved.affinity) {
      const value = vi.v.metadata[a.labelKey];
      if (value === undefined) continue;
      const key = `${a.labelKey}=${value}@${a.within}`;
      const grp = g.get(key) ?? { key, within: a.within, members: [] };
      grp.members.push(vi.idx);
      g.set(key, grp);
    }
  }
  cache.set(ctx.vols, g);
  return g;
}

/** The back-end the other members of a back-end group share now, if they share one. */
function backendOf(ctx: SolveContext, vi: VolInfo): string | null {
  let out: string | null = null;
  for (const a of vi.resolved.affinity) {
    if (a.within !== 'backend') continue;
    const value = vi.v.metadata[a.labelKey];
    if (value === undefined) continue;
    const grp = affinityGroups(ctx).get(`${a.labelKey}=${value}@backend`);
    for (const m of grp?.members ?? []) {
      const p = ctx.current[m] as number;
      if (m === vi.idx || p < 0) continue;
      const b = (ctx.pools[p] as PoolInfo).backend;
      if (out === null) out = b;
    }
  }
  return out;
}

function verify(ctx: SolveContext, placement: Int32Array): Violation[] {
  const out: Violation[] = [];
  for (const g of [...affinityGroups(ctx).values()].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    const where = new Set<string>();
    for (const m of g.members) {
      const p = placement[m] as number;
      if (p < 0) continue;
      const pool = ctx.pools[p] as PoolInfo;
      where.add(g.within === 'pool' ? pool.name : pool.backend);
    }
    const movable = g.members.some((m) => !ctx.fixedReason.has(m));
    if (where.size > 1 && movable) out.push({ constraint: name, subject: g.key, message: `group ${g.key}: members on ${where.size} ${g.within}s (${[...where].sort().join(', ')})` });
  }
  return out;
}

/** Affinity groups. */
export const affinity: ConstraintPlugin = {
  name,
  signature: (ctx, vi) => backendOf(ctx, vi) ?? '',
  allows: (ctx, vi, pool) => {
    const b = backendOf(ctx, vi);
    return b === null || b === pool.backend ? null : `affinity keeps it on back-end ${b}, pool ${pool.name} is on ${pool.backend}`;
  },
  verify,
};
