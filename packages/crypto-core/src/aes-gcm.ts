/**
 * AES-256-GCM with associated data (NIST SP 800-38D), 12-byte nonces, 16-byte tags.
 *
 * Nonces must never repeat under one key: use {@link randomBytes}(12) per message and rotate keys well
 * before 2^32 encryptions (SP 800-38D §8.3), which `@mesh/keys` does.
 *
 * @module
 */
import {
  type GcmParams,
  type GcmSealed,
  gcmOpen,
  gcmOpenDetached,
  gcmSeal,
  gcmSealDetached,
  gcmSealInto,
} from './_gcm.js';
import { defaultBackend } from './backends/default.js';
import type { SymmetricBackend } from './backends/types.js';
import { type BytesLike, toBytes } from './bytes.js';

/** Nonce length of the public API, in bytes (96 bits: SP 800-38D §5.2.1.1 recommends it). */
export const AES_GCM_NONCE_LENGTH = 12;
/** Tag length in bytes (128 bits, the full tag). */
export const AES_GCM_TAG_LENGTH = 16;
/** AES-256 key length in bytes. */
export const AES_256_KEY_LENGTH = 32;

const AES_256_GCM: GcmParams = {
  keyLengths: [AES_256_KEY_LENGTH],
  nonceLength: AES_GCM_NONCE_LENGTH,
  tagLength: AES_GCM_TAG_LENGTH,
};

/**
 * Encrypt and authenticate `plaintext` (and authenticate `aad`): returns `ciphertext || tag`.
 * Key must be 32 bytes and nonce 12 bytes, else `ERR_INVALID_INPUT`.
 *
 * @example
 * ```ts
 * import { aesGcmDecrypt, aesGcmEncrypt, randomBytes } from '@mesh/crypto-core';
 * const key = randomBytes(32);
 * const nonce = randomBytes(12);
 * const sealed = aesGcmEncrypt(key, nonce, 'hello', 'orders->payments');
 * aesGcmDecrypt(key, nonce, sealed, 'orders->payments'); // bytes of 'hello'
 * ```
 */
export function aesGcmEncrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: BytesLike,
  aad?: BytesLike,
  backend: SymmetricBackend = defaultBackend(),
): Uint8Array {
  return gcmSeal(AES_256_GCM, key, nonce, toBytes(plaintext, 'plaintext'), optional(aad), backend);
}

/**
 * Like {@link aesGcmEncrypt} but writes `ciphertext || tag` into `out` at `outOffset` and returns the end
 * offset, so a caller can build a whole envelope (header, nonce, body) in one allocation. `out` needs
 * `plaintext.length + 16` bytes from `outOffset`, else `ERR_INVALID_INPUT`. Encrypting in place
 * (`plaintext` at exactly `out[outOffset]`) is allowed.
 *
 * @example
 * ```ts
 * import { aesGcmEncryptInto, randomBytes } from '@mesh/crypto-core';
 * const key = randomBytes(32);
 * const data = new TextEncoder().encode('hello');
 * const envelope = new Uint8Array(12 + data.length + 16);
 * envelope.set(randomBytes(12), 0);
 * const end = aesGcmEncryptInto(key, envelope.subarray(0, 12), data, undefined, envelope, 12);
 * // end === envelope.length
 * ```
 */
export function aesGcmEncryptInto(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: BytesLike,
  aad: BytesLike | undefined,
  out: Uint8Array,
  outOffset: number,
  backend: SymmetricBackend = defaultBackend(),
): number {
  return gcmSealInto(
    AES_256_GCM,
    key,
    nonce,
    toBytes(plaintext, 'plaintext'),
    optional(aad),
    out,
    outOffset,
    backend,
  );
}

/**
 * Verify and decrypt `ciphertext || tag`. Any failure (wrong key, nonce, AAD, modified bytes, too short)
 * throws `DecryptionError` (`ERR_DECRYPTION_FAILED`), with one message whatever the reason.
 *
 * @example
 * ```ts
 * import { aesGcmDecrypt, aesGcmEncrypt, randomBytes } from '@mesh/crypto-core';
 * const key = randomBytes(32);
 * const nonce = randomBytes(12);
 * const plain = aesGcmDecrypt(key, nonce, aesGcmEncrypt(key, nonce, 'hi'));
 * new TextDecoder().decode(plain); // 'hi'
 * ```
 */
export function aesGcmDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertextAndTag: Uint8Array,
  aad?: BytesLike,
  backend: SymmetricBackend = defaultBackend(),
): Uint8Array {
  return gcmOpen(AES_256_GCM, key, nonce, ciphertextAndTag, optional(aad), backend);
}

/** The result of {@link aesGcmSeal}: the ciphertext (as long as the plaintext) and the 16-byte tag, apart. */
export type AesGcmSealed = GcmSealed;

/**
 * Like {@link aesGcmEncrypt} but returns the ciphertext and the 16-byte tag as two arrays, so that nothing is
 * copied to join them: on the node backend both are node:crypto's own output buffers, handed over as they are
 * (for plaintexts up to 64 KiB the ciphertext comes from a single `update`). `ciphertext || tag` is exactly
 * what {@link aesGcmEncrypt} returns. Each array owns its memory (no shared pool behind `.buffer`).
 *
 * @example
 * ```ts
 * import { aesGcmOpenDetached, aesGcmSeal, randomBytes } from '@mesh/crypto-core';
 * const key = randomBytes(32);
 * const nonce = randomBytes(12);
 * const { ciphertext, tag } = aesGcmSeal(key, nonce, 'hello', 'orders->payments');
 * // send ciphertext and tag as two chunks, then:
 * aesGcmOpenDetached(key, nonce, ciphertext, tag, 'orders->payments'); // bytes of 'hello'
 * ```
 */
export function aesGcmSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: BytesLike,
  aad?: BytesLike,
  backend: SymmetricBackend = defaultBackend(),
): AesGcmSealed {
  return gcmSealDetached(AES_256_GCM, key, nonce, toBytes(plaintext, 'plaintext'), optional(aad), backend);
}

/**
 * Verify and decrypt `ciphertext` under a detached `tag` (16 bytes), without joining them: both may be views
 * into larger arrays. Any failure (wrong key, nonce, AAD, modified bytes, a tag that is not 16 bytes) throws
 * `DecryptionError` (`ERR_DECRYPTION_FAILED`), with one message whatever the reason; non-`Uint8Array` inputs
 * throw `ERR_INVALID_INPUT`. No plaintext is returned or left behind unless the tag verified.
 *
 * @example
 * ```ts
 * import { aesGcmEncrypt, aesGcmOpenDetached, randomBytes } from '@mesh/crypto-core';
 * const key = randomBytes(32);
 * const nonce = randomBytes(12);
 * const sealed = aesGcmEncrypt(key, nonce, 'hi');
 * const plain = aesGcmOpenDetached(key, nonce, sealed.subarray(0, -16), sealed.subarray(-16));
 * new TextDecoder().decode(plain); // 'hi'
 * ```
 */
export function aesGcmOpenDetached(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad?: BytesLike,
  backend: SymmetricBackend = defaultBackend(),
): Uint8Array {
  return gcmOpenDetached(AES_256_GCM, key, nonce, ciphertext, tag, optional(aad), backend);
}

function optional(aad: BytesLike | undefined): Uint8Array | undefined {
  return aad === undefined ? undefined : toBytes(aad, 'aad');
}
