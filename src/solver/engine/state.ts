/**
 * A mutable placement with everything needed to price and check single moves in O(1): pool
 * totals, budget use, anti-affinity domain counts, and the three fullest and emptiest pools per
 * share kind. Greedy, repair and polish all work on it. It is the solver's fast path; the
 * verifier and `evaluatePlacement` recompute from scratch.
 *
 * @module
 */
import { aggregatesOf, antiAffinityKeys, domainOf, type Item, type PoolInfo, type SolveContext } from '../context.js';
import type { PoolLimit } from '../plugin.js';
import { capShare, loadShare } from '../objectives/common.js';
import { Pricing, type Kind } from './pricing.js';

export { Pricing } from './pricing.js';

const NEG = Number.NEGATIVE_INFINITY;
const POS = Number.POSITIVE_INFINITY;
/** Pools kept in the fullest / emptiest lists. */
const TOP_K = 16;

export class State {
  readonly assign: Int32Array;
  readonly gib: Float64Array;
  readonly iops: Float64Array;
  readonly tput: Float64Array;
  readonly inGib: Float64Array;
  readonly inThickGib: Float64Array;
  moves: number;
  movedGiB: number;
  mustLeaveGiB: number;
  readonly aa: Map<string, Map<string, number>>;
  /** Per kind: the fullest pools (desc) with every other pool at or below `topTau`; the emptiest likewise. */
  private readonly top = new Map<Kind, number[]>();
  private readonly bottom = new Map<Kind, number[]>();
  private readonly topTau = new Map<Kind, number>();
  private readonly bottomTau = new Map<Kind, number>();

  constructor(
    readonly ctx: SolveContext,
    readonly pr: Pricing,
    from?: State,
  ) {
    if (from) {
      this.assign = from.assign.slice();
      this.gib = from.gib.slice();
      this.iops = from.iops.slice();
      this.tput = from.tput.slice();
      this.inGib = from.inGib.slice();
      this.inThickGib = from.inThickGib.slice();
      this.moves = from.moves;
      this.movedGiB = from.movedGiB;
      this.mustLeaveGiB = from.mustLeaveGiB;
      this.aa = new Map([...from.aa].map(([k, m]) => [k, new Map(m)]));
    } else {
      const agg = aggregatesOf(ctx, ctx.current);
      this.assign = Int32Array.from(ctx.items, (it) => it.cur);
      this.gib = agg.gib;
      this.iops = agg.iops;
      this.tput = agg.tput;
      this.inGib = agg.inGib;
      this.inThickGib = agg.inThickGib;
      this.moves = 0;
      this.movedGiB = 0;
      this.mustLeaveGiB = agg.mustLeaveGiB;
      this.aa = new Map();
      for (const vi of ctx.vols) {
        if (vi.cur < 0) continue;
        for (const key of antiAffinityKeys(vi)) this.aaAdd(key, ctx.pools[vi.cur] as PoolInfo, 1);
      }
    }
    this.refresh();
  }

  clone(): State {
    return new State(this.ctx, this.pr, this);
  }

  private aaAdd(key: string, pool: PoolInfo, n: number): void {
    const across = key.slice(key.lastIndexOf('@') + 1);
    let m = this.aa.get(key);
    if (!m) this.aa.set(key, (m = new Map()));
    const d = domainOf(pool, across);
    m.set(d, (m.get(d) ?? 0) + n);
  }

  share(kind: Kind, p: number): number {
    const pool = this.ctx.pools[p] as PoolInfo;
    return kind === 'cap' ? capShare(pool, this.gib[p] as number) : loadShare(pool, this.iops[p] as number);
  }

  /** Recomputes the fullest and emptiest pools per kind from scratch. */
  refresh(): void {
    for (const kind of ['cap', 'load'] as const) this.recompute(kind);
  }

  private recompute(kind: Kind): void {
    const ps: number[] = [];
    for (let p = 0; p < this.ctx.pools.length; p++) if (!Number.isNaN(this.share(kind, p))) ps.push(p);
    const desc = ps.sort((x, y) => this.share(kind, y) - this.share(kind, x) || x - y);
    const t = desc.slice(0, TOP_K);
    const b = desc.slice(-TOP_K).reverse();
    this.top.set(kind, t);
    this.bottom.set(kind, b);
    this.topTau.set(kind, desc.length > TOP_K ? this.share(kind, t[t.length - 1] as number) : NEG);
    this.bottomTau.set(kind, desc.length > TOP_K ? this.share(kind, b[b.length - 1] as number) : POS);
  }

