/**
 * RSA-OAEP with SHA-256 / MGF1-SHA256 (RFC 8017 §7.1), key generation and import.
 *
 * @module
 */
import type { RsaBackend, RsaKeyPairPem } from './backends/types.js';
import { MeshCryptoError } from './errors.js';

export type { EncryptPrivateKeyOptions } from './pkcs8.js';
export { decryptPrivateKeyPem, encryptPrivateKeyPem } from './pkcs8.js';

/** Supported modulus sizes for key generation. */
export type RsaModulusBits = 2048 | 3072 | 4096;

/** An imported RSA public key. */
export interface RsaPublicKey {
  readonly bits: number;
  readonly spkiDer: Uint8Array;
  readonly pem: string;
}

/** An imported RSA private key. */
export interface RsaPrivateKey {
  readonly bits: number;
  readonly pkcs8Der: Uint8Array;
  readonly publicKey: RsaPublicKey;
}

/** Options for RSA-OAEP. */
export interface RsaOaepOptions {
  readonly label?: Uint8Array | string;
  readonly backend?: RsaBackend;
}

const notYet = (): never => {
  throw new MeshCryptoError('ERR_UNSUPPORTED_ALGORITHM', 'not implemented yet');
};

/** Generate an RSA key pair. */
export async function generateRsaKeyPair(
  bits: RsaModulusBits = 3072,
  backend?: RsaBackend,
): Promise<RsaKeyPairPem> {
  void bits;
  void backend;
  return notYet();
}

/** Import an SPKI public key. */
export function importRsaPublicKey(pem: string | Uint8Array): RsaPublicKey {
  void pem;
  return notYet();
}

/** Import a PKCS#8 private key. */
export function importRsaPrivateKey(pem: string | Uint8Array): RsaPrivateKey {
  void pem;
  return notYet();
}

/** Largest plaintext RSA-OAEP-SHA256 can take. */
export function rsaOaepMaxPlaintextLength(modulusBits: number): number {
  return Math.ceil(modulusBits / 8) - 2 * 32 - 2;
}

/** RSA-OAEP-SHA256 encrypt. */
export function rsaOaepEncrypt(
  publicKey: string | RsaPublicKey,
  plaintext: Uint8Array,
  options?: RsaOaepOptions,
): Uint8Array {
  void publicKey;
  void plaintext;
  void options;
  return notYet();
}

/** RSA-OAEP-SHA256 decrypt. */
export function rsaOaepDecrypt(
  privateKey: string | RsaPrivateKey,
  ciphertext: Uint8Array,
  options?: RsaOaepOptions,
): Uint8Array {
  void privateKey;
  void ciphertext;
  void options;
  return notYet();
}

/** Key id of a public key: first 4 bytes (u32 BE) of SHA-256 over its SPKI DER. */
export function rsaKeyId(publicKey: string | RsaPublicKey): number {
  void publicKey;
  return notYet();
}
