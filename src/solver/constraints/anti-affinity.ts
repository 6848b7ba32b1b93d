/**
 * `antiAffinity`: volumes sharing a value of a label must not share a failure domain (pool,
 * back-end or zone). Left out of the LP relaxation (which stays a valid bound); enforced by
 * repair, by the exact MIP, and checked here. A conflict among fixed volumes only is outside any
 * plan's reach and is not counted.
 *
 * @module
 */
import { antiAffinityKeys, domainOf, type Item, type PoolInfo, type SolveContext } from '../context.js';
import type { Col, FlowClass, FlowModel } from '../lp/flow-model.js';
import type { ConstraintPlugin } from '../plugin.js';
import type { Violation } from '../types.js';
import { budgetUse, carriedOver, poolTotals } from './common.js';

export const name = 'antiAffinity';

/** Members sharing a domain, by `key` then domain, with whether any of them may move. */
export function antiAffinityConflicts(ctx: SolveContext, placement: Int32Array): { key: string; domain: string; volumes: string[]; movable: boolean }[] {
  const byKey = new Map<string, Map<string, { volumes: string[]; movable: boolean }>>();
  for (const vi of ctx.vols) {
    const p = placement[vi.idx] as number;
    if (p < 0) continue;
    for (const key of antiAffinityKeys(vi)) {
      const across = key.slice(key.lastIndexOf('@') + 1);
      const domain = domainOf(ctx.pools[p] as PoolInfo, across);
      let m = byKey.get(key);
      if (!m) byKey.set(key, (m = new Map()));
      const d = m.get(domain) ?? { volumes: [], movable: false };
      d.volumes.push(vi.v.id);
      d.movable ||= !ctx.fixedReason.has(vi.idx);
      m.set(domain, d);
    }
  }
  const out: { key: string; domain: string; volumes: string[]; movable: boolean }[] = [];
  for (const key of [...byKey.keys()].sort()) {
    const m = byKey.get(key) as Map<string, { volumes: string[]; movable: boolean }>;
    for (const domain of [...m.keys()].sort()) {
      const d = m.get(domain) as { volumes: string[]; movable: boolean };
      if (d.volumes.length > 1) out.push({ key, domain, volumes: d.volumes.sort(), movable: d.movable });
    }
  }
  return out;
}

function verify(ctx: SolveContext, placement: Int32Array): Violation[] {
  const before = new Set(antiAffinityConflicts(ctx, ctx.current).map((c) => `${c.key}\u0000${c.domain}\u0000${c.volumes.length}`));
  const totals = poolTotals(ctx, placement);
  const use = budgetUse(ctx, placement);
  const byId = new Map(ctx.vols.map((v) => [v.v.id, v.idx]));
  return antiAffinityConflicts(ctx, placement)
    .filter((c) => c.movable)
    .filter((c) => {
      // a conflict the current placement already had, not made worse, that no single move could separate: carried over
      if (!before.has(`${c.key}\u0000${c.domain}\u0000${c.volumes.length}`)) return true;
      const items = c.volumes.map((id) => ctx.items[ctx.itemOfVol[byId.get(id) as number] as number]).filter((it): it is Item => it !== undefined);
      return !carriedOver(ctx, placement, items, totals, use);
    })
    .map((c) => ({ constraint: name, subject: c.key, message: `group ${c.key}: ${c.volumes.length} volumes share ${c.domain} (${c.volumes.join(', ')})` }));
}

/**
 * Rows for the exact model only (one class per item): at most one member per domain, counting
 * fixed members. The aggregated relaxation leaves them out (it stays a valid bound).
 */
function lp(ctx: SolveContext, m: FlowModel): void {
  if (!m.exact) return;
  const fixedIn = new Map<string, number>();
  for (const vi of ctx.vols) {
    if (!ctx.fixedReason.has(vi.idx) || vi.cur < 0) continue;
    for (const key of antiAffinityKeys(vi)) {
      const d = `${key}\u0000${domainOf(ctx.pools[vi.cur] as PoolInfo, key.slice(key.lastIndexOf('@') + 1))}`;
      fixedIn.set(d, (fixedIn.get(d) ?? 0) + 1);
    }
  }
  const colsOf = new Map<number, number[]>();
  m.cols.forEach((c, j) => {
    if (c.kind !== 'flow') return;
    const l = colsOf.get(c.cls);
    if (l) l.push(j);
    else colsOf.set(c.cls, [j]);
  });
  const byKey = new Map<string, number[]>();
  for (const c of m.classes) for (const key of (ctx.items[c.items[0] as number] as Item).aaKeys) byKey.set(key, [...(byKey.get(key) ?? []), c.idx]);
  for (const key of [...byKey.keys()].sort()) {
    const across = key.slice(key.lastIndexOf('@') + 1);
    const classes = byKey.get(key) as number[];
    const domains = new Set<string>(ctx.pools.map((p) => domainOf(p, across)));
    for (const d of [...domains].sort()) {
      const inD = (p: number): boolean => domainOf(ctx.pools[p] as PoolInfo, across) === d;
      const entries: [number, number][] = [];
      let staying = 0;
      for (const ci of classes) {
        const c = m.classes[ci] as FlowClass;
        const home = inD(c.cur);
        if (home) staying++;
        for (const j of colsOf.get(ci) ?? []) {
          const p = (m.cols[j] as Col).pool;
          if (!home && inD(p)) entries.push([j, 1 / c.gib]);
          if (home && !inD(p)) entries.push([j, -1 / c.gib]);
        }
      }
      const fixed = fixedIn.get(`${key}\u0000${d}`) ?? 0;
      if (fixed > 1) continue;
      if (entries.length > 0 || staying + fixed > 1) m.addRow(`aa_${key}_${d}`, { max: 1 - fixed - staying }, entries);
    }
  }
}

/** Anti-affinity groups. */
export const antiAffinity: ConstraintPlugin = { name, lp, verify };
