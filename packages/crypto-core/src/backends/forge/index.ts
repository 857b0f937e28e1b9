/**
 * The `forge` backend: node-forge, pure JavaScript. For runtimes without node:crypto and as an independent
 * second implementation that the test suites compare against the `node` backend byte for byte.
 *
 * @module
 */
import type { CryptoBackend } from '../types.js';
import { forgeRsa } from './rsa.js';
import { forgeSymmetric } from './symmetric.js';

/**
 * Every primitive on node-forge. Roughly 20-100x slower than `nodeBackend` (see the README's benchmark).
 *
 * @example
 * ```ts
 * import { forgeBackend, hmacSha256 } from '@mesh/crypto-core';
 * const tag = hmacSha256(new Uint8Array(32), 'message', forgeBackend);
 * ```
 */
export const forgeBackend: CryptoBackend = Object.freeze({ ...forgeSymmetric, ...forgeRsa });
