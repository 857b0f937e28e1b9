/**
 * From a thrown error to a failure reason.
 *
 * docs/DESIGN.md §7 codes are a semver contract, so the mapping is a fixed table over code strings; this package
 * reads `error.code` structurally and does not import crypto-core. An error that is not a Mesh error, or a
 * code this table does not know, maps to `'internal'`: a label never carries an error's message or code text.
 *
 * @module
 */

import type { FailureReason } from './labels.js';

const MESH_ERROR = Symbol.for('mesh.error');

const BY_CODE: ReadonlyMap<string, FailureReason> = new Map<string, FailureReason>([
  ['ERR_DECRYPTION_FAILED', 'authentication'],
  ['ERR_TOKEN_MALFORMED', 'malformed'],
  ['ERR_TOKEN_EXPIRED', 'expired'],
  ['ERR_KEY_NOT_FOUND', 'key_not_found'],
  ['ERR_KEY_STATE', 'key_state'],
  ['ERR_KEYSTORE_UNAVAILABLE', 'keystore_unavailable'],
  // A corrupt keyring is as unusable as an unreachable one; operators act on both the same way.
  ['ERR_KEYSTORE_CORRUPT', 'keystore_unavailable'],
  ['ERR_PLAINTEXT_TOO_LARGE', 'plaintext_too_large'],
  ['ERR_COMPRESSION_LIMIT', 'compression_limit'],
  ['ERR_CONFIG_INVALID', 'config_invalid'],
  ['ERR_UNSUPPORTED_ALGORITHM', 'unsupported_algorithm'],
  ['ERR_INVALID_INPUT', 'invalid_input'],
  // ERR_KEY_DERIVATION (PBKDF2/HKDF failing) has no reason of its own: 'internal'.
]);

/**
 * Maps a Mesh error code (docs/DESIGN.md §7) to its failure reason; unknown codes give `'internal'`.
 *
 * @example
 * ```ts
 * import { failureReasonFromCode } from '@mesh/metrics';
 * failureReasonFromCode('ERR_DECRYPTION_FAILED'); // 'authentication'
 * failureReasonFromCode('ECONNRESET'); // 'internal'
 * ```
 */
export function failureReasonFromCode(code: unknown): FailureReason {
  return (typeof code === 'string' && BY_CODE.get(code)) || 'internal';
}

/**
 * The failure reason for anything a `catch` block receives: a Mesh error (recognised by its
 * `Symbol.for('mesh.error')` marker) by its code, everything else as `'internal'`.
 *
 * @example
 * ```ts
 * import { failureReasonOf, PrometheusCollector } from '@mesh/metrics';
 * const metrics = new PrometheusCollector();
 * try { JSON.parse('{'); } catch (e) { metrics.recordFailure(failureReasonOf(e)); } // 'internal'
 * ```
 */
export function failureReasonOf(error: unknown): FailureReason {
  if (typeof error !== 'object' || error === null) return 'internal';
  try {
    if ((error as Record<symbol, unknown>)[MESH_ERROR] !== true) return 'internal';
    return failureReasonFromCode((error as { code?: unknown }).code);
  } catch {
    // A hostile getter (e.g. a Proxy) must not turn a failed operation into a crash in its catch block.
    return 'internal';
  }
}
