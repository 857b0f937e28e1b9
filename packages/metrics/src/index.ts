/**
 * `@mesh/metrics`: Prometheus metrics for Mesh Encryption that never hurt the crypto path (docs/DESIGN.md §6).
 *
 * @module
 */

export type { CollectorMethod, MetricsCollector } from './collector.js';
export { COLLECTOR_METHODS } from './collector.js';
export type { MetricsErrorCode } from './errors.js';
export { MetricsError } from './errors.js';
export { parseKeyId } from './key-id.js';
export type {
  CryptoAlgorithm,
  CryptoOperation,
  FailureReason,
  OperationResult,
  RotationTrigger,
} from './labels.js';
export {
  CRYPTO_ALGORITHMS,
  CRYPTO_OPERATIONS,
  FAILURE_REASONS,
  FALLBACK_FAILURE_REASON,
  isFailureReason,
  OPERATION_RESULTS,
  ROTATION_TRIGGERS,
  UNKNOWN_LABEL,
} from './labels.js';
export { NoopCollector } from './noop.js';
export type { MetricsRegistry, PrometheusCollectorOptions, RejectedInputKind } from './prometheus.js';
export {
  DEFAULT_COMPRESSION_BUCKETS,
  DEFAULT_DURATION_BUCKETS,
  DEFAULT_MAX_LIVE_KEYS,
  PrometheusCollector,
  REJECTED_INPUT_KINDS,
} from './prometheus.js';
export { failureReasonFromCode, failureReasonOf } from './reasons.js';
export type { CollectorErrorSink, SafeCollector, SafeCollectorOptions } from './safe.js';
export { safeCollector } from './safe.js';
export type { MetricsServer, ServeMetricsOptions } from './serve.js';
export { DEFAULT_METRICS_PORT, serveMetrics } from './serve.js';
