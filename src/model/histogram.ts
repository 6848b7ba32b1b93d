/**
 * Quantiles of cumulative latency histograms (Prometheus semantics): the drivers' I/O accounting
 * reports them, telemetry computes them over the deltas between two readings.
 *
 * @module
 */

/** A cumulative histogram: `count` observations took at most `le` (the last bound may be `+Inf`). */
export type CumulativeBuckets = readonly { readonly le: number; readonly count: number }[];

/**
 * The `q`-quantile (0..1) of a cumulative histogram, interpolated linearly inside the bucket that
 * holds it, as Prometheus' `histogram_quantile` does: the first bucket's lower bound is 0; a
 * quantile that falls in the `+Inf` bucket is reported as the highest finite bound. Null when the
 * histogram holds no observations.
 */
export function histogramQuantile(buckets: CumulativeBuckets, q: number): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be within [0, 1], got ${q}`);
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted[sorted.length - 1]?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const { le, count } of sorted) {
    if (count >= rank && count > lowerCount) {
      if (le === Number.POSITIVE_INFINITY) return lowerBound;
      return lowerBound + ((le - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    if (le !== Number.POSITIVE_INFINITY) lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}
