/**
 * Typed errors of `@mesh/keys`. Both classes extend crypto-core's {@link MeshCryptoError}, so
 * `isMeshError(e)` recognises them and `e.code` is one of the stable codes of docs/DESIGN.md §7.
 * Messages name ids, versions and paths, never key material or passphrases.
 *
 * @module
 */
import { MeshCryptoError, type MeshErrorCode } from '@mesh/crypto-core';

/** Codes a {@link KeyError} carries. */
export type KeyErrorCode = Extract<
  MeshErrorCode,
  'ERR_KEY_NOT_FOUND' | 'ERR_KEY_STATE' | 'ERR_KEY_DERIVATION' | 'ERR_CONFIG_INVALID' | 'ERR_INVALID_INPUT'
>;

/** Codes a {@link KeyStoreError} carries. */
export type KeyStoreErrorCode = Extract<
  MeshErrorCode,
  'ERR_KEYSTORE_UNAVAILABLE' | 'ERR_KEYSTORE_CORRUPT' | 'ERR_CONFIG_INVALID'
>;

/**
 * A key is missing, in the wrong state, cannot be derived, or the key configuration is invalid.
 *
 * @example
 * ```ts
 * try { await manager.getDecryptionKey(id); }
 * catch (e) { if (e instanceof KeyError && e.code === 'ERR_KEY_NOT_FOUND') return notFound(); throw e; }
 * ```
 */
export class KeyError extends MeshCryptoError {
  override readonly name: string = 'KeyError';
  declare readonly code: KeyErrorCode;
  constructor(code: KeyErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * A key store cannot be reached (`ERR_KEYSTORE_UNAVAILABLE`, retryable) or holds a document that fails its
 * checksum, MAC or schema (`ERR_KEYSTORE_CORRUPT`).
 *
 * @example
 * ```ts
 * try { await store.load('default'); }
 * catch (e) { if (e instanceof KeyStoreError && e.code === 'ERR_KEYSTORE_CORRUPT') alertOperator(e); }
 * ```
 */
export class KeyStoreError extends MeshCryptoError {
  override readonly name: string = 'KeyStoreError';
  declare readonly code: KeyStoreErrorCode;
  constructor(code: KeyStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
