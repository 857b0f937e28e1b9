/**
 * `@mesh/encryption`: the Mesh Encryption facade. One object, configured once, that encrypts and decrypts
 * any payload (envelope v1), compresses when it pays, rotates keys underneath, records metrics, speaks Fernet
 * to Python services, encrypts for RSA public keys and streams objects of any size.
 *
 * @example
 * ```ts
 * import { createEncryption } from '@mesh/encryption';
 * const enc = await createEncryption({ service: 'orders' });
 * const sealed = await enc.encrypt('hello', { context: 'orders->payments' });
 * await enc.decryptToString(sealed, { context: 'orders->payments' }); // 'hello'
 * ```
 *
 * @module
 */

export type { PrivateKeyInput, PublicKeyInput } from './asymmetric.js';
export type {
  CompressionConfig,
  EncryptionConfig,
  EnvelopeCipher,
  FernetConfig,
  ResolvedConfig,
  ResolvedService,
  ServiceConfig,
} from './config.js';
export {
  DEFAULTS,
  ENVELOPE_CIPHERS,
  MAX_PBKDF2_ITERATIONS,
  MIN_PBKDF2_ITERATIONS,
  resolveConfig,
} from './config.js';
export type { AlgorithmName, EnvelopeAlgorithmId, EnvelopeHeader } from './envelope.js';
export {
  algorithmName,
  ENVELOPE_VERSION,
  EnvelopeAlgorithm,
  FLAG_COMPRESSED,
  FLAG_PADDED,
  HEADER_LENGTH,
  MIN_GCM_ENVELOPE_LENGTH,
  readHeader,
} from './envelope.js';
export { MIN_XCHACHA_ENVELOPE_LENGTH } from './envelope-xchacha.js';
export type { MeshErrorCode } from './errors.js';
export { EncryptionError } from './errors.js';
export type {
  DecryptOptions,
  Encryption,
  EncryptOptions,
  FernetApi,
  RewrapOptions,
} from './facade.js';
export { createEncryption } from './facade.js';
export type { FernetDecryptOptions } from './fernet-mode.js';
export type { CiphertextInput, PlaintextInput } from './input.js';
export type { CiphertextInfo } from './inspect.js';
export { inspect } from './inspect.js';
export type { PaddingConfig, PaddingPolicy } from './padding.js';
export { paddedLength } from './padding.js';
export type { RewrapItem, RewrapResult } from './rewrap.js';
export { DEFAULT_REWRAP_CONCURRENCY } from './rewrap.js';
export type { StreamDeps, StreamOptions } from './stream/index.js';
