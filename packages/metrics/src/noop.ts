/**
 * A collector that records nothing: the default when metrics are off, and the baseline of the benchmark.
 *
 * @module
 */

import type { MetricsCollector } from './collector.js';

/**
 * Discards every event. Stateless, so one shared instance is fine.
 *
 * @example
 * ```ts
 * import { NoopCollector } from '@mesh/metrics';
 * const metrics = new NoopCollector();
 * metrics.recordOperation('encrypt', 'aes-256-gcm', 'success', 0.00001, 1024, 1053); // does nothing
 * ```
 */
export class NoopCollector implements MetricsCollector {
  recordOperation(): void {}
  recordFailure(): void {}
  recordCompression(): void {}
  recordRotation(): void {}
  recordKeyUse(): void {}
  setKeyAge(): void {}
  removeKey(): void {}
}
