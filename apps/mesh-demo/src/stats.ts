/** Latency statistics: exact percentiles of measured values, and quantiles estimated from histograms. */

/** The `q` quantile (0..1) of `values` by the nearest-rank method; `NaN` when there are none. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

/**
 * The `q` quantile estimated from cumulative buckets (upper bound -> count), interpolating linearly inside
 * the bucket as Prometheus' `histogram_quantile` does; `NaN` when the histogram is empty.
 */
export function histogramQuantile(buckets: ReadonlyMap<number, number>, q: number): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = bounds.length ? buckets.get(bounds[bounds.length - 1]!)! : 0;
  if (total <= 0) return Number.NaN;
  const target = q * total;
  let lower = 0;
  let below = 0;
  for (const upper of bounds) {
    const count = buckets.get(upper)!;
    if (count >= target) {
      if (upper === Number.POSITIVE_INFINITY) return lower;
      const inBucket = count - below;
      return inBucket > 0 ? lower + ((upper - lower) * (target - below)) / inBucket : upper;
    }
    lower = upper;
    below = count;
  }
  return lower;
}

/** Per-bucket increase between two scrapes of cumulative buckets; a counter reset (restart) counts from 0. */
export function bucketIncrease(
  now: ReadonlyMap<number, number>,
  before: ReadonlyMap<number, number> | undefined,
): Map<number, number> {
  const out = new Map<number, number>();
  for (const [le, count] of now) {
    const prev = before?.get(le) ?? 0;
    out.set(le, count >= prev ? count - prev : count);
  }
  return out;
}
