/**
 * ChaCha20-Poly1305 and XChaCha20-Poly1305 on `@noble/ciphers` (audited, pure JavaScript): the fallback where
 * sodium-native cannot load, and the independent second implementation the suites compare with libsodium.
 *
 * @module
 * @internal
 */
import { randomFillSync } from 'node:crypto';
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { allocUninit } from '../../_alloc.js';
import type { ChaChaBackend } from '../types.js';

const TAG = 16;

function cipher(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array | undefined) {
  return nonce.length === 24 ? xchacha20poly1305(key, nonce, aad) : chacha20poly1305(key, nonce, aad);
}

/** The noble backend. */
export const nobleChaCha: ChaChaBackend = Object.freeze({
  name: 'noble' as const,
  randomFill(bytes: Uint8Array): void {
    randomFillSync(bytes);
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
    // noble copies the plaintext into the output first and encrypts there, so in place is fine.
    cipher(key, nonce, aad).encrypt(plaintext, out.subarray(outOffset, end));
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
      cipher(key, nonce, aad).decrypt(ciphertextAndTag, plaintext);
    } catch {
      // noble checks the tag before it writes anything; zero the uninitialised output all the same.
      plaintext.fill(0);
      return undefined;
    }
    return plaintext;
  },
});