  /** Keeps the lists right after pools a and b changed: O(K) unless a list runs short. */
  private touch(a: number, b: number): void {
    for (const kind of ['cap', 'load'] as const) {
      const t = (this.top.get(kind) as number[]).filter((p) => p !== a && p !== b);
      const bo = (this.bottom.get(kind) as number[]).filter((p) => p !== a && p !== b);
      const tt = this.topTau.get(kind) as number;
      const bt = this.bottomTau.get(kind) as number;
      for (const p of a === b ? [a] : [a, b]) {
        const sh = this.share(kind, p);
        if (Number.isNaN(sh)) continue;
        if (tt === NEG || sh > tt) t.push(p);
        if (bt === POS || sh < bt) bo.push(p);
      }
      t.sort((x, y) => this.share(kind, y) - this.share(kind, x) || x - y);
      bo.sort((x, y) => this.share(kind, x) - this.share(kind, y) || x - y);
      const enough = Math.min(3, this.countKind(kind));
      if (t.length < enough || bo.length < enough) this.recompute(kind);
      else {
        this.top.set(kind, t);
        this.bottom.set(kind, bo);
      }
    }
  }

  private readonly kindCount = new Map<Kind, number>();
  private countKind(kind: Kind): number {
    let n = this.kindCount.get(kind);
    if (n === undefined) {
      n = 0;
      for (let p = 0; p < this.ctx.pools.length; p++) if (!Number.isNaN(this.share(kind, p))) n++;
      this.kindCount.set(kind, n);
    }
    return n;
  }

  /** Highest share of `kind` over pools other than a and b (−∞ if none). */
  maxExcept(kind: Kind, a: number, b: number): number {
    for (const p of this.top.get(kind) as number[]) if (p !== a && p !== b) return this.share(kind, p);
    return NEG;
  }

  minExcept(kind: Kind, a: number, b: number): number {
    for (const p of this.bottom.get(kind) as number[]) if (p !== a && p !== b) return this.share(kind, p);
    return POS;
  }

  /** The fullest pools of a kind (up to three). */
  fullest(kind: Kind): readonly number[] {
    return (this.top.get(kind) as number[]).slice(0, 3);
  }

  /** The weighted objective of this state. */
  total(): number {
    const pr = this.pr;
    const ctx = this.ctx;
    let j = 0;
    if (pr.wB > 0) {
      let u = NEG;
      let l = POS;
      for (const k of pr.balKinds) {
        u = Math.max(u, this.maxExcept(k, -1, -1));
        l = Math.min(l, this.minExcept(k, -1, -1));
      }
      if (u === NEG) u = l = 0;
      j += pr.wB * (pr.spread ? u - l : u);
    }
    let cost = 0;
    let lat = 0;
    for (const p of ctx.pools) {
      cost += p.price * (this.gib[p.idx] as number);
      lat += (pr.excess[p.idx] as number) * (this.iops[p.idx] as number);
    }
    if (pr.wC > 0) j += (pr.wC * cost) / pr.costN;
    if (pr.wIops > 0) j += pr.wIops * Math.max(0, this.maxExcept('load', -1, -1));
    if (pr.wLat > 0) j += (pr.wLat * lat) / pr.totIops;
    j += pr.perGiB * this.movedGiB;
    let unmet = this.mustLeaveGiB;
    for (const l of ctx.limits) {
      const a = (this[l.resource] as Float64Array)[l.pool] as number;
      if (a > l.limit) unmet += (a - l.limit) * (pr.scale.get(l) as number);
    }
    return j + pr.W * unmet;
  }

