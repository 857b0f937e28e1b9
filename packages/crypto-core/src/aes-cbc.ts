/**
 * AES-CBC with PKCS#7 padding (NIST SP 800-38A §6.2, RFC 5652 §6.3).
 *
 * CBC alone is malleable and, with an unpadding error visible to an attacker, a padding oracle. Use it only
 * inside an authenticated construction that verifies a MAC first (as {@link Fernet} does), or prefer
 * {@link aesGcmEncrypt}.
 *
 * @module
 */
import { assertBytes } from './_assert.js';
import { defaultBackend } from './backends/default.js';
import type { SymmetricBackend } from './backends/types.js';
import { type BytesLike, toBytes } from './bytes.js';
import { DecryptionError } from './errors.js';

/** AES block size and CBC IV length, in bytes. */
export const AES_BLOCK_LENGTH = 16;

/**
 * Encrypt with AES-CBC (key 16, 24 or 32 bytes; IV 16 unpredictable bytes) and PKCS#7 padding.
 * The output is `(floor(len / 16) + 1) * 16` bytes.
 *
 * @example
 * ```ts
 * import { aesCbcDecrypt, aesCbcEncrypt, randomBytes } from '@mesh/crypto-core';
 * const key = randomBytes(16);
 * const iv = randomBytes(16);
 * const ct = aesCbcEncrypt(key, iv, 'hello'); // 16 bytes
 * aesCbcDecrypt(key, iv, ct); // bytes of 'hello'
 * ```
 */
export function aesCbcEncrypt(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: BytesLike,
  backend: SymmetricBackend = defaultBackend(),
): Uint8Array {
  assertBytes('key', key, 16, 24, 32);
  assertBytes('iv', iv, AES_BLOCK_LENGTH);
  return backend.cbcEncrypt(key, iv, toBytes(plaintext, 'plaintext'));
}

/**
 * Decrypt AES-CBC and remove PKCS#7 padding. Invalid padding, and a ciphertext that is empty or not a
 * multiple of 16 bytes, throw `DecryptionError` (`ERR_DECRYPTION_FAILED`). This is not authentication: verify
 * a MAC over the ciphertext before calling it.
 *
 * @example
 * ```ts
 * import { aesCbcDecrypt, aesCbcEncrypt } from '@mesh/crypto-core';
 * const key = new Uint8Array(16);
 * const iv = new Uint8Array(16);
 * new TextDecoder().decode(aesCbcDecrypt(key, iv, aesCbcEncrypt(key, iv, 'hi'))); // 'hi'
 * ```
 */
export function aesCbcDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  backend: SymmetricBackend = defaultBackend(),
): Uint8Array {
  assertBytes('key', key, 16, 24, 32);
  assertBytes('iv', iv, AES_BLOCK_LENGTH);
  assertBytes('ciphertext', ciphertext);
  if (ciphertext.length === 0 || ciphertext.length % AES_BLOCK_LENGTH !== 0) throw new DecryptionError();
  const plaintext = backend.cbcDecrypt(key, iv, ciphertext);
  if (plaintext === undefined) throw new DecryptionError();
  return plaintext;
}
