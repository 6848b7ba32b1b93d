/**
 * The aggregated flow model: movable items grouped into classes of alike items (same pool, same
 * destinations, thick or thin, must leave or not, optionally the same power-of-two size), and one
 * column per (class, destination) carrying GiB. Pool resources are linear in the flows; IOPS and
 * throughput use the class's lowest density for what arrives and its highest for what leaves, so
 * that every integral placement maps onto a feasible point of no higher objective: the LP optimum
 * is a valid lower bound (when no destination is pruned).
 *
 * @module
 */
import type { Aggregates, Item, PoolInfo, SolveContext } from '../context.js';
import type { PoolResource } from '../plugin.js';

export interface FlowClass {
  readonly idx: number;
  readonly cur: number;
  readonly items: readonly number[];
  readonly gib: number;
  readonly thick: boolean;
  readonly mustLeave: boolean;
  readonly dests: readonly number[];
  /** Largest GiB one move of the class can carry (for the move-count relaxation). */
  readonly maxGibPerMove: number;
  /** IOPS and throughput per GiB: lowest (arriving) and highest (leaving). */
  readonly iopsIn: number;
  readonly iopsOut: number;
  readonly tputIn: number;
  readonly tputOut: number;
}

export interface Col {
  readonly kind: 'flow' | 'aux' | 'slack';
  readonly cls: number;
  readonly pool: number;
  readonly name: string;
  obj: number;
  /** For slack columns: unmet units per unit of slack. */
  readonly scale: number;
}

export interface Row {
  readonly name: string;
  readonly max?: number;
  readonly min?: number;
  readonly entries: readonly (readonly [number, number])[];
}

/** A linear expression `c0 + Σ coef·col`. */
export interface LinExpr {
  readonly c0: number;
  readonly terms: readonly (readonly [number, number])[];
}

export interface FlowModelOptions {
  /** Keep at most this many destinations per class (candidate pruning); Infinity keeps all (a valid bound). */
  readonly maxDests: number;
  /** Split classes by power-of-two size (less rounding loss, a bigger model). */
  readonly sizeBuckets: boolean;
  /** Drop classes that cannot gain (see {@link canGain}). */
  readonly pruneSources: boolean;
  /** One class per item: with integral columns the model is the exact MIP. */
  readonly singletons?: boolean;
  /** With `restrictTo`: let max/min terms see only the part's own pools (default true). */
  readonly scoped?: boolean;
}

export class FlowModel {
  readonly cols: Col[] = [];
  readonly rows: Row[] = [];
  objConst = 0;
  readonly inflow: number[][];
  readonly outflow: number[][];
  /** True when destinations or classes were pruned: the optimum is then not a bound. */
  pruned = false;
  /** One class per item (the exact model when columns are integral in units of the class size). */
  exact = false;
  /**
   * For a model of one independent part of the fleet: the pools its items live on or may use.
   * Max/min terms then ignore the other pools (their parts are solved separately); null = all.
   */
  scope: ReadonlySet<number> | null = null;
  /** Each objective term's share of the objective: constant and coefficients by column. */
  readonly terms: { name: string; weight: number; c0: number; coef: Map<number, number> }[] = [];

  constructor(
    readonly ctx: SolveContext,
    readonly base: Aggregates,
    readonly classes: readonly FlowClass[],
  ) {
    this.inflow = ctx.pools.map(() => []);
    this.outflow = ctx.pools.map(() => []);
    for (const c of classes) {
      for (const p of c.dests) {
        const j = this.cols.length;
        this.cols.push({ kind: 'flow', cls: c.idx, pool: p, name: `f${c.idx}_${p}`, obj: 0, scale: 0 });
        (this.inflow[p] as number[]).push(j);
        (this.outflow[c.cur] as number[]).push(j);
      }
    }
  }

  /** Adds a non-negative auxiliary column (e.g. the utilization ceiling U); returns its index. */
  addAux(name: string, obj = 0, kind: 'aux' | 'slack' = 'aux', scale = 0): number {
    this.cols.push({ kind, cls: -1, pool: -1, name, obj, scale });
    return this.cols.length - 1;
  }

  addRow(name: string, bound: { max?: number; min?: number }, entries: readonly (readonly [number, number])[]): void {
    const nz = entries.filter(([, v]) => v !== 0);
    this.rows.push({ name, ...bound, entries: nz });
  }

  addObj(col: number, coef: number): void {
    (this.cols[col] as Col).obj += coef;
  }

  /** A pool resource as a linear expression of the flows. */
  expr(pool: number, resource: PoolResource): LinExpr {
    const terms: [number, number][] = [];
    const inCoef = (c: FlowClass): number =>
      resource === 'gib' || resource === 'inGib' ? 1 : resource === 'inThickGib' ? (c.thick ? 1 : 0) : resource === 'iops' ? c.iopsIn : c.tputIn;
    const outCoef = (c: FlowClass): number => (resource === 'gib' ? 1 : resource === 'iops' ? c.iopsOut : resource === 'tput' ? c.tputOut : 0);
    for (const j of this.inflow[pool] as number[]) terms.push([j, inCoef(this.classes[(this.cols[j] as Col).cls] as FlowClass)]);
    for (const j of this.outflow[pool] as number[]) terms.push([j, -outCoef(this.classes[(this.cols[j] as Col).cls] as FlowClass)]);
    const c0 = resource === 'inGib' || resource === 'inThickGib' ? 0 : ((this.base[resource] as Float64Array)[pool] as number);
    return { c0, terms: terms.filter(([, v]) => v !== 0) };
  }

