/**
 * The backend used when a caller passes none.
 *
 * @module
 * @internal
 */
import { nodeBackend } from './node/index.js';
import type { CryptoBackend } from './types.js';

/** The `node` backend; a function (not a constant) so import cycles never see it uninitialised. */
export function defaultBackend(): CryptoBackend {
  return nodeBackend;
}
