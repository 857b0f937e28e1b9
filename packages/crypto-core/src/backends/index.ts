/**
 * Backend registry: `node` (node:crypto, default) and `forge` (node-forge, pure JavaScript).
 *
 * @module
 */
import { MeshCryptoError } from '../errors.js';
import { forgeBackend } from './forge/index.js';
import { nodeBackend } from './node/index.js';
import type { BackendName, CryptoBackend } from './types.js';

export { forgeBackend } from './forge/index.js';
export { nodeBackend } from './node/index.js';
export type { BackendName, CryptoBackend, RsaBackend, RsaKeyPairPem, SymmetricBackend } from './types.js';

/**
 * The built-in backend of that name; `node` when omitted. Unknown names throw `ERR_UNSUPPORTED_ALGORITHM`.
 *
 * @example
 * ```ts
 * import { Fernet, getBackend } from '@mesh/crypto-core';
 * const f = new Fernet(Fernet.generateKey(), { backend: getBackend('forge') });
 * ```
 */
export function getBackend(name: BackendName = 'node'): CryptoBackend {
  switch (name) {
    case 'node':
      return nodeBackend;
    case 'forge':
      return forgeBackend;
    default:
      throw new MeshCryptoError('ERR_UNSUPPORTED_ALGORITHM', 'unknown backend name');
  }
}
