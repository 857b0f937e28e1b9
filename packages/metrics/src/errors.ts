/**
 * The error type of `@mesh/metrics`.
 *
 * docs/DESIGN.md §7: every Mesh package's errors share one shape (`name`, `code`, `cause`) and the
 * `Symbol.for('mesh.error')` marker, so one `isMeshError(e)` check (from `@mesh/crypto-core`) recognises them
 * all. This package must not depend on crypto-core just for an error class, so it defines its own with the
 * same shape. Recording a metric never throws; only construction-time configuration and `serveMetrics` do.
 *
 * @module
 */

/** The marker every Mesh error carries; `Symbol.for` makes it the same symbol across module copies. */
const MESH_ERROR: unique symbol = Symbol.for('mesh.error') as never;

/**
 * Stable codes thrown by this package (a subset of the Mesh codes; part of the semver contract).
 *
 * @example
 * ```ts
 * import type { MetricsErrorCode } from '@mesh/metrics';
 * const code: MetricsErrorCode = 'ERR_CONFIG_INVALID';
 * ```
 */
export type MetricsErrorCode = 'ERR_CONFIG_INVALID';

/**
 * Thrown for an invalid option (bad bucket list, metric prefix, port, path) or a registry that already holds
 * metrics with the same names. Never thrown while recording.
 *
 * @example
 * ```ts
 * import { MetricsError, PrometheusCollector } from '@mesh/metrics';
 * try { new PrometheusCollector({ buckets: [2, 1] }); }
 * catch (e) { if (e instanceof MetricsError && e.code === 'ERR_CONFIG_INVALID') console.error(e.message); }
 * ```
 */
export class MetricsError extends Error {
  override readonly name = 'MetricsError';
  readonly code: MetricsErrorCode;
  readonly [MESH_ERROR] = true as const;

  constructor(code: MetricsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Precondition in the style of the AWS Encryption SDK's `needs`: a typed config error naming the rule. */
export function needs(condition: unknown, message: string): asserts condition {
  if (!condition) throw new MetricsError('ERR_CONFIG_INVALID', message);
}
