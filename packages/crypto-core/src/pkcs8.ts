/**
 * Encrypted PKCS#8 (RFC 5958 §3, PBES2 from RFC 8018 §6.2).
 *
 * @module
 */
import { MeshCryptoError } from './errors.js';

/** Options for {@link encryptPrivateKeyPem}. */
export interface EncryptPrivateKeyOptions {
  /** PBKDF2 iteration count (default 600,000). */
  readonly iterations?: number;
}

/** Encrypt a PKCS#8 PEM private key under a passphrase. */
export async function encryptPrivateKeyPem(
  privateKeyPem: string,
  passphrase: string | Uint8Array,
  options?: EncryptPrivateKeyOptions,
): Promise<string> {
  void privateKeyPem;
  void passphrase;
  void options;
  throw new MeshCryptoError('ERR_UNSUPPORTED_ALGORITHM', 'not implemented yet');
}

/** Decrypt an encrypted PKCS#8 PEM private key. */
export async function decryptPrivateKeyPem(
  encryptedPem: string,
  passphrase: string | Uint8Array,
): Promise<string> {
  void encryptedPem;
  void passphrase;
  throw new MeshCryptoError('ERR_UNSUPPORTED_ALGORITHM', 'not implemented yet');
}
