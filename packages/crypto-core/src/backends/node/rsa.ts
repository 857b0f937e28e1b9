/**
 * RSA backend on node.
 *
 * @module
 */
import type { RsaBackend } from '../types.js';

const notYet = (): never => {
  throw new Error('not implemented yet');
};

/** RSA primitives on node. */
export const nodeRsa: RsaBackend = {
  generateRsaKeyPair: async () => notYet(),
  rsaOaepEncrypt: () => notYet(),
  rsaOaepDecrypt: () => notYet(),
};
