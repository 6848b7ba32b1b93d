/**
 * Growth of used capacity as Cinder sees it: new volumes (or, for negative growth, deleted ones).
 * A pool's growth creates volumes on that pool; a volume type's growth places each new volume as
 * Cinder's scheduler would (a compatible pool that passes the capacity filter, most free capacity
 * first). Demand that fits nowhere is counted as refused, not silently dropped.
 *
 * @module
 */
import { weighByCapacity } from '../model/index.js';
import { growthAddedGiB } from './scenario-check.js';
import type { GrowthSpec } from './scenario-types.js';
import type { SimFleet, SimPool, SimVolume } from './fleet.js';

/** A growth being applied: what it has added so far. */
export interface GrowthState {
  readonly spec: GrowthSpec;
  readonly origin: string;
  /** Used GiB of the scope when the growth started (the base of compounding rates). */
  readonly usedAtStartGiB: number;
  appliedGiB: number;
  /** GiB that could not be placed (no pool had room). */
  refusedGiB: number;
  /** When growth was first refused (ms after the start), or null. */
  firstRefusedAtMs: number | null;
}

/** Per-pool effect of one application (GiB created, negative for deleted). */
export type GrowthEffect = Map<string, number>;

/** Creates ids and names for new volumes, deterministically. */
export class VolumeNamer {
  private n = 0;
  next(scope: string): { id: string; name: string } {
    this.n++;
    const seq = String(this.n).padStart(6, '0');
    return { id: `00000000-0000-4000-8000-${seq.padStart(12, '0')}`, name: `grow-${scope.replace(/[^a-zA-Z0-9]+/g, '-')}-${seq}` };
  }
}

/** Used GiB of a growth's scope now. */
export function scopeUsedGiB(fleet: SimFleet, spec: GrowthSpec): number {
  let used = 0;
  for (const v of fleet.volumes.values()) if ('pool' in spec.scope ? v.pool === spec.scope.pool : v.volumeType === spec.scope.volumeType) used += v.sizeGiB;
  return used;
}

function typeForPool(fleet: SimFleet, pool: SimPool, wanted: string | null): string | null {
  if (wanted) return wanted;
  const counts = new Map<string, number>();
  for (const v of fleet.volumes.values()) if (v.pool === pool.name) counts.set(v.volumeType, (counts.get(v.volumeType) ?? 0) + 1);
  const common = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
  if (common) return common[0];
  return fleet.listVolumeTypes().find((t) => fleet.typeFits(t.name, pool))?.name ?? null;
}

function placeNew(fleet: SimFleet, spec: GrowthSpec, size: number): SimPool | null {
  if ('pool' in spec.scope) {
    const p = fleet.pools.get(spec.scope.pool);
    return p && fleet.fits(p, size) ? p : null;
  }
  const type = spec.scope.volumeType;
  const candidates = [...fleet.pools.values()]
    .filter((p) => fleet.typeFits(type, p) && fleet.fits(p, size))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const best = weighByCapacity(candidates, (p) => fleet.capacityOf(p), true)[0];
  return best?.item ?? null;
}

/**
 * Brings a growth up to `elapsedMs` after its start: creates (or deletes) whole volumes until what
 * it added matches its curve to within one volume. Returns the GiB added per pool.
 */
export function applyGrowth(fleet: SimFleet, g: GrowthState, elapsedMs: number, namer: VolumeNamer, nowMs: number): GrowthEffect {
  const refuse = (size: number): void => {
    g.refusedGiB += size;
    g.firstRefusedAtMs ??= g.spec.fromMs + elapsedMs;
  };
  const effect: GrowthEffect = new Map();
  const spec = g.spec;
  const target = growthAddedGiB(spec.shape, Math.min(elapsedMs, spec.untilMs - spec.fromMs), g.usedAtStartGiB);
  const size = spec.volumeSizeGiB;
  const scopeName = 'pool' in spec.scope ? spec.scope.pool.slice(spec.scope.pool.indexOf('#') + 1) : spec.scope.volumeType;
  while (target - g.appliedGiB - g.refusedGiB >= size) {
    const pool = placeNew(fleet, spec, size);
    if (!pool) {
      refuse(size);
      continue;
    }
    const type = 'pool' in spec.scope ? typeForPool(fleet, pool, spec.newVolumeType) : spec.scope.volumeType;
    const t = type ? fleet.types.get(type) : undefined;
    if (!t) {
      refuse(size);
      continue;
    }
    const { id, name } = namer.next(scopeName);
    const v: SimVolume = {
      id,
      name,
      sizeGiB: size,
      pool: pool.name,
      volumeTypeId: t.id,
      volumeType: t.name,
      projectId: 'simulated-growth',
      availabilityZone: pool.availabilityZone,
      metadata: { 'ballast.io/created-by': 'simulation', 'ballast.io/created-at': String(nowMs) },
      status: 'available',
      migrationStatus: null,
      attached: false,
      multiattach: false,
      snapshotCount: 0,
      groupId: null,
      replicated: false,
      perf: null,
    };
    fleet.addVolume(v);
    g.appliedGiB += size;
    effect.set(pool.name, (effect.get(pool.name) ?? 0) + size);
  }
  while (g.appliedGiB - target > 0) {
    const inScope = [...fleet.volumes.values()]
      .filter((v) => ('pool' in spec.scope ? v.pool === spec.scope.pool : v.volumeType === spec.scope.volumeType) && (v.migrationStatus === null || v.migrationStatus === 'success' || v.migrationStatus === 'error'))
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    const victim = inScope.find((v) => v.sizeGiB <= g.appliedGiB - target);
    if (!victim) break;
    const pool = victim.pool;
    fleet.deleteVolume(victim.id);
    g.appliedGiB -= victim.sizeGiB;
    effect.set(pool, (effect.get(pool) ?? 0) - victim.sizeGiB);
  }
  return effect;
}
