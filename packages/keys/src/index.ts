/**
 * `@mesh/keys`: keyrings with rotation by age, usage and hand; sealed storage in memory or a crash-safe
 * file; password keys, per-service subkeys and RSA key files. docs/DESIGN.md §4; API in `docs/keys-api.md`.
 *
 * @example
 * ```ts
 * import { KeyManager, MemoryKeyStore } from '@mesh/keys';
 * const keys = await KeyManager.open({ store: new MemoryKeyStore(), kek: { key: crypto.getRandomValues(new Uint8Array(32)) } });
 * const { id, material } = await keys.acquireEncryptionKey();
 * ```
 *
 * @module
 */
export { parseDuration } from './duration.js';
export type { KeyErrorCode, KeyStoreErrorCode } from './errors.js';
export {
  KekCheckError,
  KeyError,
  KeyringRollbackError,
  KeyStoreError,
  WriteConditionFailedError,
} from './errors.js';
export type { BackupServedEvent, FileKeyStoreOptions } from './file-key-store.js';
export { FileKeyStore, KEYSTORE_FILE_FORMAT } from './file-key-store.js';
export { KeyManager } from './key-manager.js';
export {
  KEYRING_FORMAT,
  MAX_KEYRING_DOCUMENT_BYTES,
  MAX_KEYS_PER_KEYRING,
  parseStoredKeyring,
} from './keyring.js';
export type {
  AppliedEvent,
  KeyManagerOptions,
  KeyManagerStats,
  LeaseFallbackEvent,
  PromotedEvent,
  RetiredEvent,
  RollbackRefusedEvent,
  RotatedEvent,
  RotationDueEvent,
  RotationFailedEvent,
  StagedEvent,
  WriteOptions,
} from './manager-types.js';
export { MemoryKeyStore } from './memory-key-store.js';
export type {
  DerivedPasswordKey,
  DerivePasswordKeyOptions,
  PasswordKeyCacheOptions,
  PasswordKeyParams,
} from './password.js';
export {
  DEFAULT_MAX_PASSWORD_ITERATIONS,
  derivePasswordKey,
  MIN_PASSWORD_ITERATIONS,
  PASSWORD_SALT_LENGTH,
  PasswordKeyCache,
} from './password.js';
export { DEFAULT_MAX_ENCRYPTIONS_PER_KEY } from './policy.js';
export type { SaveRsaKeyPairOptions } from './rsa-files.js';
export { loadRsaPrivateKey, loadRsaPublicKey, saveRsaKeyPair } from './rsa-files.js';
export { deriveSubkey } from './subkey.js';
export type { NewKey, PromoteResult, RetentionResult, TransitionContext } from './transitions.js';
export {
  addKey,
  applyRetentionPolicy,
  demoteKey,
  primariesToReplace,
  promoteKey,
  pruneRetiredKeys,
  retireKey,
  stageKey,
} from './transitions.js';
export type {
  ActiveKey,
  CompareAndSwapOptions,
  KekSource,
  KeyAlgorithm,
  KeyInfo,
  KeyState,
  KeyStore,
  RotationPolicy,
  RotationTrigger,
  StoredKekParams,
  StoredKey,
  StoredKeyring,
  WriteCondition,
} from './types.js';
export { isUsageLimited, KEY_ALGORITHMS, SUPPORTED_KEY_ALGORITHMS } from './types.js';
