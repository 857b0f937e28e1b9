/**
 * ChaCha20-Poly1305 backend registry: `sodium` (sodium-native, the default where it loads) and `noble`
 * (@noble/ciphers, pure JavaScript). Separate from the AES/RSA backends because the fast implementation of
 * this family is libsodium, not node:crypto (whose ChaCha20-Poly1305 has no XChaCha variant).
 *
 * @module
 */
import { MeshCryptoError } from '../errors.js';
import { nobleChaCha } from './noble/chacha.js';
import { sodiumChaCha } from './sodium/chacha.js';
import { loadSodium, sodiumLoadFailure } from './sodium/load.js';
import type { ChaChaBackend, ChaChaBackendName } from './types.js';

let sodiumBackend: ChaChaBackend | undefined;

function sodium(): ChaChaBackend | undefined {
  if (sodiumBackend === undefined) {
    const binding = loadSodium();
    if (binding !== undefined) sodiumBackend = sodiumChaCha(binding);
  }
  return sodiumBackend;
}

/**
 * The pure-JavaScript ChaCha20-Poly1305 backend (@noble/ciphers). Byte-identical to the sodium backend,
 * several times slower on small messages.
 *
 * @example
 * ```ts
 * import { nobleChaChaBackend, randomBytes, xchacha20Poly1305Encrypt } from '@mesh/crypto-core';
 * const sealed = xchacha20Poly1305Encrypt(randomBytes(32), randomBytes(24), 'hi', undefined, nobleChaChaBackend);
 * ```
 */
export const nobleChaChaBackend: ChaChaBackend = nobleChaCha;

/**
 * True when sodium-native loads on this platform. The first call that needs it tries to load it; when that
 * fails, a process warning with code `MESH_SODIUM_UNAVAILABLE` says why, once.
 *
 * @example
 * ```ts
 * import { isSodiumAvailable } from '@mesh/crypto-core';
 * console.log(isSodiumAvailable() ? 'libsodium' : 'pure JavaScript');
 * ```
 */
export function isSodiumAvailable(): boolean {
  return sodium() !== undefined;
}

/**
 * A ChaCha20-Poly1305 backend by name. Without a name: `sodium` where sodium-native loads, else `noble`
 * (after the one warning). Asking for `sodium` where it cannot load throws `ERR_UNSUPPORTED_ALGORITHM` with
 * the reason; an unknown name throws the same code.
 *
 * @example
 * ```ts
 * import { getChaChaBackend } from '@mesh/crypto-core';
 * getChaChaBackend().name; // 'sodium' (or 'noble' where sodium-native cannot load)
 * getChaChaBackend('noble').name; // 'noble'
 * ```
 */
export function getChaChaBackend(name?: ChaChaBackendName): ChaChaBackend {
  switch (name) {
    case undefined:
      return sodium() ?? nobleChaCha;
    case 'noble':
      return nobleChaCha;
    case 'sodium': {
      const backend = sodium();
      if (backend === undefined) {
        throw new MeshCryptoError(
          'ERR_UNSUPPORTED_ALGORITHM',
          `the sodium backend is not available on this platform: sodium-native could not be loaded (${sodiumLoadFailure()})`,
        );
      }
      return backend;
    }
    default:
      throw new MeshCryptoError('ERR_UNSUPPORTED_ALGORITHM', 'unknown ChaCha20-Poly1305 backend name');
  }
}
