/**
 * The one AES-GCM wrapper (noble's `wrapCipher` pattern): every key/nonce/AAD/output check lives here, once,
 * parameterised by a {@link GcmParams} constant; backends stay raw. `aes-gcm.ts` instantiates it for the
 * public AES-256-GCM with 12-byte nonces; the Wycheproof suite instantiates it with every key and nonce size.
 *
 * NIST SP 800-38D: §5.2.1.1 bounds the plaintext at 2^39 - 256 bits (above any JavaScript array), §8.3
 * bounds random 96-bit nonces per key (the key layer counts encryptions), §5.2.1.2 the tag lengths.
 *
 * @module
 * @internal
 */
import { allocUninit, copyOf } from './_alloc.js';
import { assertBytes, assertOptionalBytes, isIntegerIn } from './_assert.js';
import type { SymmetricBackend } from './backends/types.js';
import { DecryptionError, MeshCryptoError } from './errors.js';

/** Parameters of one GCM instantiation. */
export interface GcmParams {
  /** Allowed key lengths in bytes (16, 24, 32). */
  readonly keyLengths: readonly number[];
  /** Required nonce length in bytes; `undefined`: any length from 1 to the backend's maximum. */
  readonly nonceLength: number | undefined;
  /** Tag length in bytes (16 for everything we produce). */
  readonly tagLength: number;
}

function checkKeyNonce(params: GcmParams, key: unknown, nonce: unknown, backend: SymmetricBackend): void {
  // Fast path first (once per message): the checks below only run to build the error for bad input.
  if (
    key instanceof Uint8Array &&
    nonce instanceof Uint8Array &&
    params.nonceLength === nonce.length &&
    params.keyLengths.includes(key.length)
  ) {
    return;
  }
  assertBytes('key', key, ...params.keyLengths);
  if (params.nonceLength !== undefined) {
    assertBytes('nonce', nonce, params.nonceLength);
  } else {
    assertBytes('nonce', nonce);
    // SP 800-38D §5.2.1.1: len(IV) >= 1 bit; an empty IV would make J0 depend on the key alone.
    if (nonce.length === 0) throw new MeshCryptoError('ERR_INVALID_INPUT', 'nonce must not be empty');
    if (nonce.length > backend.gcmMaxNonceLength) {
      throw new MeshCryptoError(
        'ERR_UNSUPPORTED_ALGORITHM',
        `the ${backend.name} backend supports GCM nonces up to ${backend.gcmMaxNonceLength} bytes`,
      );
    }
  }
}

/**
 * True when `a` and the `length` bytes of `out` from `offset` share memory and do not start at the same
 * byte (encrypting in place is fine; a shifted overlap would read bytes already overwritten).
 */
function overlapsShifted(a: Uint8Array, out: Uint8Array, offset: number, length: number): boolean {
  if (a.length === 0 || length === 0 || a.buffer !== out.buffer) return false;
  const start = out.byteOffset + offset;
  const overlap = a.byteOffset < start + length && start < a.byteOffset + a.byteLength;
  return overlap && a.byteOffset !== start;
}

/** Seal into `out` at `outOffset`; returns the offset just past the tag. */
export function gcmSealInto(
  params: GcmParams,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array | undefined,
  out: Uint8Array,
  outOffset: number,
  backend: SymmetricBackend,
): number {
  checkKeyNonce(params, key, nonce, backend);
  assertBytes('plaintext', plaintext);
  assertOptionalBytes('aad', aad);
  assertBytes('out', out);
  const needed = plaintext.length + params.tagLength;
  if (!isIntegerIn(outOffset, 0, out.length) || out.length - outOffset < needed) {
    throw new MeshCryptoError('ERR_INVALID_INPUT', `out needs ${needed} bytes from outOffset`);
  }
  // Encrypting in place is fine (each chunk is read before it is overwritten); a shifted overlap is not.
  const input = overlapsShifted(plaintext, out, outOffset, needed) ? copyOf(plaintext) : plaintext;
  // The backend writes exactly `needed` bytes from outOffset (checked above to fit): no subarray needed.
  return backend.gcmSealInto(key, nonce, input, aad, out, outOffset);
}

/** Seal into a new array: `ciphertext || tag`. */
export function gcmSeal(
  params: GcmParams,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array | undefined,
  backend: SymmetricBackend,
): Uint8Array {
  checkKeyNonce(params, key, nonce, backend);
  assertBytes('plaintext', plaintext);
  assertOptionalBytes('aad', aad);
  const out = allocUninit(plaintext.length + params.tagLength); // every byte is written below
  backend.gcmSealInto(key, nonce, plaintext, aad, out, 0);
  return out;
}

/** Open `ciphertext || tag`; every authentication failure throws the one {@link DecryptionError}. */
export function gcmOpen(
  params: GcmParams,
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertextAndTag: Uint8Array,
  aad: Uint8Array | undefined,
  backend: SymmetricBackend,
): Uint8Array {
  checkKeyNonce(params, key, nonce, backend);
  assertBytes('ciphertextAndTag', ciphertextAndTag);
  assertOptionalBytes('aad', aad);
  // Too short to hold a tag: cannot be authentic. Same error as a bad tag (no oracle on the reason).
  if (ciphertextAndTag.length < params.tagLength) throw new DecryptionError();
  const ctLength = ciphertextAndTag.length - params.tagLength;
  const plaintext = backend.gcmOpenDetached(
    key,
    nonce,
    ciphertextAndTag.subarray(0, ctLength),
    ciphertextAndTag.subarray(ctLength),
    aad,
  );
  if (plaintext === undefined) throw new DecryptionError();
  return plaintext;
}

/** Ciphertext and tag of a detached seal; each array owns its memory. */
export interface GcmSealed {
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
}

/** Seal into two new arrays, `ciphertext` and `tag` (the backend's own outputs, not copied). */
export function gcmSealDetached(
  params: GcmParams,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array | undefined,
  backend: SymmetricBackend,
): GcmSealed {
  checkKeyNonce(params, key, nonce, backend);
  assertBytes('plaintext', plaintext);
  assertOptionalBytes('aad', aad);
  return backend.gcmSeal(key, nonce, plaintext, aad);
}

/** Open `ciphertext` under a detached `tag`; every authentication failure throws the one {@link DecryptionError}. */
export function gcmOpenDetached(
  params: GcmParams,
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array | undefined,
  backend: SymmetricBackend,
): Uint8Array {
  checkKeyNonce(params, key, nonce, backend);
  assertBytes('ciphertext', ciphertext);
  assertBytes('tag', tag);
  assertOptionalBytes('aad', aad);
  // A tag of any other length cannot be authentic (a truncated tag is a forgery aid, SP 800-38D §5.2.1.2):
  // the same error as a bad tag, no oracle on the reason.
  if (tag.length !== params.tagLength) throw new DecryptionError();
  const plaintext = backend.gcmOpenDetached(key, nonce, ciphertext, tag, aad);
  if (plaintext === undefined) throw new DecryptionError();
  return plaintext;
}
