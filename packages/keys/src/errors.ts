/**
 * Typed errors of `@mesh/keys`. Both classes extend crypto-core's {@link MeshCryptoError}, so
 * `isMeshError(e)` recognises them and `e.code` is one of the stable codes of docs/DESIGN.md §7.
 * Messages name ids, versions and paths, never key material or passphrases.
 *
 * @module
 */
import { DecryptionError, MeshCryptoError, type MeshErrorCode } from '@mesh/crypto-core';

/** Codes a {@link KeyError} carries. */
export type KeyErrorCode = Extract<
  MeshErrorCode,
  'ERR_KEY_NOT_FOUND' | 'ERR_KEY_STATE' | 'ERR_KEY_DERIVATION' | 'ERR_CONFIG_INVALID' | 'ERR_INVALID_INPUT'
>;

/** Codes a {@link KeyStoreError} carries. */
export type KeyStoreErrorCode = Extract<
  MeshErrorCode,
  'ERR_KEYSTORE_UNAVAILABLE' | 'ERR_KEYSTORE_CORRUPT' | 'ERR_CONFIG_INVALID' | 'ERR_KEY_STATE'
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

/**
 * A running manager refused a stored keyring older than the newest it has seen (`ERR_KEYSTORE_CORRUPT`):
 * the store was rolled back (a restored backup, a `.bak` fallback, a replayed document) or forked (an older
 * copy written past this manager's version by a process that never saw the newer one). The manager keeps
 * serving its current keyring and never merges the older document in; its writes fail with this error until
 * an operator restores the newest copy (see README, "Rollback").
 */
export class KeyringRollbackError extends KeyStoreError {
  override readonly name: string = 'KeyringRollbackError';
  /** Keyring name. */
  readonly keyring: string;
  /** Version of the refused document. */
  readonly storedVersion: number;
  /** Highest version this manager has seen. */
  readonly highWaterVersion: number;
  constructor(keyring: string, storedVersion: number, highWaterVersion: number, detail: string) {
    super(
      'ERR_KEYSTORE_CORRUPT',
      `keyring '${keyring}' in the store (version ${storedVersion}) is older than version ${highWaterVersion} already seen: ${detail}; refused`,
    );
    this.keyring = keyring;
    this.storedVersion = storedVersion;
    this.highWaterVersion = highWaterVersion;
  }
}

/**
 * A write's {@link WriteCondition} was checked by the store and did not hold (e.g. this node is no longer the
 * leader): nothing was written. Code `ERR_KEY_STATE`. Not retried by the manager.
 */
export class WriteConditionFailedError extends KeyStoreError {
  override readonly name: string = 'WriteConditionFailedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_KEY_STATE', message, options);
  }
}

/**
 * The KEK does not open keyring `keyring` (wrong KEK or passphrase, or a KEK of the other kind): a local
 * configuration error, so the message names the keyring and where it is stored. Still a
 * {@link DecryptionError} with code `ERR_DECRYPTION_FAILED`, as before.
 */
export class KekCheckError extends DecryptionError {
  /** Keyring name. */
  readonly keyring: string;
  /** Where the keyring is stored (`KeyStore.location`), e.g. a file path. */
  readonly location: string | undefined;
  constructor(keyring: string, location: string | undefined, options?: { cause?: unknown }) {
    super(options);
    this.message = `KEK check failed for keyring '${keyring}'${location === undefined ? '' : ` (${location})`}`;
    this.keyring = keyring;
    this.location = location;
  }
}
