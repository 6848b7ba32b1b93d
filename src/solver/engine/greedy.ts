/**
 * Move heuristics on a {@link State}: meet the rules (drains, over-full pools, anti-affinity),
 * shed load above a target, improve by single moves, and the two greedy plans: a Watcher-style
 * capacity balancer (the baseline the bench compares with) and an objective-aware sweep (the floor
 * no solver result may fall below). Deterministic: candidates are sorted, ties go to lower indices.
 *
 * @module
 */
import type { Item, PoolInfo, SolveContext } from '../context.js';
import { Pricing, State } from './state.js';

const EPS = 1e-9;
/** Destinations tried per item in local search when its eligible list is longer. */
const SHORTLIST = 12;

/** The best feasible destination of item i by objective change (null if none). */
export function bestDest(s: State, i: number, accept?: (to: number) => boolean, dests?: readonly number[]): { to: number; delta: number } | null {
  const it = s.ctx.items[i] as Item;
  let bestTo = -1;
  let bestD = 0;
  const from = s.assign[i] as number;
  const list = dests ?? it.eligible;
  for (let k = -1; k < list.length; k++) {
    const to = k < 0 ? it.cur : (list[k] as number);
    if (to === from || (k < 0 && from === it.cur)) continue;
    if ((accept && !accept(to)) || !s.canMove(i, to)) continue;
    const d = s.delta(i, to);
    if (bestTo < 0 || d < bestD - EPS) {
      bestTo = to;
      bestD = d;
    }
  }
  return bestTo < 0 ? null : { to: bestTo, delta: bestD };
}

/** Movable items on each pool under the state, largest first (ties by index). */
function itemsOn(s: State): number[][] {
  const out: number[][] = s.ctx.pools.map(() => []);
  s.ctx.items.forEach((it, i) => {
    if (it.eligible.length > 0 || (s.assign[i] as number) !== it.cur) (out[s.assign[i] as number] as number[]).push(i);
  });
  for (const l of out) l.sort((x, y) => (s.ctx.items[y] as Item).gib - (s.ctx.items[x] as Item).gib || x - y);
  return out;
}

/** Moves items that must leave a drained pool, largest first, as far as budgets and room allow. */
export function drainPass(s: State): void {
  const order = s.ctx.items
    .filter((it) => it.mustLeave && s.assign[it.idx] === it.cur)
    .sort((a, b) => b.gib - a.gib || a.idx - b.idx);
  for (const it of order) {
    const d = bestDest(s, it.idx);
    if (d) s.apply(it.idx, d.to);
  }
}

