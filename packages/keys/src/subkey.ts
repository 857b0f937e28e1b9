/**
 * Per-service subkeys: HKDF-SHA256 (RFC 5869) with the service name as `info` (§3.2: info binds the
 * derived key to its context), so one root key gives independent keys per service.
 *
 * @module
 */
import { HKDF_SHA256_MAX_LENGTH, hkdfSha256, utf8Encode } from '@mesh/crypto-core';
import { owned } from './_secret-bytes.js';
import { KeyError } from './errors.js';

const EMPTY_SALT = new Uint8Array(0); // RFC 5869 §2.2: absent salt = HashLen zero bytes

/**
 * Derives a `length`-byte (default 32) subkey of `key` for `service`:
 * `HKDF-SHA256(ikm = key, salt = empty, info = UTF-8(service), L = length)`.
 *
 * @throws {KeyError} `ERR_KEY_DERIVATION` for a key shorter than 16 bytes, an empty service name or a
 *   length outside 1..8160.
 * @example
 * ```ts
 * const ordersKey = deriveSubkey(rootKey, 'orders');
 * const paymentsKey = deriveSubkey(rootKey, 'payments'); // independent of ordersKey
 * ```
 */
export function deriveSubkey(key: Uint8Array, service: string, length = 32): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length < 16) {
    throw new KeyError('ERR_KEY_DERIVATION', 'subkey root key must be at least 16 bytes');
  }
  if (typeof service !== 'string' || service.length === 0) {
    throw new KeyError('ERR_KEY_DERIVATION', 'service name must be a non-empty string');
  }
  if (!Number.isSafeInteger(length) || length < 1 || length > HKDF_SHA256_MAX_LENGTH) {
    throw new KeyError('ERR_KEY_DERIVATION', `subkey length must be 1..${HKDF_SHA256_MAX_LENGTH} bytes`);
  }
  // Whatever the backend hands back, the caller gets an array that owns its whole buffer.
  return owned(hkdfSha256(key, EMPTY_SALT, utf8Encode(service), length), true);
}
