/**
 * Random nonces and IVs written straight into a caller's array, drawn from a pooled block of CSPRNG output
 * (see `_random-pool.ts`): about 2 µs cheaper per message than a CSPRNG call of its own, and no array of
 * its own to allocate. Only for values that are public once used (AES-GCM nonces, CBC IVs): keys come from
 * {@link randomBytes}.
 *
 * @module
 */
import { assertBytes, isIntegerIn } from './_assert.js';
import { noncePool } from './_random-pool.js';
import { defaultBackend } from './backends/default.js';
import { MeshCryptoError } from './errors.js';

/** Longest nonce or IV one call hands out (bytes). */
export const MAX_NONCE_LENGTH = 256;

/**
 * Writes `length` fresh CSPRNG bytes into `out[offset .. offset + length)`. Every byte comes from the
 * process-wide pool exactly once (never handed to two callers) and is zeroed there; nothing of the pool is
 * reachable through `out`. `ERR_INVALID_INPUT` when `out` is not a `Uint8Array`, `length` is not in
 * `1..256` or the range does not fit in `out`.
 *
 * @example
 * ```ts
 * import { aesGcmEncryptInto, randomBytes, randomNonceInto } from '@mesh/crypto-core';
 * const key = randomBytes(32);
 * const data = new TextEncoder().encode('hello');
 * const message = new Uint8Array(12 + data.length + 16);
 * randomNonceInto(message, 0, 12);
 * aesGcmEncryptInto(key, message.subarray(0, 12), data, undefined, message, 12);
 * ```
 */
export function randomNonceInto(out: Uint8Array, offset: number, length: number): void {
  assertBytes('out', out);
  if (!isIntegerIn(length, 1, MAX_NONCE_LENGTH) || !isIntegerIn(offset, 0, out.length - length)) {
    throw new MeshCryptoError('ERR_INVALID_INPUT', `need 1..${MAX_NONCE_LENGTH} bytes inside out at offset`);
  }
  if (noncePool.available) noncePool.fill(out, offset, length);
  else out.set(defaultBackend().randomBytes(length), offset); // a platform without crypto.getRandomValues
}