/** Moves items off pools that exceed a limit (items moved in first), while that lowers the objective. */
export function fixLimits(s: State): void {
  for (let round = 0; round < 3; round++) {
    let changed = false;
    const on = itemsOn(s);
    for (const l of s.ctx.limits) {
      const over = (): boolean => ((s[l.resource] as Float64Array)[l.pool] as number) > l.limit + 1e-9;
      if (!over()) continue;
      const cands = [...(on[l.pool] as number[])].sort(
        (x, y) => Number((s.ctx.items[y] as Item).cur !== l.pool) - Number((s.ctx.items[x] as Item).cur !== l.pool) || 0,
      );
      for (const i of cands) {
        if (!over()) break;
        if (s.assign[i] !== l.pool) continue;
        const d = bestDest(s, i);
        if (d && d.delta < -EPS) {
          s.apply(i, d.to);
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
}

/** Separates anti-affinity members sharing a domain (smallest movable member moves). */
export function fixAntiAffinity(s: State): void {
  const byKey = new Map<string, number[]>();
  s.ctx.items.forEach((it, i) => {
    for (const k of it.aaKeys) {
      const l = byKey.get(k);
      if (l) l.push(i);
      else byKey.set(k, [i]);
    }
  });
  for (const key of [...byKey.keys()].sort()) {
    const members = (byKey.get(key) as number[]).sort((x, y) => (s.ctx.items[x] as Item).gib - (s.ctx.items[y] as Item).gib || x - y);
    const counts = s.aa.get(key);
    for (const i of members) {
      const across = key.slice(key.lastIndexOf('@') + 1);
      const pool = s.ctx.pools[s.assign[i] as number] as PoolInfo;
      const dom = across === 'backend' ? pool.backend : across === 'availabilityZone' ? pool.az : pool.name;
      if ((counts?.get(dom) ?? 0) <= 1) continue;
      const d = bestDest(s, i);
      if (d) s.apply(i, d.to);
    }
  }
}

/** Meets the rules as far as budgets allow: drains, over-full pools, anti-affinity. */
export function meetRules(s: State): void {
  drainPass(s);
  fixLimits(s);
  fixAntiAffinity(s);
}

/** Moves items off every pool whose `kind` share exceeds t, to pools that stay at or under t. */
export function shed(s: State, kind: 'cap' | 'load', t: number): void {
  const on = itemsOn(s);
  const pools = s.ctx.pools
    .map((p) => p.idx)
    .filter((p) => s.share(kind, p) > t + EPS)
    .sort((a, b) => s.share(kind, b) - s.share(kind, a) || a - b);
  const amount = (i: number): number => (kind === 'cap' ? (s.ctx.items[i] as Item).gib : (s.ctx.items[i] as Item).iops);
  for (const p of pools) {
    const pool = s.ctx.pools[p] as PoolInfo;
    const denom = kind === 'cap' ? pool.baseGiB : (pool.pool.ratedIops ?? 1);
    const tried = new Set<number>();
    const list = on[p] as number[];
    for (let guard = 0; guard < 10_000; guard++) {
      const need = (s.share(kind, p) - t) * denom;
      if (need <= EPS) break;
      let pick = -1;
      let smallest = -1;
      for (let k = 0; k < list.length; k++) {
        const i = list[k] as number;
        if (s.assign[i] !== p || tried.has(i) || amount(i) <= 0) continue;
        smallest = i;
        if (amount(i) <= need + EPS) {
          pick = i;
          break;
        }
      }
      const i = pick >= 0 ? pick : smallest;
      if (i < 0) break;
      tried.add(i);
      const d = bestDest(s, i, (to) => fitsUnder(s, kind, to, amount(i), t));
      if (d) s.apply(i, d.to);
    }
  }
}

function fitsUnder(s: State, kind: 'cap' | 'load', to: number, amount: number, t: number): boolean {
  const pool = s.ctx.pools[to] as PoolInfo;
  const sh = s.share(kind, to);
  if (Number.isNaN(sh)) return true;
  return sh + amount / (kind === 'cap' ? pool.baseGiB : (pool.pool.ratedIops ?? 1)) <= t + EPS;
}

const cheaper = new WeakMap<readonly Item[], Uint8Array>();

/** Per item: 1 when some destination it may use is cheaper than its pool. */
function cheaperElsewhere(ctx: SolveContext): Uint8Array {
  let c = cheaper.get(ctx.items);
  if (!c) {
    c = Uint8Array.from(ctx.items, (it) => (it.eligible.some((p) => (ctx.pools[p] as PoolInfo).price < (ctx.pools[it.cur] as PoolInfo).price) ? 1 : 0));
    cheaper.set(ctx.items, c);
  }
  return c;
}

/**
 * A deterministic work budget for local search: destination evaluations left (each destination an
 * item's best move looks at counts one). `expired` is the hard time limit, a safety net only,
 * asked every {@link EXPIRY_CHECK_EVALS} evaluations; `timeCut` tells it stopped the search.
 */
export interface WorkBudget {
  evals: number;
  readonly expired?: () => boolean;
  timeCut: boolean;
}

/** Evaluations between two looks at the hard time limit of a {@link WorkBudget}. */
export const EXPIRY_CHECK_EVALS = 1 << 16;

/**
 * Single-move local search: applies improving moves by gain per GiB, for a few rounds. Candidates:
 * items on the fullest pools, items already moved, items a cheaper pool would take (cost), and
 * every item when performance counts. With a budget, stops as soon as it is spent (the moves
 * applied so far stay: every one of them is feasible and improving).
 */
export function improve(s: State, rounds = 3, shortlists = true, budget?: WorkBudget): void {
  const ctx = s.ctx;
  const o = ctx.policy.objectives;
  const perf = o.performance.weight > 0;
  const cheap = o.cost.weight > 0 ? cheaperElsewhere(ctx) : null;
  let sinceCheck = 0;
  /** Charges n evaluations; true when the budget (or, as a safety net, the time) is spent. */
  const spent = (n: number): boolean => {
    if (!budget) return false;
    budget.evals -= n;
    sinceCheck += n;
    if (budget.expired && sinceCheck >= EXPIRY_CHECK_EVALS) {
      sinceCheck = 0;
      if (budget.expired()) budget.timeCut = true;
    }
    return budget.evals <= 0 || budget.timeCut;
  };
  for (let r = 0; r < rounds; r++) {
    if (budget && (budget.evals <= 0 || budget.timeCut)) return;
    const hot = new Set<number>();
    for (const k of ['cap', 'load'] as const) for (const p of s.fullest(k)) hot.add(p);
    const cands: { i: number; key: number }[] = [];
    // big eligible lists: rank their pools once per round on a first item, then try the best few
    const short = new Map<readonly number[], number[]>();
    for (let i = 0; i < ctx.items.length; i++) {
      const it = ctx.items[i] as Item;
      const at = s.assign[i] as number;
      if (at === it.cur && (it.eligible.length === 0 || !(perf || hot.has(at) || (cheap !== null && cheap[i] === 1)))) continue;
      let dests: readonly number[] | undefined;
      if (shortlists && it.eligible.length > SHORTLIST) {
        dests = short.get(it.eligible);
        if (!dests) {
          const ranked = it.eligible.map((p) => ({ p, d: s.delta(i, p) })).sort((x, y) => x.d - y.d || x.p - y.p);
          dests = ranked.slice(0, SHORTLIST).map((x) => x.p).sort((x, y) => x - y);
          short.set(it.eligible, dests as number[]);
          if (spent(it.eligible.length)) return;
        }
      }
      const d = bestDest(s, i, undefined, dests);
      if (d && d.delta < -EPS) cands.push({ i, key: d.delta / Math.max(it.gib, 1e-9) });
      if (spent((dests ?? it.eligible).length + 1)) return;
    }
    cands.sort((a, b) => a.key - b.key || a.i - b.i);
    let applied = 0;
    for (const c of cands) {
      const it = ctx.items[c.i] as Item;
      const dests = shortlists && it.eligible.length > SHORTLIST ? short.get(it.eligible) : undefined;
      const d = bestDest(s, c.i, undefined, dests);
      if (d && d.delta < -EPS) {
        s.apply(c.i, d.to);
        applied++;
      }
      if (spent((dests ?? it.eligible).length + 1)) return;
    }
    if (applied === 0) break;
  }
}

/** Rounds of local search worth their time at this size. */
export function improveRounds(ctx: SolveContext): number {
  return ctx.items.length <= 5_000 ? 3 : ctx.items.length <= 50_000 ? 2 : 1;
}

/** Share targets to sweep, from the fullest pool down to the fleet average. */
function targets(s: State, kind: 'cap' | 'load', n: number): number[] {
  let used = 0;
  let base = 0;
  for (const p of s.ctx.pools) {
    const denom = kind === 'cap' ? p.baseGiB : (p.pool.ratedIops ?? Number.NaN);
    if (!Number.isFinite(denom) || denom <= 0) continue;
    used += kind === 'cap' ? (s.gib[p.idx] as number) : (s.iops[p.idx] as number);
    base += denom;
  }
  const top = s.fullest(kind)[0];
  if (top === undefined || base <= 0) return [];
  const hi = s.share(kind, top);
  const lo = used / base;
  const out: number[] = [];
  for (let k = 1; k <= n; k++) out.push(hi - ((hi - lo) * k) / n);
  return out;
}

/**
 * The objective-aware greedy: meet the rules, then for each share target from the fullest pool
 * down to the average shed to it and improve; keep the best state.
 */
export function objectiveGreedy(ctx: SolveContext, pr = new Pricing(ctx), start?: State, steps = 10): State {
  const s0 = start ? start.clone() : new State(ctx, pr);
  meetRules(s0);
  const tried: { s: State; j: number }[] = [{ s: s0, j: s0.total() }];
  if (ctx.policy.objectives.balance.weight > 0) {
    const kinds = ctx.policy.objectives.balance.by === 'capacity' ? (['cap'] as const) : ctx.policy.objectives.balance.by === 'load' ? (['load'] as const) : (['cap', 'load'] as const);
    for (const kind of kinds) {
      for (const t of targets(s0, kind, steps)) {
        const s = s0.clone();
        shed(s, kind, t);
        tried.push({ s, j: s.total() });
      }
    }
  }
  tried.sort((a, b) => a.j - b.j);
  let best = tried[0] as { s: State; j: number };
  for (const c of tried.slice(0, ctx.items.length <= 50_000 ? 3 : 1)) {
    const s = c.s === s0 ? s0.clone() : c.s;
    improve(s, 1);
    const j = s.total();
    if (j < best.j - EPS || c === best) best = { s, j };
  }
  improve(best.s, improveRounds(ctx));
  return best.s;
}

/**
 * The Watcher-style baseline: drain, then repeatedly move the largest volume that fits the excess
 * from the fullest pool to the emptiest eligible pool, until every pool is within one point of
 * the average. Ignores prices and the cost of moving (it respects every hard rule).
 */
export function watcherGreedy(ctx: SolveContext, pr = new Pricing(ctx)): State {
  const s = new State(ctx, pr);
  meetRules(s);
  let used = 0;
  let base = 0;
  for (const p of ctx.pools) {
    if (!Number.isFinite(p.baseGiB) || p.baseGiB <= 0) continue;
    used += s.gib[p.idx] as number;
    base += p.baseGiB;
  }
  if (base <= 0) return s;
  const mean = used / base;
  const on = itemsOn(s);
  const done = new Set<number>();
  for (let guard = 0; guard < ctx.items.length + ctx.pools.length; guard++) {
    let p = -1;
    for (const q of ctx.pools) {
      if (done.has(q.idx) || Number.isNaN(s.share('cap', q.idx))) continue;
      if (p < 0 || s.share('cap', q.idx) > s.share('cap', p)) p = q.idx;
    }
    if (p < 0 || s.share('cap', p) - mean <= 0.01) break;
    const need = (s.share('cap', p) - mean) * (ctx.pools[p] as PoolInfo).baseGiB;
    let moved = false;
    for (const i of on[p] as number[]) {
      const it = ctx.items[i] as Item;
      if (s.assign[i] !== p || it.gib > need) continue;
      let dest = -1;
      for (const to of it.eligible) {
        if (!s.canMove(i, to)) continue;
        const after = ((s.gib[to] as number) + it.gib) / (ctx.pools[to] as PoolInfo).baseGiB;
        if (!(after < s.share('cap', p) - it.gib / (ctx.pools[p] as PoolInfo).baseGiB)) continue;
        if (dest < 0 || s.share('cap', to) < s.share('cap', dest)) dest = to;
      }
      if (dest >= 0) {
        s.apply(i, dest);
        moved = true;
        break;
      }
    }
    if (!moved) done.add(p);
  }
  return s;
}