  /** True when item i may go to pool `to` without breaking a rule or making a broken one worse. */
  canMove(i: number, to: number): boolean {
    const it = this.ctx.items[i] as Item;
    const from = this.assign[i] as number;
    if (to === from) return false;
    if (to !== it.cur && !hasSorted(it.eligible, to)) return false;
    const wasMoved = from !== it.cur;
    const willMove = to !== it.cur;
    const dMoves = (Number(willMove) - Number(wasMoved)) * it.vols.length;
    const dGib = (Number(willMove) - Number(wasMoved)) * it.gib;
    if (dMoves > 0 && this.moves + dMoves > this.ctx.budgets.maxMoves) return false;
    if (dGib > 0 && this.movedGiB + dGib > this.ctx.budgets.maxGiB + 1e-9) return false;
    for (const l of this.pr.limitsByPool[to] as PoolLimit[]) {
      const before = (this[l.resource] as Float64Array)[to] as number;
      const add = this.amountOf(it, l.resource, willMove);
      if (add > 0 && before + add > Math.max(l.limit, before) + 1e-9) return false;
    }
    if (it.aaKeys.length > 0) {
      const toPool = this.ctx.pools[to] as PoolInfo;
      const fromPool = this.ctx.pools[from] as PoolInfo;
      for (const key of it.aaKeys) {
        const across = key.slice(key.lastIndexOf('@') + 1);
        const d = domainOf(toPool, across);
        const own = domainOf(fromPool, across) === d ? this.membersWith(it, key) : 0;
        if ((this.aa.get(key)?.get(d) ?? 0) - own > 0) return false;
      }
    }
    return true;
  }

  private membersWith(it: Item, key: string): number {
    let n = 0;
    for (const v of it.vols) if (antiAffinityKeys(this.ctx.vols[v]!).includes(key)) n++;
    return n;
  }

  private amountOf(it: Item, r: PoolLimit['resource'], arriving: boolean): number {
    switch (r) {
      case 'gib':
        return it.gib;
      case 'iops':
        return it.iops;
      case 'tput':
        return it.tput;
      case 'inGib':
        return arriving ? it.gib : 0;
      case 'inThickGib':
        return arriving && it.thick ? this.thickGib(it) : 0;
    }
  }

  private thickGib(it: Item): number {
    let s = 0;
    for (const v of it.vols) if (!this.ctx.vols[v]!.thin) s += this.ctx.vols[v]!.v.sizeGiB;
    return s;
  }

  /** Objective change if item i moved to `to` (does not check feasibility). Allocation-free. */
  delta(i: number, to: number): number {
    const it = this.ctx.items[i] as Item;
    const pr = this.pr;
    const a = this.assign[i] as number;
    const b = to;
    let d = 0;
    const pa = this.ctx.pools[a] as PoolInfo;
    const pb = this.ctx.pools[b] as PoolInfo;
    if (pr.wB > 0) {
      let u0 = NEG;
      let l0 = POS;
      let u1 = NEG;
      let l1 = POS;
      for (let k = 0; k < pr.balKinds.length; k++) {
        const kind = pr.balKinds[k] as Kind;
        u0 = Math.max(u0, this.maxExcept(kind, -1, -1));
        if (pr.spread) l0 = Math.min(l0, this.minExcept(kind, -1, -1));
        const sa = kind === 'cap' ? capShare(pa, (this.gib[a] as number) - it.gib) : loadShare(pa, (this.iops[a] as number) - it.iops);
        const sb = kind === 'cap' ? capShare(pb, (this.gib[b] as number) + it.gib) : loadShare(pb, (this.iops[b] as number) + it.iops);
        u1 = Math.max(u1, this.maxExcept(kind, a, b));
        if (pr.spread) l1 = Math.min(l1, this.minExcept(kind, a, b));
        if (!Number.isNaN(sa)) {
          u1 = Math.max(u1, sa);
          l1 = Math.min(l1, sa);
        }
        if (!Number.isNaN(sb)) {
          u1 = Math.max(u1, sb);
          l1 = Math.min(l1, sb);
        }
      }
      if (u0 !== NEG) d += pr.wB * (pr.spread ? u1 - l1 - (u0 - l0) : u1 - u0);
    }
    if (pr.wC > 0) d += (pr.wC * (pb.price - pa.price) * it.gib) / pr.costN;
    if (pr.wIops > 0) {
      const v0 = this.maxExcept('load', -1, -1);
      let v1 = this.maxExcept('load', a, b);
      const sa = loadShare(pa, (this.iops[a] as number) - it.iops);
      const sb = loadShare(pb, (this.iops[b] as number) + it.iops);
      if (!Number.isNaN(sa)) v1 = Math.max(v1, sa);
      if (!Number.isNaN(sb)) v1 = Math.max(v1, sb);
      if (v0 !== NEG) d += pr.wIops * (Math.max(0, v1) - Math.max(0, v0));
    }
    if (pr.wLat > 0) d += (pr.wLat * ((pr.excess[b] as number) - (pr.excess[a] as number)) * it.iops) / pr.totIops;
    const wasMoved = a !== it.cur;
    const willMove = b !== it.cur;
    d += pr.perGiB * (Number(willMove) - Number(wasMoved)) * it.gib;
    let unmet = 0;
    if (it.mustLeave) unmet += (Number(!willMove) - Number(!wasMoved)) * it.gib;
    unmet += this.limitDelta(it, a, -1, wasMoved, willMove) + this.limitDelta(it, b, 1, wasMoved, willMove);
    return d + pr.W * unmet;
  }

