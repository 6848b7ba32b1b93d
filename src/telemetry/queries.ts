/**
 * The queries the solver and the reports need, over any store: windowed statistics per pool and
 * per volume, growth per pool (GiB/day, Theil–Sen: the median of pairwise slopes, so a few outliers
 * do not move it), and the time until a pool reaches a fill threshold at that growth.
 *
 * @module
 */
import type { Entity, MetricName } from './metrics.js';
import type { StoredSample, TelemetryStore, WindowStats } from './store.js';

const DAY_MS = 86_400_000;

/** A window ending at `endMs` and lasting `windowMs`. */
export interface Window {
  readonly endMs: number;
  readonly windowMs: number;
}

/** Windowed mean, max and p95 of a metric per series, keyed by pool name or volume id. */
export async function windowed(store: TelemetryStore, entity: Entity, metric: MetricName, w: Window, keys?: readonly string[]): Promise<Map<string, WindowStats>> {
  const stats = await store.windowStats({ entity, metric, fromMs: w.endMs - w.windowMs, toMs: w.endMs, ...(keys ? { keys } : {}) });
  return new Map(stats.map((s) => [s.key, s]));
}

/**
 * Theil–Sen slope (y per x) of points: the median of the slopes of all pairs with distinct x. Above
 * `maxPoints` points, evenly spaced points are used (the estimator stays robust; cost stays
 * O(maxPoints²)). Null with fewer than two distinct x.
 */
export function theilSenSlope(points: readonly { x: number; y: number }[], maxPoints = 100): number | null {
  let pts = points;
  if (pts.length > maxPoints) {
    const step = (pts.length - 1) / (maxPoints - 1);
    pts = Array.from({ length: maxPoints }, (_, i) => points[Math.round(i * step)]!);
  }
  const all = new Float64Array((pts.length * (pts.length - 1)) / 2);
  let n = 0;
  for (let i = 0; i < pts.length; i++) {
    for (let j = i + 1; j < pts.length; j++) {
      const dx = pts[j]!.x - pts[i]!.x;
      if (dx !== 0) all[n++] = (pts[j]!.y - pts[i]!.y) / dx;
    }
  }
  if (n === 0) return null;
  const slopes = all.subarray(0, n).sort(); // typed arrays sort numerically
  const mid = n >> 1;
  return n % 2 === 1 ? slopes[mid]! : (slopes[mid - 1]! + slopes[mid]!) / 2;
}

/** Growth in GiB/day of a series of allocated-GiB samples (Theil–Sen); null without two times. */
export function growthGiBPerDay(samples: readonly StoredSample[]): number | null {
  const slope = theilSenSlope(samples.map((s) => ({ x: s.atMs, y: s.value })));
  return slope === null ? null : slope * DAY_MS;
}

/** Growth per pool (GiB/day) of `capacity.allocated_gib` over the window; pools without history absent. */
export async function poolGrowth(store: TelemetryStore, w: Window, keys?: readonly string[]): Promise<Map<string, number>> {
  const series = await store.series({ entity: 'pool', metric: 'capacity.allocated_gib', fromMs: w.endMs - w.windowMs, toMs: w.endMs, ...(keys ? { keys } : {}) });
  const out = new Map<string, number>();
  for (const [key, samples] of series) {
    const g = growthGiBPerDay(samples);
    if (g !== null) out.set(key, g);
  }
  return out;
}

/** Input of {@link timeToFull}. */
export interface FillForecastInput {
  /** GiB in use now (allocated). */
  readonly usedGiB: number;
  /** GiB the pool can hold (total less reserved). */
  readonly usableGiB: number;
  /** Fill share (0..1] at which the pool counts as full, e.g. 0.85. */
  readonly thresholdShare: number;
  readonly growthGiBPerDay: number | null;
  readonly nowMs: number;
}

/** When a pool reaches its threshold: `already` over it, `never` (not growing), or a time. */
export type FillForecast =
  | { readonly kind: 'already'; readonly usedShare: number }
  | { readonly kind: 'never'; readonly usedShare: number }
  | { readonly kind: 'at'; readonly usedShare: number; readonly daysToFull: number; readonly fullAtMs: number };

/** Time until `usedGiB` reaches `thresholdShare × usableGiB` at the given growth. */
export function timeToFull(i: FillForecastInput): FillForecast {
  const usedShare = i.usableGiB > 0 ? i.usedGiB / i.usableGiB : 1;
  const limit = i.thresholdShare * i.usableGiB;
  if (i.usedGiB >= limit) return { kind: 'already', usedShare };
  if (i.growthGiBPerDay === null || !(i.growthGiBPerDay > 0)) return { kind: 'never', usedShare };
  const daysToFull = (limit - i.usedGiB) / i.growthGiBPerDay;
  return { kind: 'at', usedShare, daysToFull, fullAtMs: Math.round(i.nowMs + daysToFull * DAY_MS) };
}
