/**
 * Public types of the keyring model (docs/DESIGN.md §4). Runtime code lives in `keyring.ts` (model and sealing),
 * `key-manager.ts` (rotation) and the key stores.
 *
 * @module
 */

/**
 * Algorithms a keyring holds keys for; every key is 32 bytes. Fernet material is signing key 16 | encryption
 * key 16. `xchacha20-poly1305` keys take random 192-bit nonces, so they have no usage limit (see
 * {@link isUsageLimited}).
 */
export type KeyAlgorithm = 'aes-256-gcm' | 'fernet' | 'xchacha20-poly1305';

/** The algorithms in the order `KeyManager.open` creates them by default. */
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['aes-256-gcm', 'fernet'];

/**
 * Every algorithm a keyring may hold (`KeyManager.open`'s `algorithms` option takes any subset).
 *
 * @example
 * ```ts
 * import { SUPPORTED_KEY_ALGORITHMS } from '@mesh/keys';
 * SUPPORTED_KEY_ALGORITHMS.includes('xchacha20-poly1305'); // true
 * ```
 */
export const SUPPORTED_KEY_ALGORITHMS: readonly KeyAlgorithm[] = [
  'aes-256-gcm',
  'fernet',
  'xchacha20-poly1305',
];

/**
 * True when keys of `algorithm` rotate after `maxEncryptionsPerKey` uses. AES-256-GCM's random 96-bit nonces
 * make that necessary (NIST SP 800-38D §8.3) and Fernet keeps the same rule; XChaCha20-Poly1305's random
 * 192-bit nonces do not (a repeat after 2^64 messages has probability about 2^-65), so its keys only rotate by
 * `interval` or by hand. Their uses are still leased and counted (`reservedEncryptions`).
 *
 * @example
 * ```ts
 * import { isUsageLimited } from '@mesh/keys';
 * isUsageLimited('aes-256-gcm'); // true
 * isUsageLimited('xchacha20-poly1305'); // false
 * ```
 */
export function isUsageLimited(algorithm: KeyAlgorithm): boolean {
  return algorithm !== 'xchacha20-poly1305';
}

/**
 * Life cycle of a key: `staged` (decrypts, never encrypts) -> `primary` (the one key per algorithm that
 * encrypts) -> `decrypt-only` -> `retired` (kept for audit, material dropped) -> destroyed (removed).
 */
export type KeyState = 'staged' | 'primary' | 'decrypt-only' | 'retired';

/** What caused a rotation; `remote` means another process or node rotated and this one noticed. */
export type RotationTrigger = 'initial' | 'manual' | 'interval' | 'usage' | 'remote';

/** Metadata of one key; never holds material. Times are ms since the epoch. */
export interface KeyInfo {
  /** Random u32, unique within the keyring (also among retired keys). */
  readonly id: number;
  readonly algorithm: KeyAlgorithm;
  readonly state: KeyState;
  readonly createdAt: number;
  readonly promotedAt?: number;
  readonly demotedAt?: number;
  readonly retiredAt?: number;
  /** Keyring version that added the key (compared with `minDecryptionVersion`). */
  readonly createdInVersion: number;
  /** Uses handed out by this `KeyManager` (this process) since it opened the keyring. */
  readonly encryptions: number;
  /**
   * Uses leased in the store by every process together: an upper bound of the key's real use count
   * (a lease a crashed process did not use up is counted as used). Never exceeds `maxEncryptionsPerKey`.
   */
  readonly reservedEncryptions: number;
  /** True for keys brought in with `importFernetKey`. */
  readonly imported?: boolean;
}

/**
 * A key ready to use. The object and its `material` are shared by every caller that got the same key:
 * treat them as read-only. `material` lives in libsodium guarded memory where sodium-native is present.
 * It stays valid after the key rotates (in-flight operations finish with the key they started with); once
 * the key retires, is replaced or the manager closes, it is wiped 250 ms later (its length becomes 0 when
 * it was guarded memory), so do not keep an ActiveKey longer than one operation.
 */
export interface ActiveKey {
  readonly id: number;
  readonly algorithm: KeyAlgorithm;
  /**
   * The key bytes (32). Not enumerable: `JSON.stringify`, `console.log` and spreading never show or copy it.
   * The array owns its whole `ArrayBuffer`.
   */
  readonly material: Uint8Array;
}

