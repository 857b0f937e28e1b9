/**
 * The closed label sets (docs/DESIGN.md §6: "label values never carry secrets or unbounded input").
 *
 * Every label value this package emits comes from one of these lists, from a fixed fallback
 * (`'unknown'` for an operation, algorithm or trigger; `'internal'` for a failure reason) or from a live key
 * id. A value outside its list is never turned into a new series: it is mapped to the fallback and counted in
 * `mesh_metrics_rejected_inputs_total`. The lists are frozen arrays so tests and dashboards can loop over them.
 *
 * @module
 */

/**
 * Operations the facade reports.
 *
 * @example
 * ```ts
 * import type { CryptoOperation } from '@mesh/metrics';
 * const value: CryptoOperation = 'encrypt_stream';
 * ```
 */
export type CryptoOperation =
  | 'encrypt'
  | 'decrypt'
  | 'rewrap'
  | 'encrypt_stream'
  | 'decrypt_stream'
  | 'encrypt_for'
  | 'decrypt_with'
  | 'fernet_encrypt'
  | 'fernet_decrypt';

/**
 * Algorithms the facade reports (envelope v1 algorithms plus Fernet and plain RSA-OAEP).
 *
 * @example
 * ```ts
 * import type { CryptoAlgorithm } from '@mesh/metrics';
 * const value: CryptoAlgorithm = 'hybrid-rsa-oaep-aes-256-gcm';
 * ```
 */
export type CryptoAlgorithm =
  | 'aes-256-gcm'
  | 'fernet'
  | 'rsa-oaep-sha256'
  | 'hybrid-rsa-oaep-aes-256-gcm'
  | 'stream-aes-256-gcm'
  | 'xchacha20-poly1305';

/**
 * Outcome of one operation.
 *
 * @example
 * ```ts
 * import type { OperationResult } from '@mesh/metrics';
 * const value: OperationResult = 'failure';
 * ```
 */
export type OperationResult = 'success' | 'failure';

/**
 * Why an operation failed; a closed set. `failureReasonOf(error)` derives it from a caught error.
 *
 * @example
 * ```ts
 * import type { FailureReason } from '@mesh/metrics';
 * const reason: FailureReason = 'key_not_found';
 * ```
 */
export type FailureReason =
  | 'authentication'
  | 'malformed'
  | 'expired'
  | 'key_not_found'
  | 'key_state'
  | 'keystore_unavailable'
  | 'compression_limit'
  | 'plaintext_too_large'
  | 'unsupported_algorithm'
  | 'invalid_input'
  | 'config_invalid'
  | 'internal';

/**
 * What started a key rotation (docs/DESIGN.md §4: age, usage, a manual call; `remote` = applied from etcd).
 *
 * @example
 * ```ts
 * import type { RotationTrigger } from '@mesh/metrics';
 * const value: RotationTrigger = 'usage';
 * ```
 */
export type RotationTrigger = 'initial' | 'manual' | 'interval' | 'usage' | 'remote';

/**
 * Every operation label value, in label-index order.
 *
 * @example
 * ```ts
 * import { CRYPTO_OPERATIONS } from '@mesh/metrics';
 * CRYPTO_OPERATIONS.includes('encrypt'); // true
 * ```
 */
export const CRYPTO_OPERATIONS: readonly CryptoOperation[] = Object.freeze([
  'encrypt',
  'decrypt',
  'rewrap',
  'encrypt_stream',
  'decrypt_stream',
  'encrypt_for',
  'decrypt_with',
  'fernet_encrypt',
  'fernet_decrypt',
] as const);

/**
 * Every algorithm label value.
 *
 * @example
 * ```ts
 * import { CRYPTO_ALGORITHMS } from '@mesh/metrics';
 * CRYPTO_ALGORITHMS.length; // 6
 * ```
 */
export const CRYPTO_ALGORITHMS: readonly CryptoAlgorithm[] = Object.freeze([
  'aes-256-gcm',
  'fernet',
  'rsa-oaep-sha256',
  'hybrid-rsa-oaep-aes-256-gcm',
  'stream-aes-256-gcm',
  'xchacha20-poly1305',
] as const);

/**
 * Both operation results.
 *
 * @example
 * ```ts
 * import { OPERATION_RESULTS } from '@mesh/metrics';
 * OPERATION_RESULTS; // ['success', 'failure']
 * ```
 */
export const OPERATION_RESULTS: readonly OperationResult[] = Object.freeze(['success', 'failure'] as const);

/**
 * Every failure reason; `mesh_crypto_failures_total` exports one series for each, from zero.
 *
 * @example
 * ```ts
 * import { FAILURE_REASONS } from '@mesh/metrics';
 * FAILURE_REASONS.at(-1); // 'internal' (also the fallback for an unknown reason)
 * ```
 */
export const FAILURE_REASONS: readonly FailureReason[] = Object.freeze([
  'authentication',
  'malformed',
  'expired',
  'key_not_found',
  'key_state',
  'keystore_unavailable',
  'compression_limit',
  'plaintext_too_large',
  'unsupported_algorithm',
  'invalid_input',
  'config_invalid',
  'internal',
] as const);

/**
 * Every rotation trigger; `mesh_key_rotations_total` exports one series for each, from zero.
 *
 * @example
 * ```ts
 * import { ROTATION_TRIGGERS } from '@mesh/metrics';
 * ROTATION_TRIGGERS.includes('usage'); // true
 * ```
 */
export const ROTATION_TRIGGERS: readonly RotationTrigger[] = Object.freeze([
  'initial',
  'manual',
  'interval',
  'usage',
  'remote',
] as const);

const REASON_SET: ReadonlySet<FailureReason> = new Set(FAILURE_REASONS);

/**
 * The one label value used in place of an operation, algorithm or trigger outside its closed set.
 *
 * @example
 * ```ts
 * import { PrometheusCollector } from '@mesh/metrics';
 * new PrometheusCollector().recordRotation('because I said so' as never); // counted as trigger="unknown"
 * ```
 */
export const UNKNOWN_LABEL = 'unknown';

/**
 * The failure reason used in place of a reason outside {@link FAILURE_REASONS}.
 *
 * @example
 * ```ts
 * import { PrometheusCollector } from '@mesh/metrics';
 * new PrometheusCollector().recordFailure('disk on fire' as never); // counted as reason="internal"
 * ```
 */
export const FALLBACK_FAILURE_REASON: FailureReason = 'internal';

/**
 * Type guard for a failure reason; a plain `includes` would accept `'toString'`-style prototype keys in a
 * lookup table, a Set does not.
 *
 * @example
 * ```ts
 * import { isFailureReason } from '@mesh/metrics';
 * isFailureReason('expired'); // true
 * isFailureReason('user said: expired'); // false
 * ```
 */
export function isFailureReason(value: unknown): value is FailureReason {
  return REASON_SET.has(value as FailureReason);
}
