/**
 * ChaCha20-Poly1305 and XChaCha20-Poly1305 on libsodium (`sodium-native`): the fast backend.
 *
 * One native call per message, straight into the caller's output: no cipher object is set up per message
 * (node:crypto's AES-GCM spends most of its time on 1 KiB messages there), which is where the speed on
 * small messages comes from.
 *
 * @module
 * @internal
 */
import { allocUninit } from '../../_alloc.js';
import type { ChaChaBackend } from '../types.js';
import type { SodiumNative } from './load.js';

const TAG = 16;

/** The sodium backend over a loaded binding. */
export function sodiumChaCha(sodium: SodiumNative): ChaChaBackend {
  return Object.freeze({
    name: 'sodium' as const,
    randomFill(bytes: Uint8Array): void {
      // One call into libsodium, no allocation: a fifth of node:crypto randomFillSync's cost for a nonce.
      sodium.randombytes_buf(bytes);
    },
    chachaSealInto(
      key: Uint8Array,
      nonce: Uint8Array,
      plaintext: Uint8Array,
      aad: Uint8Array | undefined,
      out: Uint8Array,
      outOffset: number,
    ): number {
      const end = outOffset + plaintext.length + TAG;
      const target = out.subarray(outOffset, end);
      if (nonce.length === 24) {
        sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(target, plaintext, aad, null, nonce, key);
      } else {
        sodium.crypto_aead_chacha20poly1305_ietf_encrypt(target, plaintext, aad, null, nonce, key);
      }
      return end;
    },
    chachaOpen(
      key: Uint8Array,
      nonce: Uint8Array,
      ciphertextAndTag: Uint8Array,
      aad: Uint8Array | undefined,
    ): Uint8Array | undefined {
      const plaintext = allocUninit(ciphertextAndTag.length - TAG);
      try {
        if (nonce.length === 24) {
          sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            plaintext,
            null,
            ciphertextAndTag,
            aad,
            nonce,
            key,
          );
        } else {
          sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
            plaintext,
            null,
            ciphertextAndTag,
            aad,
            nonce,
            key,
          );
        }
      } catch {
        // libsodium verifies before it decrypts, so nothing was written; zero anyway (the memory was uninitialised).
        plaintext.fill(0);
        return undefined;
      }
      return plaintext;
    },
  });
}
