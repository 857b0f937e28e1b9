/**
 * HMAC-SHA256 (RFC 2104, FIPS 198-1) and SHA-256 (FIPS 180-4).
 *
 * @module
 */
import { assertBytes } from './_assert.js';
import { defaultBackend } from './backends/default.js';
import type { SymmetricBackend } from './backends/types.js';
import { type BytesLike, constantTimeEqual, toBytes } from './bytes.js';
import { MeshCryptoError } from './errors.js';

/** HMAC-SHA256 output length in bytes. */
export const HMAC_SHA256_LENGTH = 32;
/** Shortest truncated tag {@link hmacSha256Verify} accepts: 128 bits (NIST SP 800-107 §5.3.4 guidance). */
export const HMAC_SHA256_MIN_TAG_LENGTH = 16;

/**
 * HMAC-SHA256 of `data` under `key` (any length; keys over 64 bytes are hashed first, RFC 2104 §2).
 *
 * @example
 * ```ts
 * import { hmacSha256 } from '@mesh/crypto-core';
 * const mac = hmacSha256(new Uint8Array(32), 'message'); // 32 bytes
 * ```
 */
export function hmacSha256(
  key: Uint8Array,
  data: BytesLike,
  backend: SymmetricBackend = defaultBackend(),
): Uint8Array {
  assertBytes('key', key);
  return backend.hmacSha256(key, toBytes(data));
}

/**
 * Check a (possibly truncated, 16..32 bytes) HMAC-SHA256 tag in constant time: true when `tag` equals the
 * leading `tag.length` bytes of the HMAC. A tag outside 16..32 bytes throws `ERR_INVALID_INPUT`.
 *
 * @example
 * ```ts
 * import { hmacSha256, hmacSha256Verify } from '@mesh/crypto-core';
 * const key = new Uint8Array(32);
 * hmacSha256Verify(key, 'message', hmacSha256(key, 'message').subarray(0, 16)); // true
 * ```
 */
export function hmacSha256Verify(
  key: Uint8Array,
  data: BytesLike,
  tag: Uint8Array,
  backend: SymmetricBackend = defaultBackend(),
): boolean {
  assertBytes('key', key);
  assertBytes('tag', tag);
  if (tag.length < HMAC_SHA256_MIN_TAG_LENGTH || tag.length > HMAC_SHA256_LENGTH) {
    throw new MeshCryptoError(
      'ERR_INVALID_INPUT',
      `tag must be ${HMAC_SHA256_MIN_TAG_LENGTH}..${HMAC_SHA256_LENGTH} bytes, got ${tag.length}`,
    );
  }
  const mac = backend.hmacSha256(key, toBytes(data));
  return constantTimeEqual(mac.subarray(0, tag.length), tag);
}

/**
 * SHA-256 digest.
 *
 * @example
 * ```ts
 * import { sha256 } from '@mesh/crypto-core';
 * sha256('abc'); // ba7816bf...f20015ad
 * ```
 */
export function sha256(data: BytesLike, backend: SymmetricBackend = defaultBackend()): Uint8Array {
  return backend.sha256(toBytes(data));
}
