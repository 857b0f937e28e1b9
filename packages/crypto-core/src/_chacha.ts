/**
 * The one ChaCha20-Poly1305 wrapper, as `_gcm.ts` is for AES-GCM: every key/nonce/AAD/output check lives
 * here, once, parameterised by the nonce length (12: ChaCha20-Poly1305, RFC 8439; 24: XChaCha20-Poly1305);
 * backends stay raw. `xchacha20-poly1305.ts` is the public instance; the Wycheproof suites use both.
 *
 * RFC 8439 §2.8 limits one message to 2^38 - 64 bytes; libsodium's binding takes lengths below 2^32, which
 * is the tighter bound and the one enforced here for both backends (so they accept exactly the same inputs).
 *
 * @module
 * @internal
 */
import { allocUninit } from './_alloc.js';
import { assertBytes, assertOptionalBytes, isIntegerIn } from './_assert.js';
import { overlapsShifted } from './_overlap.js';
import type { ChaChaBackend } from './backends/types.js';
import { DecryptionError, MeshCryptoError } from './errors.js';

/** Key length of every ChaCha20-Poly1305 variant, in bytes. */
export const CHACHA_KEY_LENGTH = 32;
/** Poly1305 tag length, in bytes. */
export const CHACHA_TAG_LENGTH = 16;
/** Largest plaintext one call takes: the sealed output must stay below 2^32 bytes (see the module comment). */
export const CHACHA_MAX_PLAINTEXT = 0xffff_ffff - CHACHA_TAG_LENGTH;

/** Which construction: the nonce length says it. */
export interface ChaChaParams {
  readonly nonceLength: 12 | 24;
}

function checkKeyNonce(params: ChaChaParams, key: unknown, nonce: unknown): void {
  assertBytes('key', key, CHACHA_KEY_LENGTH);
  assertBytes('nonce', nonce, params.nonceLength);
}

function checkPlaintext(plaintext: unknown): asserts plaintext is Uint8Array {
  assertBytes('plaintext', plaintext);
  if (plaintext.length > CHACHA_MAX_PLAINTEXT) {
    throw new MeshCryptoError(
      'ERR_PLAINTEXT_TOO_LARGE',
      `plaintext must be at most ${CHACHA_MAX_PLAINTEXT} bytes`,
    );
  }
}

/** Seal into `out` at `outOffset`; returns the offset just past the tag. */
export function chachaSealInto(
  params: ChaChaParams,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array | undefined,
  out: Uint8Array,
  outOffset: number,
  backend: ChaChaBackend,
): number {
  checkKeyNonce(params, key, nonce);
  checkPlaintext(plaintext);
  assertOptionalBytes('aad', aad);
  assertBytes('out', out);
  const needed = plaintext.length + CHACHA_TAG_LENGTH;
  if (!isIntegerIn(outOffset, 0, out.length) || out.length - outOffset < needed) {
    throw new MeshCryptoError('ERR_INVALID_INPUT', `out needs ${needed} bytes from outOffset`);
  }
  const target = out.subarray(outOffset, outOffset + needed);
  // In place is fine for both backends; a shifted overlap would read bytes already overwritten.
  const input = overlapsShifted(plaintext, target) ? plaintext.slice() : plaintext;
  return outOffset + backend.chachaSealInto(key, nonce, input, aad, target, 0);
}

/** Seal into a new array `ciphertext || tag` that owns its whole `ArrayBuffer`. */
export function chachaSeal(
  params: ChaChaParams,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array | undefined,
  backend: ChaChaBackend,
): Uint8Array {
  checkKeyNonce(params, key, nonce);
  checkPlaintext(plaintext);
  assertOptionalBytes('aad', aad);
  const out = allocUninit(plaintext.length + CHACHA_TAG_LENGTH); // every byte is written below
  backend.chachaSealInto(key, nonce, plaintext, aad, out, 0);
  return out;
}

/** Open `ciphertext || tag`; every authentication failure throws the one {@link DecryptionError}. */
export function chachaOpen(
  params: ChaChaParams,
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertextAndTag: Uint8Array,
  aad: Uint8Array | undefined,
  backend: ChaChaBackend,
): Uint8Array {
  checkKeyNonce(params, key, nonce);
  assertBytes('ciphertextAndTag', ciphertextAndTag);
  assertOptionalBytes('aad', aad);
  // Too short to hold a tag, or too long to have been produced: cannot be authentic. Same error as a bad tag.
  if (ciphertextAndTag.length < CHACHA_TAG_LENGTH || ciphertextAndTag.length > 0xffff_ffff) {
    throw new DecryptionError();
  }
  const plaintext = backend.chachaOpen(key, nonce, ciphertextAndTag, aad);
  if (plaintext === undefined) throw new DecryptionError();
  return plaintext;
}
