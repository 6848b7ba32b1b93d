/**
 * Small helpers shared by constraint plugins' verifiers. They recompute what they need from the
 * placement itself (never from the solver's state): the verifier is a separate code path.
 *
 * @module
 */
import type { Item, PoolInfo, SolveContext, VolInfo } from '../context.js';
import type { PoolLimit } from '../plugin.js';
import type { Violation } from '../types.js';

/** Moves and GiB moved by a placement, counted from scratch. */
export function budgetUse(ctx: SolveContext, placement: Int32Array): { moves: number; gib: number } {
  let moves = 0;
  let gib = 0;
  for (const vi of ctx.vols) {
    if (placement[vi.idx] !== vi.cur) {
      moves++;
      gib += vi.v.sizeGiB;
    }
  }
  return { moves, gib };
}

/** The volume moved (its pool differs from where it lives). */
export function moved(vi: VolInfo, placement: Int32Array): boolean {
  return placement[vi.idx] !== vi.cur;
}

/** The pool a volume is placed on (null when its pool is unknown). */
export function placedPool(ctx: SolveContext, vi: VolInfo, placement: Int32Array): PoolInfo | null {
  const p = placement[vi.idx] as number;
  return p >= 0 ? (ctx.pools[p] as PoolInfo) : null;
}

/** A violation for a volume moved although a destination filter closes its pool. */
export function destinationViolations(
  ctx: SolveContext,
  placement: Int32Array,
  name: string,
  allows: (vi: VolInfo, pool: PoolInfo) => string | null,
): Violation[] {
  const out: Violation[] = [];
  for (const vi of ctx.vols) {
    if (!moved(vi, placement)) continue;
    const pool = placedPool(ctx, vi, placement);
    if (!pool) continue;
    const why = allows(vi, pool);
    if (why !== null) out.push({ constraint: name, subject: vi.v.id, message: `volume ${vi.v.name} (${vi.v.id}) → ${pool.name}: ${why}` });
  }
  return out;
}

/** A violation for a volume moved although a rule fixes it in place. */
export function fixedViolations(ctx: SolveContext, placement: Int32Array, name: string, fixes: (vi: VolInfo) => string | null): Violation[] {
  const out: Violation[] = [];
  for (const vi of ctx.vols) {
    if (!moved(vi, placement)) continue;
    const why = fixes(vi);
    if (why !== null) out.push({ constraint: name, subject: vi.v.id, message: `volume ${vi.v.name} (${vi.v.id}) moved but ${why}` });
  }
  return out;
}

/** Pool-resource totals from scratch: used GiB (with unmanaged), p95 IOPS, throughput, arrivals. */
export function poolTotals(ctx: SolveContext, placement: Int32Array) {
  const P = ctx.pools.length;
  const gib = Float64Array.from(ctx.pools, (p) => p.unmanagedGiB);
  const iops = new Float64Array(P);
  const tput = new Float64Array(P);
  const inGib = new Float64Array(P);
  const inThickGib = new Float64Array(P);
  for (const vi of ctx.vols) {
    const p = placement[vi.idx] as number;
    if (p < 0) continue;
    gib[p] = (gib[p] as number) + vi.v.sizeGiB;
    iops[p] = (iops[p] as number) + vi.iops;
    tput[p] = (tput[p] as number) + vi.tput;
    if (p !== vi.cur) {
      inGib[p] = (inGib[p] as number) + vi.v.sizeGiB;
      if (!vi.thin) inThickGib[p] = (inThickGib[p] as number) + vi.v.sizeGiB;
    }
  }
  return { gib, iops, tput, inGib, inThickGib };
}

/**
 * True when a single move of `item` to one of its eligible pools would fit every pool limit there
 * and the budget left (`use`; null: ignore the budget): then a rule the item's pool or group
 * breaks could still have been served.
 */
export function singleMoveFits(ctx: SolveContext, placement: Int32Array, it: Item, totals: ReturnType<typeof poolTotals>, use: { moves: number; gib: number } | null): boolean {
  if (use && (use.moves + it.vols.length > ctx.budgets.maxMoves || use.gib + it.gib > ctx.budgets.maxGiB + 1e-9)) return false;
  const at = placement[it.vols[0] as number] as number;
  for (const q of it.eligible) {
    if (q === at) continue;
    let fits = true;
    for (const l of limitsOf(ctx, q)) {
      const add = l.resource === 'gib' || l.resource === 'inGib' ? it.gib : l.resource === 'iops' ? it.iops : l.resource === 'tput' ? it.tput : it.thick ? it.gib : 0;
      if (((totals[l.resource] as Float64Array)[q] as number) + add > l.limit + 1e-6) {
        fits = false;
        break;
      }
    }
    if (fits) return true;
  }
  return false;
}

const byPool = new WeakMap<SolveContext['limits'], PoolLimit[][]>();
function limitsOf(ctx: SolveContext, p: number): PoolLimit[] {
  let m = byPool.get(ctx.limits);
  if (!m) {
    m = ctx.pools.map(() => []);
    for (const l of ctx.limits) (m[l.pool] as PoolLimit[]).push(l);
    byPool.set(ctx.limits, m);
  }
  return m[p] as PoolLimit[];
}

/**
 * Checks the pool limits a plugin sets. A pool already over a limit before the plan may stay over
 * when the plan adds nothing to it and the budget is what stops it ({@link carriedOver}).
 */
/**
 * A rule the current placement already breaks, that the plan did not make worse, is carried over
 * to a later run when the budget is what stops it: a single move of one of `items` would serve it
 * with more budget, none fits the budget left.
 */
export function carriedOver(ctx: SolveContext, placement: Int32Array, items: readonly Item[], totals: ReturnType<typeof poolTotals>, use: { moves: number; gib: number }): boolean {
  return !items.some((it) => singleMoveFits(ctx, placement, it, totals, use)) && items.some((it) => singleMoveFits(ctx, placement, it, totals, null));
}

export function limitViolations(ctx: SolveContext, placement: Int32Array, name: string): Violation[] {
  const after = poolTotals(ctx, placement);
  const before = poolTotals(ctx, ctx.current);
  const use = budgetUse(ctx, placement);
  const out: Violation[] = [];
  for (const l of ctx.limits) {
    if (l.plugin !== name) continue;
    const a = (after[l.resource] as Float64Array)[l.pool] as number;
    if (a <= l.limit + 1e-6) continue;
    const b = (before[l.resource] as Float64Array)[l.pool] as number;
    if (b > l.limit + 1e-6 && a <= b + 1e-6 && (after.inGib[l.pool] as number) === 0) {
      const on = ctx.items.filter((it) => it.cur === l.pool && placement[it.vols[0] as number] === l.pool);
      if (carriedOver(ctx, placement, on, after, use)) continue;
    }
    out.push({ constraint: name, subject: (ctx.pools[l.pool] as PoolInfo).name, message: l.describe(a) });
  }
  return out;
}

/** `12.3` with at most one decimal, for messages. */
export function num(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}