  private limitDelta(it: Item, p: number, sign: number, wasMoved: boolean, willMove: boolean): number {
    const limits = this.pr.limitsByPool[p] as PoolLimit[];
    let unmet = 0;
    for (let k = 0; k < limits.length; k++) {
      const l = limits[k] as PoolLimit;
      const before = (this[l.resource] as Float64Array)[p] as number;
      let amt: number;
      if (l.resource === 'inGib' || l.resource === 'inThickGib') {
        const part = l.resource === 'inGib' ? it.gib : it.thick ? this.thickGib(it) : 0;
        amt = sign < 0 ? (wasMoved ? -part : 0) : willMove ? part : 0;
      } else {
        amt = sign * this.amountOf(it, l.resource, true);
      }
      const after = before + amt;
      unmet += (Math.max(0, after - l.limit) - Math.max(0, before - l.limit)) * (this.pr.scale.get(l) as number);
    }
    return unmet;
  }

  /** Moves item i to `to` (no checks). */
  apply(i: number, to: number, refresh = true): void {
    const it = this.ctx.items[i] as Item;
    const a = this.assign[i] as number;
    if (a === to) return;
    const wasMoved = a !== it.cur;
    const willMove = to !== it.cur;
    const thick = it.thick ? this.thickGib(it) : 0;
    this.gib[a] = (this.gib[a] as number) - it.gib;
    this.gib[to] = (this.gib[to] as number) + it.gib;
    this.iops[a] = (this.iops[a] as number) - it.iops;
    this.iops[to] = (this.iops[to] as number) + it.iops;
    this.tput[a] = (this.tput[a] as number) - it.tput;
    this.tput[to] = (this.tput[to] as number) + it.tput;
    if (wasMoved) {
      this.inGib[a] = (this.inGib[a] as number) - it.gib;
      this.inThickGib[a] = (this.inThickGib[a] as number) - thick;
    }
    if (willMove) {
      this.inGib[to] = (this.inGib[to] as number) + it.gib;
      this.inThickGib[to] = (this.inThickGib[to] as number) + thick;
    }
    const dm = Number(willMove) - Number(wasMoved);
    this.moves += dm * it.vols.length;
    this.movedGiB += dm * it.gib;
    if (it.mustLeave) this.mustLeaveGiB += (Number(!willMove) - Number(!wasMoved)) * it.gib;
    for (const v of it.vols) {
      for (const key of antiAffinityKeys(this.ctx.vols[v]!)) {
        this.aaAdd(key, this.ctx.pools[a] as PoolInfo, -1);
        this.aaAdd(key, this.ctx.pools[to] as PoolInfo, 1);
      }
    }
    this.assign[i] = to;
    if (refresh) this.touch(a, to);
  }

  /** Placement (pool index per volume). */
  placement(): Int32Array {
    const out = this.ctx.current.slice();
    this.ctx.items.forEach((it, i) => {
      for (const v of it.vols) out[v] = this.assign[i] as number;
    });
    return out;
  }
}

/** Binary search in an ascending array. */
export function hasSorted(a: readonly number[], x: number): boolean {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = a[mid] as number;
    if (v === x) return true;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
