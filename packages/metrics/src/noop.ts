/**
 * A collector that records nothing: the default when metrics are off, and the baseline of the benchmark.
 *
 * @module
 */

import type { MetricsCollector } from './collector.js';
import type {
  CryptoAlgorithm,
  CryptoOperation,
  FailureReason,
  OperationResult,
  RotationTrigger,
} from './labels.js';

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
  recordOperation(
    _operation: CryptoOperation,
    _algorithm: CryptoAlgorithm,
    _result: OperationResult,
    _durationSeconds: number,
    _bytesIn: number,
    _bytesOut: number,
  ): void {}
  recordFailure(_reason: FailureReason): void {}
  recordCompression(_originalBytes: number, _compressedBytes: number): void {}
  recordRotation(_trigger: RotationTrigger): void {}
  recordKeyUse(_keyId: number | string, _count?: number): void {}
  setKeyAge(_keyId: number | string, _createdAtMs: number): void {}
  removeKey(_keyId: number | string): void {}
}