  /**
   * Factor HiGHS multiplies objective coefficients by, so the largest is 1: per-GiB prices and move
   * costs are tiny (1e-6 to 1e-9), below its dual feasibility tolerance (1e-7) unscaled, and it
   * then stops short of the optimum (seen at 20k × 200). javascript-lp-solver is given them as they
   * are (scaled, it stopped short instead).
   */
  objScale(): number {
    let max = 0;
    for (const c of this.cols) max = Math.max(max, Math.abs(c.obj));
    return max > 0 ? 1 / max : 1;
  }

  /** Number of cells of a dense tableau for this model (what javascript-lp-solver allocates). */
  denseCells(): number {
    return (this.cols.length + 1) * (this.rows.length + 1);
  }
}

/** True when moving the class could lower the objective or is required. */
function canGain(ctx: SolveContext, base: Aggregates, cur: number, dests: readonly number[], mustLeave: boolean, over: Set<number>): boolean {
  if (mustLeave || over.has(cur) || dests.length === 0) return mustLeave || over.has(cur);
  const o = ctx.policy.objectives;
  if (o.performance.weight > 0) return true;
  const share = (p: number) => ((base.gib[p] as number) / (ctx.pools[p] as PoolInfo).baseGiB) || 0;
  if (o.balance.weight > 0 && dests.some((p) => share(p) < share(cur) - 1e-9)) return true;
  if (o.cost.weight > 0 && dests.some((p) => (ctx.pools[p] as PoolInfo).price < (ctx.pools[cur] as PoolInfo).price)) return true;
  return o.balance.weight > 0 && o.balance.by !== 'capacity';
}

/** Groups the movable items into classes and builds the columns. */
export function buildFlowModel(ctx: SolveContext, base: Aggregates, opts: FlowModelOptions, restrictTo?: ReadonlySet<number>): FlowModel {
  const over = new Set<number>();
  for (const l of ctx.limits) if (((base[l.resource] as Float64Array)[l.pool] as number) > l.limit + 1e-9) over.add(l.pool);
  const byKey = new Map<string, Item[]>();
  for (const it of ctx.items) {
    if (restrictTo && !restrictTo.has(it.idx)) continue;
    if (it.eligible.length === 0) continue;
    const bucket = opts.sizeBuckets ? Math.floor(Math.log2(Math.max(1, it.gib))) : 0;
    const key = opts.singletons ? String(it.idx).padStart(9, '0') : `${it.cur}|${it.thick ? 1 : 0}|${it.mustLeave ? 1 : 0}|${bucket}|${it.eligible.join(',')}`;
    const g = byKey.get(key);
    if (g) g.push(it);
    else byKey.set(key, [it]);
  }
  const keys = [...byKey.keys()].sort();
  const classes: FlowClass[] = [];
  let pruned = false;
  const rank = (p: number): number => {
    const pool = ctx.pools[p] as PoolInfo;
    const share = Number.isFinite(pool.baseGiB) ? (base.gib[p] as number) / pool.baseGiB : 0;
    return share + (ctx.policy.objectives.cost.weight > 0 ? pool.price : 0);
  };
  for (const key of keys) {
    const items = byKey.get(key) as Item[];
    const first = items[0] as Item;
    let dests = first.eligible;
    if (opts.pruneSources && !canGain(ctx, base, first.cur, dests, first.mustLeave, over)) {
      pruned = true;
      continue;
    }
    if (dests.length > opts.maxDests) {
      dests = [...dests].sort((a, b) => rank(a) - rank(b) || a - b).slice(0, opts.maxDests).sort((a, b) => a - b);
      pruned = true;
    }
    let gib = 0;
    let maxPer = 0;
    let iMin = Number.POSITIVE_INFINITY;
    let iMax = 0;
    let tMin = Number.POSITIVE_INFINITY;
    let tMax = 0;
    for (const it of items) {
      gib += it.gib;
      maxPer = Math.max(maxPer, it.gib / it.vols.length);
      const g = Math.max(it.gib, 1e-9);
      iMin = Math.min(iMin, it.iops / g);
      iMax = Math.max(iMax, it.iops / g);
      tMin = Math.min(tMin, it.tput / g);
      tMax = Math.max(tMax, it.tput / g);
    }
    if (gib <= 0) continue;
    classes.push({
      idx: classes.length,
      cur: first.cur,
      items: items.map((i) => i.idx),
      gib,
      thick: first.thick,
      mustLeave: first.mustLeave,
      dests,
      maxGibPerMove: Math.max(maxPer, 1e-9),
      iopsIn: iMin,
      iopsOut: iMax,
      tputIn: tMin,
      tputOut: tMax,
    });
  }
  const m = new FlowModel(ctx, base, classes);
  m.pruned = pruned || restrictTo !== undefined;
  if (restrictTo && opts.scoped !== false) {
    const scope = new Set<number>();
    for (const i of restrictTo) {
      const it = ctx.items[i] as Item;
      scope.add(it.cur);
      for (const p of it.eligible) scope.add(p);
    }
    m.scope = scope;
  }
  m.exact = opts.singletons === true;
  return m;
}
