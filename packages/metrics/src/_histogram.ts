/**
 * A histogram that accumulates in typed arrays and renders itself only when the registry is scraped.
 *
 * Why not prom-client's `Histogram`: every `observe()` there validates the label object and builds a hash
 * string, and there is no public way to publish buckets counted elsewhere. This class implements the
 * contract prom-client's `Registry` uses for any metric (`name`, `help`, `type`, `aggregator`, `get()`,
 * `reset()`), so `registry.metrics()`, `getMetricsAsJSON()`, `Registry.merge` and `AggregatorRegistry`
 * treat it like a built-in histogram, while `observe()` is a bucket scan and three typed-array writes.
 *
 * Exposition format (Prometheus text format 0.0.4 / OpenMetrics 1.0 §histogram): cumulative `_bucket`
 * series with an `le` label ending in `+Inf`, then `_sum` and `_count`.
 *
 * @module
 */

/** Label name/value pairs of one histogram series (without `le`). */
export type SeriesLabels = Record<string, string>;

interface HistogramValue {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

/** Accumulated observations for a fixed number of series, indexed 0..series-1. */
export class HistogramState {
  /** Upper bounds, strictly increasing; the implicit `+Inf` bucket follows. */
  readonly bounds: Float64Array;
  /** Per-series, per-bucket (non-cumulative) counts: `series * (bounds.length + 1) + bucket`. */
  readonly buckets: Float64Array;
  readonly sums: Float64Array;
  readonly counts: Float64Array;
  private readonly stride: number;

  constructor(bounds: readonly number[], series: number) {
    this.bounds = Float64Array.from(bounds);
    this.stride = bounds.length + 1;
    this.buckets = new Float64Array(series * this.stride);
    this.sums = new Float64Array(series);
    this.counts = new Float64Array(series);
  }

  /** `value` must be a finite number >= 0 (the caller checks, to count rejects where it knows why). */
  observe(series: number, value: number): void {
    const bounds = this.bounds;
    const n = bounds.length;
    // `le` is inclusive: the first bound with value <= bound.
    let i = 0;
    while (i < n && value > bounds[i]!) i++;
    this.buckets[series * this.stride + i]! += 1;
    this.sums[series]! += value;
    this.counts[series]! += 1;
  }

  reset(): void {
    this.buckets.fill(0);
    this.sums.fill(0);
    this.counts.fill(0);
  }

  /** The exposition values of one series, buckets cumulative as the format requires. */
  render(name: string, series: number, labels: SeriesLabels, out: HistogramValue[]): void {
    const base = series * this.stride;
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.buckets[base + i]!;
      out.push({
        value: cumulative,
        labels: { ...labels, le: this.bounds[i]! },
        metricName: `${name}_bucket`,
      });
    }
    const count = this.counts[series]!;
    out.push({ value: count, labels: { ...labels, le: '+Inf' }, metricName: `${name}_bucket` });
    out.push({ value: this.sums[series]!, labels: { ...labels }, metricName: `${name}_sum` });
    out.push({ value: count, labels: { ...labels }, metricName: `${name}_count` });
  }
}

/** A registry-facing histogram whose series come from a callback at scrape time. */
export class ScrapedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly state: HistogramState,
    /** Series to export now, as [index, labels] pairs. */
    private readonly series: () => Iterable<readonly [number, SeriesLabels]>,
    /** What `registry.resetMetrics()` does: the owner zeroes all of its state at once. */
    private readonly onReset: () => void,
  ) {}

  /** Called by prom-client's Registry for both `metrics()` and `getMetricsAsJSON()`. */
  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: HistogramValue[];
  }> {
    const values: HistogramValue[] = [];
    for (const [index, labels] of this.series()) this.state.render(this.name, index, labels, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** `registry.resetMetrics()` clears the observations, as it does for prom-client's own histograms. */
  reset(): void {
    this.onReset();
  }
}
