/**
 * The solve context: the inventory and the composed policy indexed for solving. Pools and volumes
 * get dense indices (in the inventory's sorted order), rules are resolved once per pool and per
 * volume (`resolvePool` / `resolveVolume`), fixed volumes are named, alike volumes kept together
 * by affinity become one movable item, and each item gets its eligible destinations from the
 * constraint plugins' filters.
 *
 * @module
 */
import type { Inventory, InventoryPool, InventoryVolume } from '../model/index.js';
import { matchesGlob, resolvePool, resolveVolume, type CompiledPolicy, type ResolvedPool, type ResolvedVolume } from '../policy/index.js';
import type { PoolLimit } from './plugin.js';
import { CONSTRAINTS } from './constraints/registry.js';
import type { FixedVolume } from './types.js';

export const GIB_BYTES = 1024 ** 3;

export interface PoolInfo {
  readonly idx: number;
  readonly name: string;
  readonly backend: string;
  readonly az: string;
  readonly pool: InventoryPool;
  /** Usable GiB on Cinder's math (total less reserved); Infinity when the pool reports no number. */
  readonly baseGiB: number;
  /** Allocated GiB not accounted for by listed volumes (constant under any plan). */
  readonly unmanagedGiB: number;
  /** Price of a GiB-month (inventory price, else the policy's pricing, else its default). */
  readonly price: number;
  readonly resolved: ResolvedPool;
}

export interface VolInfo {
  readonly idx: number;
  readonly v: InventoryVolume;
  /** Index of the pool it lives on; -1 when that pool is not in the inventory. */
  readonly cur: number;
  readonly resolved: ResolvedVolume;
  readonly extraSpecs: Readonly<Record<string, string>>;
  /** Thin request on Cinder's capacity math (the type's `provisioning:type` is not `thick`). */
  readonly thin: boolean;
  readonly iops: number;
  readonly tput: number;
}

/** A movable unit: one volume, or an affinity group kept on one pool. */
export interface Item {
  readonly idx: number;
  readonly vols: readonly number[];
  readonly cur: number;
  readonly gib: number;
  readonly iops: number;
  readonly tput: number;
  readonly thick: boolean;
  /** Destinations other than `cur` it may move to, ascending. */
  readonly eligible: readonly number[];
  readonly mustLeave: boolean;
  /** Anti-affinity keys `label=value@across` of its members. */
  readonly aaKeys: readonly string[];
}

/** Pool totals under a placement. */
export interface Aggregates {
  readonly gib: Float64Array;
  readonly iops: Float64Array;
  readonly tput: Float64Array;
  readonly inGib: Float64Array;
  readonly inThickGib: Float64Array;
  moves: number;
  movedGiB: number;
  /** GiB of movable volumes still on a pool they must leave. */
  mustLeaveGiB: number;
}

export interface SolveContext {
  readonly inventory: Inventory;
  readonly policy: CompiledPolicy;
  readonly pools: readonly PoolInfo[];
  readonly vols: readonly VolInfo[];
  readonly poolIndex: ReadonlyMap<string, number>;
  /** Why each fixed volume stays (by volume index); absent = movable. */
  readonly fixedReason: ReadonlyMap<number, { plugin: string; reason: string }>;
  readonly items: readonly Item[];
  /** Item index of each volume; -1 for fixed volumes. */
  readonly itemOfVol: Int32Array;
  readonly limits: readonly PoolLimit[];
  readonly budgets: { readonly maxMoves: number; readonly maxGiB: number };
  /** The current placement (pool index per volume). */
  readonly current: Int32Array;
  /** Notes gathered while building (split affinity groups, unknown pools). */
  readonly notes: string[];
}

function pricing(policy: CompiledPolicy, p: InventoryPool): number {
  if (p.costPerGiBMonth !== null) return p.costPerGiBMonth;
  const hit = policy.objectives.cost.pricing.find((x) => matchesGlob(x.poolPattern, p.name));
  return hit ? hit.costPerGiBMonth : policy.objectives.cost.defaultCostPerGiBMonth;
}

function usableGiB(p: InventoryPool): number {
  const total = p.capacity.totalCapacityGb;
  if (typeof total !== 'number' || total <= 0) return Number.POSITIVE_INFINITY;
  return total - Math.floor((total * p.capacity.reservedPercentage) / 100);
}

