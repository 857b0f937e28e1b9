/**
 * Options, events and counters of {@link KeyManager} (types only; the class is in `key-manager.ts`).
 *
 * @module
 */
import type { KeyringRollbackError } from './errors.js';
import type {
  KekSource,
  KeyAlgorithm,
  KeyStore,
  RotationPolicy,
  RotationTrigger,
  WriteCondition,
} from './types.js';

/** Options of {@link KeyManager.open}. */
export interface KeyManagerOptions {
  store: KeyStore;
  kek: KekSource;
  /** Keyring name, default `'default'`: letters, digits, `.`, `_`, `-`; at most 128 characters. */
  name?: string;
  /** Algorithms that get a primary key, default `['aes-256-gcm', 'fernet']`. */
  algorithms?: KeyAlgorithm[];
  rotation?: RotationPolicy;
  /** Milliseconds since the epoch; inject a fake clock in tests. Default `Date.now`. */
  clock?: () => number;
  /** Follow changes made by other processes through `store.watch`, default true. */
  watch?: boolean;
  /** Cap on PBKDF2 iterations accepted from a stored keyring's KEK parameters, default 10,000,000. */
  maxKekIterations?: number;
  /**
   * Shortest time between two store re-reads caused by unknown key ids or `refresh()` (input anyone can send),
   * default 1000 ms (0: no limit). A miss inside the interval is answered from the keyring in memory, without
   * a read; ids still unknown after a re-read fail at once for as long again (or until the keyring
   * changes). Watch events are not limited: with a watch a new key arrives by push, without one the next
   * permitted re-read finds it, at most one interval later.
   */
  missReloadIntervalMs?: number;
  /**
   * Rotate, retire and apply retention by itself (default true). False for a node in a fleet whose
   * coordinator rotates: the manager then never stages, promotes, rotates or retires on its own; when a
   * rotation is due it emits `rotation-due`, and callers whose key is used up wait up to `rotationWaitMs`
   * for a new primary to arrive from the store. See {@link KeyManager.setAutomaticRotation}.
   */
  automaticRotation?: boolean;
  /** How long `acquireEncryptionKey` waits for a new primary when `automaticRotation` is off. Default 5000 ms. */
  rotationWaitMs?: number;
}

/** Options of the write methods (`stage`, `promote`, `rotate`, `maintain`). */
export interface WriteOptions {
  /**
   * Passed to `store.compareAndSwap`: the write happens only if the store also finds this true (e.g. "this
   * node still leads"). Stores that cannot check conditions refuse the write.
   */
  condition?: WriteCondition;
}

/** Payload of the `staged` event: a new key that decrypts but does not encrypt yet. */
export interface StagedEvent {
  algorithm: KeyAlgorithm;
  keyId: number;
  version: number;
}
/** Payload of the `promoted` event: a key became primary (a `rotated` event follows as well). */
export interface PromotedEvent {
  algorithm: KeyAlgorithm;
  keyId: number;
  previousKeyId?: number;
  trigger: RotationTrigger;
  version: number;
}
/**
 * Payload of the `applied` event: the manager now serves keyring `version` (its own write, or one the
 * watch or a re-read delivered), with every key's material opened. A fleet node writes this as its ack.
 */
export interface AppliedEvent {
  version: number;
}
/** Payload of the `rotation-due` event (only with `automaticRotation: false`): someone should rotate. */
export interface RotationDueEvent {
  algorithm: KeyAlgorithm;
  trigger: 'initial' | 'interval' | 'usage';
  /** The primary that is due, if there is one. */
  keyId?: number;
}

/** Payload of the `rollback-refused` event: the store handed over an older keyring than this manager has seen. */
export interface RollbackRefusedEvent {
  keyring: string;
  /** Version of the refused document. */
  storedVersion: number;
  /** Highest version this manager has seen (and still serves). */
  highWaterVersion: number;
  error: KeyringRollbackError;
}

/** Counters for a metrics layer ({@link KeyManager.stats}). */
export interface KeyManagerStats {
  /** Store documents refused as a rollback (each also emitted `rollback-refused`). */
  rollbacksRefused: number;
  /** Store re-reads caused by unknown key ids or `refresh()`. */
  missReloads: number;
  /** Lookups of unknown ids answered from the negative cache, without a store read. */
  negativeCacheHits: number;
  /**
   * Encryption keys handed out from a lease on a previous primary because the current primary's lease could
   * not be written (store unavailable); see the `lease-fallback` event.
   */
  leaseFallbacks: number;
}

/**
 * Payload of the `lease-fallback` event: the usage-lease write for the primary `primaryKeyId` failed because
 * the store is unavailable, so this manager encrypts with the remaining uses of the lease it already holds on
 * `keyId` (a previous primary, now decrypt-only, that every node still holds) until a retried lease write
 * for the primary succeeds. Emitted when the fallback starts, not per use (those are counted in `stats()`).
 */
export interface LeaseFallbackEvent {
  algorithm: KeyAlgorithm;
  /** The decrypt-only key encryptions fall back to. */
  keyId: number;
  /** The primary whose lease could not be written. */
  primaryKeyId: number;
  /** Uses left of the lease on `keyId` when the fallback started. */
  remaining: number;
  /** The store's error (a `KeyStoreError` with code `ERR_KEYSTORE_UNAVAILABLE`). */
  error: unknown;
}

/** Payload of the `rotated` event. */
export interface RotatedEvent {
  algorithm: KeyAlgorithm;
  trigger: RotationTrigger;
  keyId: number;
  previousKeyId?: number;
  version: number;
}
/** Payload of the `retired` event. */
export interface RetiredEvent {
  algorithm: KeyAlgorithm;
  keyId: number;
}
/** Payload of the `rotation-failed` event: an automatic (interval) rotation failed; the old key stays in use. */
export interface RotationFailedEvent {
  algorithm: KeyAlgorithm;
  trigger: RotationTrigger;
  error: unknown;
}

/** Event names and payloads. @internal */
export interface Events {
  staged: StagedEvent;
  promoted: PromotedEvent;
  applied: AppliedEvent;
  'rotation-due': RotationDueEvent;
  rotated: RotatedEvent;
  retired: RetiredEvent;
  'rotation-failed': RotationFailedEvent;
  'rollback-refused': RollbackRefusedEvent;
  'lease-fallback': LeaseFallbackEvent;
}
