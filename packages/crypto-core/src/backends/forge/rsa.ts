/**
 * RSA backend on forge.
 *
 * @module
 */
import type { RsaBackend } from '../types.js';

const notYet = (): never => {
  throw new Error('not implemented yet');
};

/** RSA primitives on forge. */
export const forgeRsa: RsaBackend = {
  generateRsaKeyPair: async () => notYet(),
  rsaOaepEncrypt: () => notYet(),
  rsaOaepDecrypt: () => notYet(),
};