/** Builds the context. `freeze` lists volume ids held in place for this solve. */
export function buildContext(inventory: Inventory, policy: CompiledPolicy, freeze: readonly string[] = []): SolveContext {
  const notes: string[] = [];
  const poolIndex = new Map<string, number>();
  inventory.pools.forEach((p, i) => poolIndex.set(p.name, i));
  const sizeOn = new Float64Array(inventory.pools.length);
  for (const v of inventory.volumes) {
    const i = poolIndex.get(v.pool);
    if (i !== undefined) sizeOn[i] = (sizeOn[i] ?? 0) + v.sizeGiB;
  }
  const pools: PoolInfo[] = inventory.pools.map((p, idx) => ({
    idx,
    name: p.name,
    backend: p.backend,
    az: p.availabilityZone,
    pool: p,
    baseGiB: usableGiB(p),
    unmanagedGiB: Math.max(0, p.allocatedGiB - (sizeOn[idx] ?? 0)),
    price: pricing(policy, p),
    resolved: resolvePool(policy, { name: p.name, availabilityZone: p.availabilityZone }),
  }));
  const typeById = new Map(inventory.volumeTypes.map((t) => [t.id, t]));
  const typeByName = new Map(inventory.volumeTypes.map((t) => [t.name, t]));
  const vols: VolInfo[] = inventory.volumes.map((v, idx) => {
    const cur = poolIndex.get(v.pool) ?? -1;
    const az = cur >= 0 ? (pools[cur] as PoolInfo).az : v.availabilityZone;
    const type = typeById.get(v.volumeTypeId) ?? typeByName.get(v.volumeType);
    const extraSpecs = type?.extraSpecs ?? {};
    return {
      idx,
      v,
      cur,
      resolved: resolveVolume(policy, {
        id: v.id,
        name: v.name,
        volumeType: v.volumeType,
        projectId: v.projectId,
        metadata: v.metadata,
        pool: { name: v.pool, availabilityZone: az },
      }),
      extraSpecs,
      thin: (extraSpecs['provisioning:type'] ?? '').trim().toLowerCase() !== 'thick',
      iops: v.perf?.iopsP95 ?? 0,
      tput: v.perf?.throughputP95BytesPerSec ?? 0,
    };
  });
  const current = Int32Array.from(vols, (x) => x.cur);
  const frozen = new Set(freeze);
  const fixedReason = new Map<number, { plugin: string; reason: string }>();
  const partial = { inventory, policy, pools, vols, poolIndex, current, notes } as unknown as SolveContext;
  for (const vi of vols) {
    if (vi.cur < 0) {
      fixedReason.set(vi.idx, { plugin: 'movable', reason: `pool ${vi.v.pool} is not in the inventory` });
      continue;
    }
    if (frozen.has(vi.v.id)) {
      fixedReason.set(vi.idx, { plugin: 'freeze', reason: 'frozen for this solve' });
      continue;
    }
    for (const c of CONSTRAINTS) {
      const why = c.fixes?.(partial, vi) ?? null;
      if (why !== null) {
        fixedReason.set(vi.idx, { plugin: c.name, reason: why });
        break;
      }
    }
  }
  const ctxNoItems = { ...partial, fixedReason } as SolveContext;
  const units = affinityUnits(ctxNoItems);
  const { items, itemOfVol } = buildItems(ctxNoItems, units);
  const ctx: SolveContext = {
    ...ctxNoItems,
    items,
    itemOfVol,
    limits: [],
    budgets: {
      maxMoves: policy.budgets.maxMoves ?? Number.POSITIVE_INFINITY,
      maxGiB: policy.budgets.maxBytesMoved === null ? Number.POSITIVE_INFINITY : policy.budgets.maxBytesMoved / GIB_BYTES,
    },
  };
  const limits = CONSTRAINTS.flatMap((c) => c.limits?.(ctx) ?? []);
  return { ...ctx, limits };
}

/** Pool-affinity groups whose members all live on one pool and may all move: merged into units. */
function affinityUnits(ctx: SolveContext): number[][] {
  const parent = Int32Array.from(ctx.vols, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i] as number] as number;
    return i;
  };
  const groups = new Map<string, number[]>();
  for (const vi of ctx.vols) {
    for (const a of vi.resolved.affinity) {
      if (a.within !== 'pool') continue;
      const value = vi.v.metadata[a.labelKey];
      if (value === undefined) continue;
      const key = `${a.labelKey}=${value}`;
      const g = groups.get(key);
      if (g) g.push(vi.idx);
      else groups.set(key, [vi.idx]);
    }
  }
  for (const [key, members] of [...groups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const pools = new Set(members.map((m) => ctx.current[m]));
    if (pools.size > 1) {
      ctx.notes.push(`affinity group ${key} is split across ${pools.size} pools; its members are planned one by one`);
      continue;
    }
    for (const m of members) parent[find(m)] = find(members[0] as number);
  }
  const byRoot = new Map<number, number[]>();
  for (let i = 0; i < ctx.vols.length; i++) {
    const r = find(i);
    const g = byRoot.get(r);
    if (g) g.push(i);
    else byRoot.set(r, [i]);
  }
  return [...byRoot.values()];
}

