/**
 * `@mesh/crypto-core`: the primitives of Mesh Encryption on two interchangeable backends (node:crypto and
 * node-forge), plus the `MeshCryptoError` base every package shares. The API is the contract in
 * `docs/crypto-core-api.md`.
 *
 * @example
 * ```ts
 * import { aesGcmDecrypt, aesGcmEncrypt, randomBytes } from '@mesh/crypto-core';
 * const key = randomBytes(32);
 * const nonce = randomBytes(12);
 * const plain = aesGcmDecrypt(key, nonce, aesGcmEncrypt(key, nonce, 'hello'));
 * ```
 *
 * @module
 */

export { AES_BLOCK_LENGTH, aesCbcDecrypt, aesCbcEncrypt } from './aes-cbc.js';
export type { AesGcmSealed } from './aes-gcm.js';
// AES-GCM, AES-CBC, HMAC, SHA-256
export {
  AES_256_KEY_LENGTH,
  AES_GCM_NONCE_LENGTH,
  AES_GCM_TAG_LENGTH,
  aesGcmDecrypt,
  aesGcmEncrypt,
  aesGcmEncryptInto,
  aesGcmOpenDetached,
  aesGcmSeal,
} from './aes-gcm.js';
export { getChaChaBackend, isSodiumAvailable, nobleChaChaBackend } from './backends/chacha.js';
export type {
  BackendName,
  CryptoBackend,
  RsaBackend,
  RsaKeyPairPem,
  SymmetricBackend,
} from './backends/index.js';
// Backends
export { forgeBackend, getBackend, nodeBackend } from './backends/index.js';
export type { ChaChaBackend, ChaChaBackendName } from './backends/types.js';
export type { BytesLike } from './bytes.js';
// Bytes
export {
  base64UrlDecode,
  base64UrlEncode,
  concatBytes,
  constantTimeEqual,
  MAX_RANDOM_BYTES,
  randomBytes,
  randomUint32,
  toBytes,
  utf8Decode,
  utf8Encode,
  wipe,
} from './bytes.js';
export type { MeshError, MeshErrorCode } from './errors.js';
// Errors
export {
  DECRYPTION_FAILED_MESSAGE,
  DecryptionError,
  isMeshError,
  MESH_ERROR,
  MESH_ERROR_CODES,
  MeshCryptoError,
  needs,
} from './errors.js';
export type { FernetDecryptOptions, FernetEncryptOptions, FernetOptions } from './fernet.js';
// Fernet
export { FERNET_KEY_LENGTH, FERNET_MAX_CLOCK_SKEW, FERNET_VERSION, Fernet, MultiFernet } from './fernet.js';
export {
  HMAC_SHA256_LENGTH,
  HMAC_SHA256_MIN_TAG_LENGTH,
  hmacSha256,
  hmacSha256Verify,
  sha256,
} from './hmac.js';
export type { Pbkdf2Options } from './kdf.js';
// Key derivation
export {
  DEFAULT_PBKDF2_ITERATIONS,
  HKDF_SHA256_MAX_LENGTH,
  hkdfSha256,
  MAX_PBKDF2_ITERATIONS,
  MAX_PBKDF2_LENGTH,
  MIN_ACCEPTED_PBKDF2_ITERATIONS,
  pbkdf2Sha256,
} from './kdf.js';
export { MAX_NONCE_LENGTH, randomNonceInto } from './nonce.js';
export type { PemBlock } from './pem.js';
export { MAX_PEM_LENGTH, pemDecode, pemEncode } from './pem.js';
export { PKCS8_DEFAULT_ITERATIONS, PKCS8_MAX_ITERATIONS, PKCS8_MIN_ITERATIONS } from './pkcs8.js';
export type {
  DecryptPrivateKeyOptions,
  EncryptPrivateKeyOptions,
  RsaModulusBits,
  RsaOaepOptions,
  RsaPrivateKey,
  RsaPublicKey,
} from './rsa.js';
// RSA and PEM
export {
  decryptPrivateKeyPem,
  encryptPrivateKeyPem,
  generateRsaKeyPair,
  importRsaPrivateKey,
  importRsaPublicKey,
  RSA_MAX_IMPORT_BITS,
  RSA_MIN_ENCRYPT_BITS,
  RSA_MIN_IMPORT_BITS,
  rsaKeyId,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
  rsaOaepMaxPlaintextLength,
} from './rsa.js';
// Guarded memory for keys (libsodium where available)
export {
  allocSecureBytes,
  copyToSecureBytes,
  isSecureBytes,
  MAX_GUARDED_ALLOCATIONS,
  MAX_SECURE_BYTES,
  releaseSecureBytes,
} from './secure-memory.js';
// XChaCha20-Poly1305
export {
  XCHACHA20_POLY1305_KEY_LENGTH,
  XCHACHA20_POLY1305_NONCE_LENGTH,
  XCHACHA20_POLY1305_TAG_LENGTH,
  xchacha20Poly1305Decrypt,
  xchacha20Poly1305Encrypt,
  xchacha20Poly1305EncryptInto,
  xchacha20Poly1305SealInto,
} from './xchacha20-poly1305.js';
