/**
 * The inventory builder: the control plane's pools, volumes and types joined with telemetry
 * aggregates (windowed performance, growth) and prices, with an id, the time it was taken and how
 * fresh its numbers are. An inventory is refused (`TELEMETRY_STALE`, naming the pools) when a
 * pool's newest capacity sample is older than the allowed age, or missing.
 *
 * @module
 */
import { INVENTORY_SCHEMA, type FleetPool, type FleetReader, type Inventory, type InventoryPool, type InventorySource, type InventoryVolume, type PerfAggregate } from '../model/index.js';
import { AppError, formatDuration, type Clock, type IdGenerator } from '../shared/index.js';
import type { PoolPrice } from './prices.js';
import { poolGrowth, windowed, type Window } from './queries.js';
import type { TelemetryStore } from './store.js';

/** Options of {@link buildInventory}. */
export interface BuildInventoryOptions {
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Window of the performance aggregates (ms). */
  readonly windowMs: number;
  /** Window of the growth estimate (ms). */
  readonly growthWindowMs: number;
  /** Oldest acceptable newest capacity sample of a pool (ms). */
  readonly maxAgeMs: number;
  /** Prices per pool (from the price catalogue); pools absent here are unpriced. */
  readonly prices?: ReadonlyMap<string, PoolPrice>;
  /** Overrides the source named in the inventory (default: the control plane's kind and name). */
  readonly source?: InventorySource;
}

/** A pool whose telemetry is too old (or missing). */
export interface StalePool {
  readonly pool: string;
  readonly lastSampleAtMs: number | null;
  readonly ageMs: number | null;
}

/** The stale pools of a fleet at `nowMs`, sorted by name. */
export async function stalePools(store: TelemetryStore, pools: readonly FleetPool[], nowMs: number, maxAgeMs: number): Promise<{ stale: StalePool[]; newest: Map<string, number> }> {
  const latest = await store.latest('pool', 'capacity.allocated_gib', pools.map((p) => p.name));
  const newest = new Map<string, number>();
  const stale: StalePool[] = [];
  for (const p of pools) {
    const at = latest.get(p.name)?.atMs;
    if (at === undefined) stale.push({ pool: p.name, lastSampleAtMs: null, ageMs: null });
    else {
      newest.set(p.name, at);
      if (nowMs - at > maxAgeMs) stale.push({ pool: p.name, lastSampleAtMs: at, ageMs: nowMs - at });
    }
  }
  return { stale, newest };
}

function staleError(stale: readonly StalePool[], maxAgeMs: number): AppError {
  const list = stale.map((s) => (s.ageMs === null ? `${s.pool} (no capacity sample)` : `${s.pool} (newest sample ${formatDuration(s.ageMs)} old)`));
  return new AppError(
    'TELEMETRY_STALE',
    `telemetry is stale for ${stale.length} pool${stale.length === 1 ? '' : 's'} (allowed age ${formatDuration(maxAgeMs)}): ${list.join(', ')}; run 'ballast telemetry collect' or check the collectors' schedule`,
    { details: { stale: stale.map((s) => ({ ...s })), maxAgeMs } },
  );
}

/** Builds an inventory (see the module comment). */
export async function buildInventory(reader: FleetReader, store: TelemetryStore, opts: BuildInventoryOptions): Promise<Inventory> {
  const takenAtMs = opts.clock.nowMs();
  const [pools, volumes, types] = await Promise.all([reader.listPools(), reader.listVolumes(), reader.listVolumeTypes()]);
  const { stale, newest } = await stalePools(store, pools, takenAtMs, opts.maxAgeMs);
  if (stale.length > 0) throw staleError(stale, opts.maxAgeMs);

  const w: Window = { endMs: takenAtMs, windowMs: opts.windowMs };
  const [iops, bps, p50, p95, growth, vIops, vBps] = await Promise.all([
    windowed(store, 'pool', 'perf.iops', w),
    windowed(store, 'pool', 'perf.bytes_per_sec', w),
    windowed(store, 'pool', 'perf.latency_p50_ms', w),
    windowed(store, 'pool', 'perf.latency_p95_ms', w),
    poolGrowth(store, { endMs: takenAtMs, windowMs: opts.growthWindowMs }),
    windowed(store, 'volume', 'perf.iops', w),
    windowed(store, 'volume', 'perf.bytes_per_sec', w),
  ]);

  const invPools: InventoryPool[] = pools.map((p) => {
    const i = iops.get(p.name);
    const b = bps.get(p.name);
    const perf: PerfAggregate | null =
      i || b
        ? {
            iopsMean: i?.mean ?? 0,
            iopsP95: i?.p95 ?? 0,
            throughputMeanBytesPerSec: b?.mean ?? 0,
            throughputP95BytesPerSec: b?.p95 ?? 0,
            latencyP50Ms: p50.get(p.name)?.mean ?? null,
            latencyP95Ms: p95.get(p.name)?.p95 ?? null,
          }
        : null;
    return {
      ...p,
      perf,
      costPerGiBMonth: opts.prices?.get(p.name)?.perGiBMonth ?? null,
      growthGiBPerDay: growth.get(p.name) ?? null,
      sampledAtMs: newest.get(p.name)!,
    };
  });
  const invVolumes: InventoryVolume[] = volumes.map((v) => {
    const i = vIops.get(v.id);
    const b = vBps.get(v.id);
    return { ...v, perf: i || b ? { iopsP95: i?.p95 ?? 0, throughputP95BytesPerSec: b?.p95 ?? 0 } : null };
  });
  const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return {
    schema: INVENTORY_SCHEMA,
    id: opts.ids(),
    takenAtMs,
    source: opts.source ?? { kind: reader.kind, name: reader.name },
    pools: invPools.sort(byName),
    volumes: invVolumes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    volumeTypes: [...types].sort(byName),
    freshness: {
      windowMs: opts.windowMs,
      oldestSampleAtMs: invPools.length > 0 ? Math.min(...invPools.map((p) => p.sampledAtMs)) : takenAtMs,
      store: store.name,
    },
  };
}

/** Deterministic JSON of an inventory: object keys sorted at every level, two-space indent. */
export function inventoryToJson(inv: Inventory): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return `${JSON.stringify(sortKeys(inv), null, 2)}\n`;
}