/** When keys rotate and how long previous keys stay usable for decryption. */
export interface RotationPolicy {
  /** Age of a primary after which the next encryption rotates first: ms or `'24h'`, `'7d'`, `'90m'`, `'30s'`. */
  interval?: number | string;
  /** Uses per key, default `2 ** 30` (random 96-bit GCM nonces: NIST SP 800-38D §8.3 caps at 2^32). */
  maxEncryptionsPerKey?: number;
  /** How long a demoted key stays decrypt-only before it is retired. Default: forever. */
  retention?: number | string;
  /** Decrypt-only keys kept per algorithm (newest first); older ones are retired. Default: unbounded. */
  maxRetainedKeys?: number;
  /** Keys created in an older keyring version are retired at once (a primary is first replaced). */
  minDecryptionVersion?: number;
  /**
   * Uses leased from the store per write (see README, "Usage leases"). Default
   * `min(65_536, ceil(maxEncryptionsPerKey / 8))`. Larger means fewer writes; a crash forfeits at most one
   * unused lease per key, it never lets a key exceed its limit.
   */
  usageLeaseSize?: number;
}

/**
 * Where the key-encryption key (KEK) that seals the keyring comes from.
 * - `passphrase`: PBKDF2-HMAC-SHA256 (default 600,000 iterations) with a 16-byte salt stored in the keyring.
 * - `env` / `file`: a raw 32-byte key, written as 64 hex digits or as base64/base64url (44 or 43 chars);
 *   surrounding whitespace is ignored.
 * - `key`: the 32 raw bytes.
 */
export type KekSource =
  | { passphrase: string; iterations?: number }
  | { env: string }
  | { file: string }
  | { key: Uint8Array };

/** KEK parameters recorded in a stored keyring. */
export type StoredKekParams =
  | { type: 'raw' }
  | { type: 'passphrase'; kdf: 'pbkdf2-hmac-sha256'; salt: string; iterations: number };

/** One key in a stored keyring. `sealed` is absent once the key is retired. */
export interface StoredKey {
  id: number;
  algorithm: KeyAlgorithm;
  state: KeyState;
  createdAt: number;
  promotedAt?: number;
  demotedAt?: number;
  retiredAt?: number;
  createdInVersion: number;
  /** Uses leased so far (all processes): the key's use count can never be higher. */
  reserved: number;
  imported?: boolean;
  /** base64url(nonce 12 | AES-256-GCM(material) | tag 16); AAD binds format, keyring name, id, algorithm, createdInVersion. */
  sealed?: string;
}

/**
 * The sealed keyring document a {@link KeyStore} keeps: plain JSON, no raw key material. `kekCheck` tells a
 * wrong KEK apart from a damaged document; `mac` (HMAC-SHA256 under a KEK-derived key over the canonical JSON
 * of every other field) detects any change to states, counters or versions.
 */
export interface StoredKeyring {
  format: 'mesh-keyring/v1';
  name: string;
  version: number;
  updatedAt: number;
  kek: StoredKekParams;
  kekCheck: string;
  keys: StoredKey[];
  mac: string;
}

/**
 * An extra precondition for one write, understood by the store it is given to (e.g. `EtcdKeyStore`'s
 * `kind: 'etcd-txn'`, which adds compares of leadership and ack keys to its transaction). Opaque to
 * `@mesh/keys`; stores that do not understand a condition refuse the write (never ignore it).
 */
export interface WriteCondition {
  readonly kind: string;
}

/** Options of {@link KeyStore.compareAndSwap}. */
export interface CompareAndSwapOptions {
  /**
   * Written only if this also holds. A store that cannot check it throws `KeyStoreError`
   * `ERR_CONFIG_INVALID`; a condition that is checked and fails throws {@link WriteConditionFailedError}
   * (never `false`, which means "version differs: re-read and retry").
   */
  readonly condition?: WriteCondition;
}

/**
 * Persistence of sealed keyrings. Implementations: {@link MemoryKeyStore}, {@link FileKeyStore}, and
 * `EtcdKeyStore` in `@mesh/keystore-etcd`.
 */
export interface KeyStore {
  /** The stored document, or `undefined` when no keyring of that name exists. */
  load(name: string): Promise<StoredKeyring | undefined>;
  /**
   * Writes `next` only if the stored version equals `expectedVersion` (`undefined`: only if absent).
   * Returns false, writing nothing, when the version differs.
   */
  compareAndSwap(
    name: string,
    expectedVersion: number | undefined,
    next: StoredKeyring,
    options?: CompareAndSwapOptions,
  ): Promise<boolean>;
  /**
   * Calls `onChange` (possibly more than once per change) when the keyring changes; returns unsubscribe.
   * `onError`, if given, hears about a watch that failed or lost its connection (the store keeps trying).
   */
  watch?(name: string, onChange: () => void, onError?: (error: unknown) => void): () => void;
  /** Where keyring `name` is kept (a path, a key prefix), for operator messages. Never a secret. */
  location?(name: string): string;
  close?(): Promise<void>;
}
