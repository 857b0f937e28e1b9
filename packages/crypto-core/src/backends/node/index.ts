/**
 * The `node` backend: node:crypto (OpenSSL). The default and the fast one.
 *
 * @module
 */
import type { CryptoBackend } from '../types.js';
import { nodeRsa } from './rsa.js';
import { nodeSymmetric } from './symmetric.js';

/**
 * Every primitive on node:crypto. Used by default wherever a `backend` argument is omitted.
 *
 * @example
 * ```ts
 * import { aesGcmEncrypt, nodeBackend, randomBytes } from '@mesh/crypto-core';
 * const key = randomBytes(32);
 * const sealed = aesGcmEncrypt(key, randomBytes(12), new Uint8Array([1, 2, 3]), undefined, nodeBackend);
 * ```
 */
export const nodeBackend: CryptoBackend = Object.freeze({ ...nodeSymmetric, ...nodeRsa });
