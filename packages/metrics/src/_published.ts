/**
 * prom-client counters and gauges that are filled at scrape time.
 *
 * The collector accumulates in typed arrays (no label hashing on the hot path) and a `collect()` callback
 * publishes the totals into these metrics just before prom-client renders them. Publishing must clear the
 * previous series (a retired key's series must disappear), which is `reset()`; but `registry.resetMetrics()`
 * also calls `reset()`, and that one has to zero the collector's totals too. Hence two methods.
 *
 * @module
 */

import { Counter, Gauge } from 'prom-client';

/** A Counter whose series are rebuilt from the collector's totals at every scrape. */
export class PublishedCounter<T extends string> extends Counter<T> {
  /** Set by the owner after construction; zeroes its totals. */
  resetHook: (() => void) | undefined;

  /** From `registry.resetMetrics()`: drop the series and the totals behind them. */
  override reset(): void {
    super.reset();
    this.resetHook?.();
  }

  /** From the owner's `collect()`: drop the series only, they are republished right after. */
  clearSeries(): void {
    super.reset();
  }
}

/** A Gauge whose series are rebuilt at every scrape (key ages are computed from the clock then). */
export class PublishedGauge<T extends string> extends Gauge<T> {
  clearSeries(): void {
    super.reset();
  }
}
