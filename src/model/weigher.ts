import { virtualFreeGiB, type PoolCapacity } from './capacity.js';

export interface WeighedCandidate<T> {
  readonly item: T;
  readonly weight: number;
}

/**
 * Cinder's CapacityWeigher with OrderedHostWeightHandler (section 2.5): raw weight = virtual free
 * capacity; unlimited pools weigh -1 (multiplier > 0); weights normalized to [0,1] and multiplied;
 * sorted descending, stable (ties keep input order).
 */
export function weighByCapacity<T>(
  candidates: readonly T[],
  capacityOf: (t: T) => PoolCapacity,
  thin: boolean,
  multiplier = 1.0,
): WeighedCandidate<T>[] {
  const raw = candidates.map((c) => {
    const vf = virtualFreeGiB(capacityOf(c), thin);
    if (vf === null) return multiplier > 0 ? -1 : Number.POSITIVE_INFINITY;
    return vf;
  });
  const finite = raw.filter((w) => Number.isFinite(w));
  const maxFinite = finite.length ? Math.max(...finite) : 0;
  const minFinite = finite.length ? Math.min(...finite) : 0;
  const offset = (maxFinite - minFinite) * 100 || 10000;
  const replaced = raw.map((w) => (Number.isFinite(w) ? w : maxFinite + offset));
  const max = replaced.length ? Math.max(...replaced) : 0;
  const min = replaced.length ? Math.min(...replaced) : 0;
  const weighed = candidates.map((item, i) => {
    const w = replaced[i] ?? 0;
    const norm = max === min ? 0 : (w - min) / (max - min);
    return { item, weight: multiplier * norm, index: i };
  });
  weighed.sort((a, b) => b.weight - a.weight || a.index - b.index);
  return weighed.map(({ item, weight }) => ({ item, weight }));
}
