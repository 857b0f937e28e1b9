/**
 * The events the facade and the key manager report, independent of any metrics backend.
 *
 * docs/DESIGN.md §6: a metrics failure never fails an encryption. Implementations must therefore never throw from
 * these methods; {@link safeCollector} enforces that for implementations you do not control.
 *
 * @module
 */

import type {
  CryptoAlgorithm,
  CryptoOperation,
  FailureReason,
  OperationResult,
  RotationTrigger,
} from './labels.js';

/**
 * A sink for crypto metrics. Values outside the closed label sets must not become label values; see
 * `PrometheusCollector` for the reference behaviour.
 *
 * @example
 * ```ts
 * import { type MetricsCollector, PrometheusCollector } from '@mesh/metrics';
 * const metrics: MetricsCollector = new PrometheusCollector();
 * const t0 = performance.now();
 * // ... encrypt 1024 bytes into 1053 ...
 * metrics.recordOperation('encrypt', 'aes-256-gcm', 'success', (performance.now() - t0) / 1e3, 1024, 1053);
 * metrics.recordKeyUse(0x0a1b2c3d);
 * ```
 */
export interface MetricsCollector {
  /** One finished operation: `mesh_crypto_operations_total`, `_duration_seconds`, `mesh_crypto_bytes_total`. */
  recordOperation(
    operation: CryptoOperation,
    algorithm: CryptoAlgorithm,
    result: OperationResult,
    durationSeconds: number,
    bytesIn: number,
    bytesOut: number,
  ): void;
  /** One failed operation's reason: `mesh_crypto_failures_total{reason}`. */
  recordFailure(reason: FailureReason): void;
  /** One compressed payload: `mesh_compression_ratio` observes `originalBytes / compressedBytes`. */
  recordCompression(originalBytes: number, compressedBytes: number): void;
  /** One rotation: `mesh_key_rotations_total{trigger}`. */
  recordRotation(trigger: RotationTrigger): void;
  /** `count` encryptions under a live key: `mesh_key_encryptions_total{key_id}`. */
  recordKeyUse(keyId: number | string, count?: number): void;
  /** When a live key was created (ms since epoch); `mesh_key_age_seconds{key_id}` is computed at scrape. */
  setKeyAge(keyId: number | string, createdAtMs: number): void;
  /** A retired or destroyed key: its series disappear from the next scrape. */
  removeKey(keyId: number | string): void;
}

/**
 * The name of a {@link MetricsCollector} method (the `method` label of `mesh_metrics_errors_total`).
 *
 * @example
 * ```ts
 * import type { CollectorMethod } from '@mesh/metrics';
 * const method: CollectorMethod = 'recordOperation';
 * ```
 */
export type CollectorMethod = keyof MetricsCollector;

/**
 * Every {@link MetricsCollector} method name.
 *
 * @example
 * ```ts
 * import { COLLECTOR_METHODS } from '@mesh/metrics';
 * COLLECTOR_METHODS.length; // 7
 * ```
 */
export const COLLECTOR_METHODS: readonly CollectorMethod[] = Object.freeze([
  'recordOperation',
  'recordFailure',
  'recordCompression',
  'recordRotation',
  'recordKeyUse',
  'setKeyAge',
  'removeKey',
] as const);
