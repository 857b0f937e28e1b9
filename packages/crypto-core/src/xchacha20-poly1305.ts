/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03: HChaCha20 subkey, then RFC 8439 ChaCha20-Poly1305) with
 * associated data, 24-byte nonces, 16-byte tags.
 *
 * Why: the 192-bit nonce can be drawn at random for every message with no practical limit per key (a
 * collision after 2^80 messages is negligible), where random 96-bit AES-GCM nonces cap a key at about 2^32
 * messages. On libsodium it is also faster than node:crypto AES-GCM for small messages.
 *
 * Backends: `sodium` (sodium-native) by default, `noble` (@noble/ciphers) where sodium-native cannot load or
 * when asked for; both give identical bytes.
 *
 * @module
 */
import { assertBytes, isIntegerIn } from './_assert.js';
import {
  CHACHA_MAX_PLAINTEXT,
  type ChaChaParams,
  chachaOpen,
  chachaSeal,
  chachaSealInto,
} from './_chacha.js';
import { overlaps } from './_overlap.js';
import { getChaChaBackend } from './backends/chacha.js';
import type { ChaChaBackend } from './backends/types.js';
import { type BytesLike, toBytes } from './bytes.js';
import { MeshCryptoError } from './errors.js';

/** XChaCha20-Poly1305 key length in bytes. */
export const XCHACHA20_POLY1305_KEY_LENGTH = 32;
/** XChaCha20-Poly1305 nonce length in bytes (192 bits: safe to draw at random for every message). */
export const XCHACHA20_POLY1305_NONCE_LENGTH = 24;
/** Poly1305 tag length in bytes. */
export const XCHACHA20_POLY1305_TAG_LENGTH = 16;

const XCHACHA: ChaChaParams = { nonceLength: 24 };

/**
 * Encrypt and authenticate `plaintext` (and authenticate `aad`): returns `ciphertext || tag` in a new array
 * that owns its whole `ArrayBuffer`. Key must be 32 bytes and nonce 24 bytes, else `ERR_INVALID_INPUT`.
 *
 * @example
 * ```ts
 * import { randomBytes, xchacha20Poly1305Decrypt, xchacha20Poly1305Encrypt } from '@mesh/crypto-core';
 * const key = randomBytes(32);
 * const nonce = randomBytes(24);
 * const sealed = xchacha20Poly1305Encrypt(key, nonce, 'hello', 'orders->payments');
 * xchacha20Poly1305Decrypt(key, nonce, sealed, 'orders->payments'); // bytes of 'hello'
 * ```
 */
export function xchacha20Poly1305Encrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: BytesLike,
  aad?: BytesLike,
  backend: ChaChaBackend = getChaChaBackend(),
): Uint8Array {
  return chachaSeal(XCHACHA, key, nonce, toBytes(plaintext), optional(aad), backend);
}

/**
 * Like {@link xchacha20Poly1305Encrypt} but writes `ciphertext || tag` into `out` at `outOffset` and returns
 * the end offset, so that a whole envelope is built in one allocation. `out` needs `plaintext.length + 16`
 * bytes from `outOffset`, else `ERR_INVALID_INPUT`. In place (`plaintext` at exactly `out[outOffset]`) is
 * allowed.
 *
 * @example
 * ```ts
 * import { randomBytes, xchacha20Poly1305EncryptInto } from '@mesh/crypto-core';
 * const key = randomBytes(32);
 * const data = new TextEncoder().encode('hello');
 * const envelope = new Uint8Array(24 + data.length + 16);
 * envelope.set(randomBytes(24), 0);
 * const end = xchacha20Poly1305EncryptInto(key, envelope.subarray(0, 24), data, undefined, envelope, 24);
 * // end === envelope.length
 * ```
 */
export function xchacha20Poly1305EncryptInto(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: BytesLike,
  aad: BytesLike | undefined,
  out: Uint8Array,
  outOffset: number,
  backend: ChaChaBackend = getChaChaBackend(),
): number {
  return chachaSealInto(XCHACHA, key, nonce, toBytes(plaintext), optional(aad), out, outOffset, backend);
}

