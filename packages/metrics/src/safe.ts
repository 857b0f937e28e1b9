/**
 * `safeCollector`: docs/DESIGN.md §6, "a metrics failure never fails an encryption".
 *
 * The facade wraps whatever collector it is given. A collector that throws, or returns a promise that
 * rejects (an `async` method would otherwise become an unhandled rejection and may end the process), has
 * the error swallowed and counted; the crypto operation carries on. The error object is handed only to the
 * optional `onError` hook, never to a label.
 *
 * @module
 */

import type { CollectorMethod, MetricsCollector } from './collector.js';
import { PrometheusCollector } from './prometheus.js';

/**
 * Somewhere to count swallowed errors; {@link PrometheusCollector} is one.
 *
 * @example
 * ```ts
 * import { type CollectorErrorSink, safeCollector, NoopCollector } from '@mesh/metrics';
 * let errors = 0;
 * const sink: CollectorErrorSink = { recordCollectorError: () => { errors++; } };
 * safeCollector(new NoopCollector(), { errorsTo: sink });
 * ```
 */
export interface CollectorErrorSink {
  recordCollectorError(method: CollectorMethod): void;
}

/**
 * Options of {@link safeCollector}.
 *
 * @example
 * ```ts
 * import { PrometheusCollector, safeCollector, type SafeCollectorOptions } from '@mesh/metrics';
 * const prom = new PrometheusCollector();
 * const options: SafeCollectorOptions = { errorsTo: prom, onError: (e, method) => console.debug(method, e) };
 * safeCollector(prom, options);
 * ```
 */
export interface SafeCollectorOptions {
  /**
   * Where to count swallowed errors as `mesh_metrics_errors_total{method}`. Defaults to the wrapped
   * collector itself when it is a {@link PrometheusCollector}.
   */
  errorsTo?: CollectorErrorSink;
  /** Called with each swallowed error (e.g. to log it once); its own errors are swallowed too. */
  onError?: (error: unknown, method: CollectorMethod) => void;
}

/**
 * A collector that never throws, plus how many errors it has swallowed.
 *
 * @example
 * ```ts
 * import { NoopCollector, safeCollector } from '@mesh/metrics';
 * const safe = safeCollector(new NoopCollector());
 * safe.errorCount; // 0
 * ```
 */
export interface SafeCollector extends MetricsCollector {
  /** Errors swallowed so far (also counted in `errorsTo`, when there is one). */
  readonly errorCount: number;
  /** The wrapped collector. */
  readonly inner: MetricsCollector;
}

const SAFE = new WeakSet<object>();

/**
 * Wraps a collector so that none of its methods can throw into the caller. Wrapping a wrapper returns it
 * unchanged.
 *
 * @example
 * ```ts
 * import { NoopCollector, PrometheusCollector, safeCollector } from '@mesh/metrics';
 * const prom = new PrometheusCollector();
 * const broken = Object.assign(new NoopCollector(), { recordFailure() { throw new Error('bug'); } });
 * const metrics = safeCollector(broken, { errorsTo: prom, onError: (e) => console.debug(e) });
 * metrics.recordFailure('expired'); // does not throw; mesh_metrics_errors_total{method="recordFailure"} 1
 * ```
 */
export function safeCollector(
  collector: MetricsCollector,
  options: SafeCollectorOptions = {},
): SafeCollector {
  if (SAFE.has(collector)) return collector as SafeCollector;
  const sink = options.errorsTo ?? (collector instanceof PrometheusCollector ? collector : undefined);
  const onError = options.onError;
  let errorCount = 0;

  const swallow = (error: unknown, method: CollectorMethod): void => {
    errorCount++;
    try {
      sink?.recordCollectorError(method);
    } catch {
      // The sink is a collector too; if it is the broken one, the local count still holds.
    }
    if (onError) {
      try {
        onError(error, method);
      } catch {
        // A logging hook must not be the thing that fails the operation either.
      }
    }
  };
  // A method declared `void` may still return a promise (an async implementation): catch its rejection.
  const settle = (returned: unknown, method: CollectorMethod): void => {
    if (returned !== undefined && typeof (returned as PromiseLike<unknown> | null)?.then === 'function') {
      (returned as PromiseLike<unknown>).then(undefined, (error: unknown) => swallow(error, method));
    }
  };

  // Written out per method (not a Proxy or a generic loop) so the hot path is a direct call V8 can inline.
  const safe: SafeCollector = {
    get errorCount() {
      return errorCount;
    },
    inner: collector,
    recordOperation(operation, algorithm, result, durationSeconds, bytesIn, bytesOut) {
      try {
        const r: unknown = collector.recordOperation(
          operation,
          algorithm,
          result,
          durationSeconds,
          bytesIn,
          bytesOut,
        );
        if (r !== undefined) settle(r, 'recordOperation');
      } catch (error) {
        swallow(error, 'recordOperation');
      }
    },
    recordFailure(reason) {
      try {
        const r: unknown = collector.recordFailure(reason);
        if (r !== undefined) settle(r, 'recordFailure');
      } catch (error) {
        swallow(error, 'recordFailure');
      }
    },
    recordCompression(originalBytes, compressedBytes) {
      try {
        const r: unknown = collector.recordCompression(originalBytes, compressedBytes);
        if (r !== undefined) settle(r, 'recordCompression');
      } catch (error) {
        swallow(error, 'recordCompression');
      }
    },
    recordRotation(trigger) {
      try {
        const r: unknown = collector.recordRotation(trigger);
        if (r !== undefined) settle(r, 'recordRotation');
      } catch (error) {
        swallow(error, 'recordRotation');
      }
    },
    recordKeyUse(keyId, count) {
      try {
        const r: unknown = collector.recordKeyUse(keyId, count);
        if (r !== undefined) settle(r, 'recordKeyUse');
      } catch (error) {
        swallow(error, 'recordKeyUse');
      }
    },
    setKeyAge(keyId, createdAtMs) {
      try {
        const r: unknown = collector.setKeyAge(keyId, createdAtMs);
        if (r !== undefined) settle(r, 'setKeyAge');
      } catch (error) {
        swallow(error, 'setKeyAge');
      }
    },
    removeKey(keyId) {
      try {
        const r: unknown = collector.removeKey(keyId);
        if (r !== undefined) settle(r, 'removeKey');
      } catch (error) {
        swallow(error, 'removeKey');
      }
    },
  };
  SAFE.add(safe);
  return safe;
}