function buildItems(ctx: SolveContext, units: number[][]): { items: Item[]; itemOfVol: Int32Array } {
  const itemOfVol = new Int32Array(ctx.vols.length).fill(-1);
  const items: Item[] = [];
  const allowedCache = new Map<string, number[]>();
  const filters = CONSTRAINTS.filter((c) => c.allows !== undefined);
  const allowedFor = (vi: VolInfo): number[] => {
    const sig = filters.map((c) => c.signature?.(ctx, vi) ?? vi.v.id).join('\u0001');
    let m = allowedCache.get(sig);
    if (!m) {
      m = [];
      for (const p of ctx.pools) if (filters.every((c) => c.allows?.(ctx, vi, p) === null)) m.push(p.idx);
      allowedCache.set(sig, m);
    }
    return m;
  };
  // alike items share one eligible array (the solver keys per-list work on its identity)
  const interned = new Map<string, number[]>();
  for (const unit of units.sort((a, b) => (a[0] as number) - (b[0] as number))) {
    if (unit.some((i) => ctx.fixedReason.has(i))) continue;
    const first = ctx.vols[unit[0] as number] as VolInfo;
    let eligible = allowedFor(first).filter((p) => p !== first.cur);
    for (let k = 1; k < unit.length; k++) {
      const other = new Set(allowedFor(ctx.vols[unit[k] as number] as VolInfo));
      eligible = eligible.filter((p) => other.has(p));
    }
    const aa = new Set<string>();
    let gib = 0;
    let iops = 0;
    let tput = 0;
    let thick = false;
    let mustLeave = false;
    for (const i of unit) {
      const vi = ctx.vols[i] as VolInfo;
      gib += vi.v.sizeGiB;
      iops += vi.iops;
      tput += vi.tput;
      thick ||= !vi.thin;
      mustLeave ||= vi.resolved.mustLeave;
      for (const key of antiAffinityKeys(vi)) aa.add(key);
    }
    const ekey = eligible.join(',');
    eligible = interned.get(ekey) ?? (interned.set(ekey, eligible), eligible);
    const idx = items.length;
    for (const i of unit) itemOfVol[i] = idx;
    items.push({ idx, vols: unit, cur: first.cur, gib, iops, tput, thick, eligible, mustLeave, aaKeys: [...aa].sort() });
  }
  return { items, itemOfVol };
}

/** `label=value@across` for each anti-affinity group the volume belongs to. */
export function antiAffinityKeys(vi: VolInfo): string[] {
  const out: string[] = [];
  for (const g of vi.resolved.antiAffinity) {
    const value = vi.v.metadata[g.labelKey];
    if (value !== undefined) out.push(`${g.labelKey}=${value}@${g.across}`);
  }
  return out;
}

/** The failure domain of a pool for an anti-affinity key's `across`. */
export function domainOf(pool: PoolInfo, across: string): string {
  return across === 'backend' ? pool.backend : across === 'availabilityZone' ? pool.az : pool.name;
}

/** Pool totals under a placement, from scratch. */
export function aggregatesOf(ctx: SolveContext, placement: Int32Array): Aggregates {
  const P = ctx.pools.length;
  const agg: Aggregates = {
    gib: Float64Array.from(ctx.pools, (p) => p.unmanagedGiB),
    iops: new Float64Array(P),
    tput: new Float64Array(P),
    inGib: new Float64Array(P),
    inThickGib: new Float64Array(P),
    moves: 0,
    movedGiB: 0,
    mustLeaveGiB: 0,
  };
  for (const vi of ctx.vols) {
    const p = placement[vi.idx] as number;
    if (p < 0) continue;
    agg.gib[p] = (agg.gib[p] as number) + vi.v.sizeGiB;
    agg.iops[p] = (agg.iops[p] as number) + vi.iops;
    agg.tput[p] = (agg.tput[p] as number) + vi.tput;
    if (p !== vi.cur) {
      agg.moves++;
      agg.movedGiB += vi.v.sizeGiB;
      agg.inGib[p] = (agg.inGib[p] as number) + vi.v.sizeGiB;
      if (!vi.thin) agg.inThickGib[p] = (agg.inThickGib[p] as number) + vi.v.sizeGiB;
    } else if (vi.resolved.mustLeave && !ctx.fixedReason.has(vi.idx)) {
      agg.mustLeaveGiB += vi.v.sizeGiB;
    }
  }
  return agg;
}

/** Amount of a pool resource under aggregates. */
export function resourceAmount(agg: Aggregates, resource: PoolLimit['resource'], pool: number): number {
  return (agg[resource] as Float64Array)[pool] as number;
}

/** The fixed volumes, sorted by id, for {@link SolveResult.fixed}. */
export function fixedList(ctx: SolveContext): FixedVolume[] {
  return [...ctx.fixedReason.entries()]
    .map(([i, r]) => ({ volumeId: (ctx.vols[i] as VolInfo).v.id, reason: r.reason }))
    .sort((a, b) => (a.volumeId < b.volumeId ? -1 : a.volumeId > b.volumeId ? 1 : 0));
}