/**
 * Seal with a fresh random nonce: writes `nonce (24) || ciphertext || tag` into `out` at `outOffset` and returns
 * the end offset. The nonce comes from the backend's CSPRNG (libsodium's `randombytes_buf` on the sodium
 * backend, written straight into `out`: no array is allocated for it). `out` needs `24 + plaintext.length + 16`
 * bytes from `outOffset`, else `ERR_INVALID_INPUT`. How an envelope is built in one allocation.
 *
 * @example
 * ```ts
 * import { randomBytes, xchacha20Poly1305Decrypt, xchacha20Poly1305SealInto } from '@mesh/crypto-core';
 * const key = randomBytes(32);
 * const data = new TextEncoder().encode('hello');
 * const out = new Uint8Array(24 + data.length + 16);
 * xchacha20Poly1305SealInto(key, data, 'ctx', out, 0); // === out.length
 * xchacha20Poly1305Decrypt(key, out.subarray(0, 24), out.subarray(24), 'ctx'); // bytes of 'hello'
 * ```
 */
export function xchacha20Poly1305SealInto(
  key: Uint8Array,
  plaintext: BytesLike,
  aad: BytesLike | undefined,
  out: Uint8Array,
  outOffset: number,
  backend: ChaChaBackend = getChaChaBackend(),
): number {
  let input = toBytes(plaintext);
  assertBytes('out', out);
  const needed = XCHACHA20_POLY1305_NONCE_LENGTH + input.length + XCHACHA20_POLY1305_TAG_LENGTH;
  if (!isIntegerIn(outOffset, 0, out.length) || out.length - outOffset < needed) {
    throw new MeshCryptoError('ERR_INVALID_INPUT', `out needs ${needed} bytes from outOffset`);
  }
  const nonce = out.subarray(outOffset, outOffset + XCHACHA20_POLY1305_NONCE_LENGTH);
  // The nonce is written before the plaintext is read: a plaintext inside that region must be copied first.
  if (overlaps(input, out.subarray(outOffset, outOffset + needed))) input = input.slice();
  // Everything chachaSealInto would refuse is refused before the first byte of out is written.
  assertBytes('key', key, XCHACHA20_POLY1305_KEY_LENGTH);
  if (input.length > CHACHA_MAX_PLAINTEXT) {
    throw new MeshCryptoError(
      'ERR_PLAINTEXT_TOO_LARGE',
      `plaintext must be at most ${CHACHA_MAX_PLAINTEXT} bytes`,
    );
  }
  if (aad !== undefined && typeof aad !== 'string' && !(aad instanceof Uint8Array)) {
    throw new MeshCryptoError('ERR_INVALID_INPUT', 'aad must be a Uint8Array or a string');
  }
  backend.randomFill(nonce);
  return chachaSealInto(
    XCHACHA,
    key,
    nonce,
    input,
    optional(aad),
    out,
    outOffset + XCHACHA20_POLY1305_NONCE_LENGTH,
    backend,
  );
}

/**
 * Verify and decrypt `ciphertext || tag` into a new array that owns its whole `ArrayBuffer`. Any failure
 * (wrong key, nonce, AAD, modified bytes, too short) throws `DecryptionError` (`ERR_DECRYPTION_FAILED`) with
 * one message whatever the reason; no plaintext is released unless the tag verified.
 *
 * @example
 * ```ts
 * import { randomBytes, xchacha20Poly1305Decrypt, xchacha20Poly1305Encrypt } from '@mesh/crypto-core';
 * const key = randomBytes(32);
 * const nonce = randomBytes(24);
 * const plain = xchacha20Poly1305Decrypt(key, nonce, xchacha20Poly1305Encrypt(key, nonce, 'hi'));
 * new TextDecoder().decode(plain); // 'hi'
 * ```
 */
export function xchacha20Poly1305Decrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertextAndTag: Uint8Array,
  aad?: BytesLike,
  backend: ChaChaBackend = getChaChaBackend(),
): Uint8Array {
  return chachaOpen(XCHACHA, key, nonce, ciphertextAndTag, optional(aad), backend);
}

function optional(aad: BytesLike | undefined): Uint8Array | undefined {
  return aad === undefined ? undefined : toBytes(aad);
}
