/**
 * `KeyManager`: one keyring (one primary per algorithm plus previous keys), rotation by age, usage and hand,
 * retention, and change propagation through a {@link KeyStore} (docs/DESIGN.md §4).
 *
 * Consistency model. Every change is a compare-and-swap of the whole sealed document on its version: build
 * the next document from the current snapshot, CAS it, and on a conflict re-read and re-decide. Changes of
 * one manager are serialised through one queue; the in-memory snapshot is replaced by one assignment, so a
 * reader sees the old or the new keyring, never a mix. A failed write leaves the snapshot untouched.
 *
 * Usage limits. A use is reserved synchronously from a lease: a block of uses `[start, end)` this process
 * recorded in the store (`reserved = end`) before handing out the first of them. The store therefore always
 * counts at least every use handed out, so no crash or second process can push a key past
 * `maxEncryptionsPerKey`. Callers that find the lease or the key exhausted wait on one shared in-flight
 * lease write or rotation, never start their own.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  constantTimeEqual,
  copyToSecureBytes,
  DecryptionError,
  isMeshError,
  randomBytes,
  randomUint32,
  releaseSecureBytes,
  wipe,
} from '@mesh/crypto-core';
import { decodeSecretBase64Url, owned } from './_secret-bytes.js';
import { activeKey } from './active-key.js';
import { KekCheckError, KeyError, KeyringRollbackError, KeyStoreError } from './errors.js';
import { type KekKeys, kekMatches, resolveKek } from './kek.js';
import {
  finishDocument,
  isValidKeyringName,
  KEY_MATERIAL_LENGTH,
  KEYRING_FORMAT,
  MAX_KEYS_PER_KEYRING,
  openMaterial,
  sealMaterial,
  verifyDocument,
} from './keyring.js';
import type {
  AppliedEvent,
  Events,
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
import {
  type NormalizedPolicy,
  nextRetentionDeadline,
  normalizePolicy,
  primaryBelowMinVersion,
} from './policy.js';
import { rollbackReason } from './rollback.js';
import { addKey, applyRetention, promoteKey } from './transitions.js';

import {
  type ActiveKey,
  isUsageLimited,
  KEY_ALGORITHMS,
  type KekSource,
  type KeyAlgorithm,
  type KeyInfo,
  type KeyStore,
  type RotationTrigger,
  type StoredKey,
  type StoredKeyring,
  SUPPORTED_KEY_ALGORITHMS,
  type WriteCondition,
} from './types.js';

interface KeyRecord {
  readonly stored: StoredKey;
  readonly active: ActiveKey | undefined;
}

interface Snapshot {
  readonly doc: StoredKeyring;
  readonly records: ReadonlyMap<number, KeyRecord>;
  readonly primaries: ReadonlyMap<KeyAlgorithm, KeyRecord>;
  readonly decryption: Map<KeyAlgorithm, ActiveKey[]>;
}

interface Lease {
  next: number;
  end: number;
}

interface Draft {
  readonly now: number;
  readonly version: number;
  keys: StoredKey[];
  readonly materials: Map<number, Uint8Array>;
  readonly events: Array<
    | ['rotated', RotatedEvent]
    | ['retired', RetiredEvent]
    | ['staged', StagedEvent]
    | ['promoted', PromotedEvent]
  >;
  kek: KekKeys;
}

const NOOP: unique symbol = Symbol('noop');
type Noop = typeof NOOP;
const MAX_CAS_ATTEMPTS = 32;
const MAX_IDLE_ROUNDS = 1_000;
const AUTO_ROTATION_RETRY_MS = 1_000;
const DEFAULT_MISS_RELOAD_INTERVAL_MS = 1_000;
const MAX_NEGATIVE_IDS = 4_096;
const DEFAULT_ROTATION_WAIT_MS = 5_000;
/**
 * Shortest time between two usage-lease writes for a primary whose last one failed for unavailability while
 * a fallback lease serves encryptions (a store that is down is not hit by every request).
 */
const LEASE_RETRY_MS = 500;
const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * Manages one keyring: hands out encryption keys (reserving each use), finds decryption keys by id, rotates
 * and retires keys by policy, and keeps the keyring sealed in a {@link KeyStore}.
 *
 * @example
 * ```ts
 * import { FileKeyStore, KeyManager } from '@mesh/keys';
 * const keys = await KeyManager.open({
 *   store: new FileKeyStore({ path: '.mesh/keyring.json' }),
 *   kek: { env: 'MESH_KEK' },
 *   rotation: { interval: '24h', maxEncryptionsPerKey: 2 ** 30, retention: '7d' },
 * });
 * const key = await keys.acquireEncryptionKey('aes-256-gcm'); // { id, algorithm, material }
 * const same = await keys.getDecryptionKey(key.id);
 * keys.on('rotated', (e) => console.log('rotated', e.algorithm, e.trigger, e.keyId));
 * await keys.close();
 * ```
 */
export class KeyManager {
  /** Keyring name. */
  readonly name: string;
  readonly #store: KeyStore;
  #kekSource: KekSource;
  #kek!: KekKeys;
  readonly #algorithms: readonly KeyAlgorithm[];
  readonly #policy: NormalizedPolicy;
  readonly #clock: () => number;
  readonly #maxKekIterations: number | undefined;
  #snapshot: Snapshot | undefined;
  /** Highest keyring version seen or written: the next write is above it, so versions only grow. */
  #highWater = 0;
  readonly #leases = new Map<number, Lease>();
  /** Uses handed out by this manager per key id (KeyInfo.encryptions). */
  readonly #uses = new Map<number, number>();
  readonly #inflight = new Map<string, Promise<void>>();
  #queue: Promise<unknown> = Promise.resolve();
  readonly #listeners = new Map<keyof Events, Set<(e: never) => void>>();
  readonly #autoRetryAt = new Map<KeyAlgorithm, number>();
  #nextMaintenanceAt = Number.POSITIVE_INFINITY;
  #unwatch: (() => void) | undefined;
  #closed = false;
  readonly #missReloadIntervalMs: number;
  #lastMissReloadAt = Number.NEGATIVE_INFINITY;
  #missReload: Promise<void> | undefined;
  /** Ids that stayed unknown after a re-read, with when that stops counting (performance.now()). */
  readonly #negative = new Map<number, number>();
  readonly #stats: KeyManagerStats = {
    rollbacksRefused: 0,
    missReloads: 0,
    negativeCacheHits: 0,
    leaseFallbacks: 0,
  };
  /**
   * Primaries whose usage-lease write failed because the store is unavailable, with when it may be tried
   * again (performance.now()); while present, encryptions use a fallback lease (see #leaseOrFallback).
   */
  readonly #leaseRetryAt = new Map<number, number>();
  #automatic: boolean;
  readonly #rotationWaitMs: number;
  /** Last `rotation-due` per algorithm/trigger/key (clock ms), so it is not emitted on every acquisition. */
  readonly #dueEmitted = new Map<string, number>();
  /** Resolved each time the snapshot moves to a new version. */
  #appliedWaiters: Array<() => void> = [];

  private constructor(options: KeyManagerOptions) {
    if (
      !options ||
      typeof options.store?.load !== 'function' ||
      typeof options.store.compareAndSwap !== 'function'
    ) {
      throw new KeyError('ERR_CONFIG_INVALID', 'KeyManager needs a store implementing KeyStore');
    }
    const name = options.name ?? 'default';
    if (!isValidKeyringName(name)) {
      throw new KeyError('ERR_CONFIG_INVALID', 'keyring name must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}');
    }
    const algorithms = options.algorithms ?? [...KEY_ALGORITHMS];
    if (
      !Array.isArray(algorithms) ||
      algorithms.length === 0 ||
      algorithms.some((a) => !SUPPORTED_KEY_ALGORITHMS.includes(a))
    ) {
      throw new KeyError(
        'ERR_CONFIG_INVALID',
        `algorithms must be a non-empty subset of ${SUPPORTED_KEY_ALGORITHMS.join(', ')}`,
      );
    }
    this.name = name;
    this.#store = options.store;
    this.#kekSource = options.kek;
    this.#algorithms = [...new Set(algorithms)];
    this.#policy = normalizePolicy(options.rotation);
    this.#clock = options.clock ?? Date.now;
    this.#maxKekIterations = options.maxKekIterations;
    this.#missReloadIntervalMs = options.missReloadIntervalMs ?? DEFAULT_MISS_RELOAD_INTERVAL_MS;
    if (!Number.isFinite(this.#missReloadIntervalMs) || this.#missReloadIntervalMs < 0) {
      throw new KeyError('ERR_CONFIG_INVALID', 'missReloadIntervalMs must be a non-negative number');
    }
    this.#automatic = options.automaticRotation ?? true;
    if (typeof this.#automatic !== 'boolean') {
      throw new KeyError('ERR_CONFIG_INVALID', 'automaticRotation must be a boolean');
    }
    this.#rotationWaitMs = options.rotationWaitMs ?? DEFAULT_ROTATION_WAIT_MS;
    if (!Number.isFinite(this.#rotationWaitMs) || this.#rotationWaitMs < 0) {
      throw new KeyError('ERR_CONFIG_INVALID', 'rotationWaitMs must be a non-negative number');
    }
  }

  /**
   * Opens the keyring `name` in `store`, creating it (one primary per algorithm) if absent, and applies the
   * retention policy.
   *
   * @throws {MeshCryptoError} `ERR_DECRYPTION_FAILED` for a wrong KEK or passphrase;
   *   {@link KeyStoreError} `ERR_KEYSTORE_CORRUPT` / `ERR_KEYSTORE_UNAVAILABLE`; {@link KeyError} `ERR_CONFIG_INVALID`.
   * @example
   * ```ts
   * const keys = await KeyManager.open({ store: new MemoryKeyStore(), kek: { passphrase: 'correct horse battery staple' } });
   * ```
   */
  static async open(options: KeyManagerOptions): Promise<KeyManager> {
    const manager = new KeyManager(options);
    await manager.#init(options.watch ?? true);
    return manager;
  }

  /** Current keyring version (grows with every change). */
  get version(): number {
    return this.#snapshot?.doc.version ?? 0;
  }

  /**
   * Returns the primary key of `algorithm`, reserving one use of it. Rotates first when the primary is older
   * than `rotation.interval` or has used up `maxEncryptionsPerKey`. No key is ever handed out more often than
   * its limit, across concurrent callers and processes.
   *
   * @throws {KeyStoreError} when a needed lease write or rotation cannot be stored (the key is exhausted);
   *   a failed interval rotation only emits `rotation-failed` and keeps using the current key.
   * @example
   * ```ts
   * const { id, material } = await keys.acquireEncryptionKey('aes-256-gcm');
   * ```
   */
  async acquireEncryptionKey(algorithm: KeyAlgorithm = 'aes-256-gcm'): Promise<ActiveKey> {
    this.#checkUsable(algorithm);
    // Every round that does not return waits on a store operation; bail out only if rounds stop making
    // progress (the keyring version stays put), never because a long queue of callers is being served.
    let lastVersion = -1;
    // One rotation by interval per call: the primary it makes is used even if its own interval has already
    // passed (an interval shorter than a store write), which would otherwise rotate again without end.
    let rotatedByInterval = false;
    for (let idle = 0; idle < MAX_IDLE_ROUNDS; idle++) {
      if (this.version !== lastVersion) {
        lastVersion = this.version;
        idle = 0;
      }
      const now = this.#clock();
      const ready = this.#useWithoutWaiting(algorithm, now, rotatedByInterval);
      if (ready !== undefined) return ready;
      const rec = this.#snapshot?.primaries.get(algorithm);
      if (!rec) {
        if (this.#automatic) await this.#rotateOnce(algorithm, 'initial', undefined);
        else await this.#awaitNewPrimary(algorithm, 'initial', undefined);
        continue;
      }
      const id = rec.stored.id;
      if (
        this.#automatic &&
        !rotatedByInterval &&
        this.#intervalDue(rec.stored, now) &&
        now >= (this.#autoRetryAt.get(algorithm) ?? 0)
      ) {
        rotatedByInterval = true;
        try {
          await this.#rotateOnce(algorithm, 'interval', id);
        } catch (error) {
          // Availability first: keep encrypting with the current key (within its usage limit) and retry later.
          this.#autoRetryAt.set(algorithm, now + AUTO_ROTATION_RETRY_MS);
          this.#emit('rotation-failed', { algorithm, trigger: 'interval', error });
        }
        continue;
      }
      // The lease is used up (or there is none yet).
      if (rec.stored.reserved < this.#usageLimit(algorithm)) {
        const fallback = await this.#leaseOrFallback(algorithm, id);
        if (fallback) return fallback;
      } else if (this.#automatic) await this.#rotateOnce(algorithm, 'usage', id);
      else await this.#awaitNewPrimary(algorithm, 'usage', id);
    }
    throw new KeyStoreError(
      'ERR_KEYSTORE_UNAVAILABLE',
      'could not reserve a key use (keyring too contended)',
    );
  }

  /**
   * {@link acquireEncryptionKey} without waiting: the primary of `algorithm` with one use reserved, when that
   * needs no store operation (this manager's lease on the primary has a use left and no rotation is due that
   * this manager must do first); otherwise `undefined`, and nothing is reserved. The use is counted exactly
   * as `acquireEncryptionKey` counts it, so `maxEncryptionsPerKey` holds whichever of the two a caller uses.
   * For hot paths that want to skip an `await` per message: try this first, and fall back to
   * `acquireEncryptionKey` on `undefined`.
   *
   * @throws {KeyError} `ERR_KEY_STATE` when the manager is closed, `ERR_CONFIG_INVALID` for an algorithm the
   *   keyring does not hold.
   * @example
   * ```ts
   * const key = keys.tryAcquireEncryptionKey('aes-256-gcm') ?? (await keys.acquireEncryptionKey('aes-256-gcm'));
   * ```
   */
  tryAcquireEncryptionKey(algorithm: KeyAlgorithm = 'aes-256-gcm'): ActiveKey | undefined {
    this.#checkUsable(algorithm);
    // The clock matters here only for an interval policy or a retention deadline (maintenance); without
    // either, nothing can be due at any time, so the per-message clock read is skipped.
    const now =
      this.#policy.intervalMs === undefined && this.#nextMaintenanceAt === Number.POSITIVE_INFINITY
        ? 0
        : this.#clock();
    return this.#useWithoutWaiting(algorithm, now);
  }

  /**
   * The key with `id` if it may decrypt (`staged`, `primary`, `decrypt-only`). An unknown id re-reads the
   * store once (another node may have rotated) before failing.
   *
   * @throws {KeyError} `ERR_KEY_NOT_FOUND` (unknown id or other algorithm), `ERR_KEY_STATE` (retired).
   * @example
   * ```ts
   * const key = await keys.getDecryptionKey(envelopeKeyId, 'aes-256-gcm');
   * ```
   */
  async getDecryptionKey(id: number, algorithm?: KeyAlgorithm): Promise<ActiveKey> {
    const held = this.cachedDecryptionKey(id, algorithm);
    if (held !== undefined) return held;
    // Not in the keyring in memory: another node may have rotated, so re-read once (rate limited).
    const until = this.#negative.get(id);
    if (until !== undefined && until > performance.now()) {
      this.#stats.negativeCacheHits++;
    } else {
      this.#negative.delete(id);
      const read = await this.#refreshOnMiss();
      const rec = this.#snapshot?.records.get(id);
      if (rec) return this.#decryptable(rec, algorithm);
      // Only an id a re-read did not find is remembered (not one merely answered inside the interval).
      if (read) this.#rememberUnknown(id);
    }
    throw this.#notFound(id, algorithm);
  }

  /**
   * {@link getDecryptionKey} for a key already in the keyring this manager holds in memory, without waiting:
   * the key with `id` when it may decrypt, the same `ERR_KEY_STATE` (retired) or `ERR_KEY_NOT_FOUND` (other
   * algorithm) when it is there but may not, and `undefined` when the id is not in memory (then
   * `getDecryptionKey` re-reads the store for it). Every call checks the keyring as it is now, so a key
   * retired a moment ago is refused here too.
   *
   * @throws {KeyError} `ERR_KEY_NOT_FOUND`, `ERR_KEY_STATE` (retired, or the manager is closed),
   *   `ERR_CONFIG_INVALID` for an algorithm the keyring does not hold.
   * @example
   * ```ts
   * const key = keys.cachedDecryptionKey(envelopeKeyId) ?? (await keys.getDecryptionKey(envelopeKeyId));
   * ```
   */
  cachedDecryptionKey(id: number, algorithm?: KeyAlgorithm): ActiveKey | undefined {
    this.#checkUsable(algorithm);
    const rec = this.#snapshot?.records.get(id);
    return rec === undefined ? undefined : this.#decryptable(rec, algorithm);
  }

  /**
   * Every key of `algorithm` that may decrypt: the primary first, then staged and decrypt-only keys, newest
   * first (the order MultiFernet tries them in).
   *
   * @example
   * ```ts
   * const multi = new MultiFernet(keys.decryptionKeys('fernet').map((k) => new Fernet(k.material)));
   * ```
   */
  decryptionKeys(algorithm: KeyAlgorithm): ActiveKey[] {
    this.#checkUsable(algorithm);
    const snap = this.#snapshot;
    if (!snap) return [];
    let list = snap.decryption.get(algorithm);
    if (!list) {
      const recs = [...snap.records.values()].filter((r) => r.stored.algorithm === algorithm && r.active);
      const rank = (r: KeyRecord) => (r.stored.state === 'primary' ? 0 : 1);
      recs.sort(
        (a, b) =>
          rank(a) - rank(b) ||
          b.stored.createdAt - a.stored.createdAt ||
          b.stored.createdInVersion - a.stored.createdInVersion,
      );
      list = recs.map((r) => r.active!);
      snap.decryption.set(algorithm, list);
    }
    return [...list];
  }

  /**
   * Rotates by hand: a new primary for `algorithm` (default: every algorithm of this manager, in one write);
   * the previous primary becomes decrypt-only. Each call is one keyring version: the `stage` and `promote`
   * steps applied to one document (events `staged`, `promoted`, `rotated`). In a fleet, call `stage`, wait
   * until every node has applied it, then `promote` instead.
   *
   * @throws {KeyStoreError} if the store write fails; the keyring in use is then unchanged.
   * @example
   * ```ts
   * await keys.rotate({ algorithm: 'aes-256-gcm' });
   * ```
   */
  async rotate(
    options: { algorithm?: KeyAlgorithm; trigger?: RotationTrigger } & WriteOptions = {},
  ): Promise<void> {
    this.#checkUsable(options.algorithm);
    const algorithms = options.algorithm ? [options.algorithm] : this.#algorithms;
    const trigger = options.trigger ?? 'manual';
    await this.#mutate(
      (d) => {
        for (const a of algorithms) this.#addPrimary(d, a, trigger);
        return undefined;
      },
      undefined,
      { condition: options.condition },
    );
  }

  /**
   * Phase one of a rotation: adds a new key of `algorithm` in state `staged`. It decrypts (every node that
   * has applied this version finds it by id) but never encrypts until {@link KeyManager.promote}. One write;
   * emits `staged`.
   *
   * @returns the new key's id and the keyring version that holds it (wait for every node's `applied` ack of
   *   at least this version before promoting).
   * @throws {KeyStoreError} the write failed (nothing changed); {@link WriteConditionFailedError} the
   *   condition did not hold.
   * @example
   * ```ts
   * const { keyId, version } = await keys.stage('aes-256-gcm');
   * // ... every node reports applied >= version ...
   * await keys.promote(keyId);
   * ```
   */
  async stage(
    algorithm: KeyAlgorithm,
    options: WriteOptions = {},
  ): Promise<{ keyId: number; version: number }> {
    this.#checkUsable(algorithm);
    const staged = await this.#mutate(
      (d) => ({ keyId: this.#stageInDraft(d, algorithm).id, version: d.version }),
      undefined,
      { condition: options.condition },
    );
    return staged!;
  }

  /**
   * Phase two: the staged key `keyId` becomes the primary of its algorithm and the old primary decrypt-only.
   * Promoting the key that already is primary is a no-op returning the current version (a new leader may
   * finish a rotation its predecessor started). A key this manager does not know yet is looked up in the
   * store first. One write; emits `promoted` and `rotated`.
   *
   * @throws {KeyError} `ERR_KEY_NOT_FOUND` (no such key), `ERR_KEY_STATE` (decrypt-only or retired: only a
   *   staged key can be promoted); {@link KeyStoreError} when the write fails.
   * @example
   * ```ts
   * const { version, previousKeyId } = await keys.promote(keyId);
   * ```
   */
  async promote(
    keyId: number,
    options: WriteOptions = {},
  ): Promise<{ version: number; previousKeyId?: number }> {
    this.#checkUsable(undefined);
    if (!this.#snapshot?.records.has(keyId)) await this.#enqueue(() => this.#reloadUnlocked());
    const known = this.#snapshot?.records.get(keyId);
    if (!known) throw new KeyError('ERR_KEY_NOT_FOUND', `no key ${keyId} in keyring '${this.name}'`);
    this.#checkUsable(known.stored.algorithm);
    const result = await this.#mutate(
      (d): { version: number; previousKeyId?: number; noop?: true } => {
        const k = d.keys.find((x) => x.id === keyId);
        if (!k) throw new KeyError('ERR_KEY_NOT_FOUND', `no key ${keyId} in keyring '${this.name}'`);
        if (k.state === 'primary') return { version: d.version - 1, noop: true };
        if (k.state !== 'staged') {
          throw new KeyError(
            'ERR_KEY_STATE',
            `key ${keyId} is ${k.state}; only a staged key can be promoted`,
          );
        }
        const previousKeyId = this.#promoteInDraft(d, keyId, 'manual');
        return { version: d.version, ...(previousKeyId !== undefined && { previousKeyId }) };
      },
      (r) => r.noop === true,
      { condition: options.condition },
    );
    if (result!.noop) return { version: this.version };
    const { noop: _noop, ...out } = result!;
    return out;
  }

  /**
   * Switches automatic rotation on or off (see `automaticRotation`): a fleet coordinator may turn it on for
   * a single node that leads alone and off when it steps down. Turning it on applies the retention policy at
   * the next acquisition.
   *
   * @example
   * ```ts
   * keys.setAutomaticRotation(false); // another node leads now
   * ```
   */
  setAutomaticRotation(enabled: boolean): void {
    if (typeof enabled !== 'boolean') throw new KeyError('ERR_CONFIG_INVALID', 'enabled must be a boolean');
    this.#automatic = enabled;
    if (enabled) this.#nextMaintenanceAt = Math.min(this.#nextMaintenanceAt, this.#clock());
  }

  /** Whether this manager rotates and retires by itself (see `automaticRotation`). */
  get automaticRotation(): boolean {
    return this.#automatic;
  }

  /**
   * Brings an existing Fernet key (URL-safe base64 of 32 bytes, as Python's `Fernet.generate_key()` makes)
   * into the keyring, as decrypt-only or, with `primary: true`, as the new Fernet primary. Importing a key
   * that is already present returns its id.
   *
   * @returns the key's id.
   * @throws {KeyError} `ERR_INVALID_INPUT` if `key` is not a Fernet key.
   * @example
   * ```ts
   * const id = await keys.importFernetKey(process.env.LEGACY_FERNET_KEY!, { primary: true });
   * ```
   */
  async importFernetKey(key: string, options: { primary?: boolean } = {}): Promise<number> {
    this.#checkUsable('fernet');
    // Decoded straight into memory of our own (never the shared Buffer pool) and wiped once sealed.
    const material = typeof key === 'string' ? decodeSecretBase64Url(key, KEY_MATERIAL_LENGTH) : undefined;
    if (!material) {
      throw new KeyError('ERR_INVALID_INPUT', 'Fernet key must be URL-safe base64 of 32 bytes');
    }
    try {
      return await this.#importFernetMaterial(material, options);
    } finally {
      material.fill(0);
    }
  }

  async #importFernetMaterial(material: Uint8Array, options: { primary?: boolean }): Promise<number> {
    const imported = await this.#mutate(
      (d) => {
        for (const k of d.keys) {
          if (k.algorithm !== 'fernet' || k.state === 'retired') continue;
          const existing = this.#materialOf(d, k);
          if (existing && constantTimeEqual(existing, material)) {
            if (!options.primary || k.state === 'primary') return { id: k.id, write: false };
            this.#promoteInDraft(d, k.id, 'manual');
            return { id: k.id, write: true };
          }
        }
        const k = this.#addKey(d, 'fernet', options.primary ? 'staged' : 'decrypt-only', material, true);
        if (options.primary) this.#promoteInDraft(d, k.id, 'manual');
        return { id: k.id, write: true };
      },
      (r) => !r.write,
    );
    return imported!.id;
  }

  /**
   * Re-seals every key under a new KEK (e.g. after a passphrase change) in one write. Other processes must
   * switch to the new KEK; with the old one they get `ERR_DECRYPTION_FAILED`.
   *
   * @example
   * ```ts
   * await keys.rekey({ env: 'MESH_KEK_NEXT' });
   * ```
   */
  async rekey(newKek: KekSource): Promise<void> {
    this.#checkUsable(undefined);
    const keys = await resolveKek(newKek, undefined, this.#maxKekIterationsOption());
    await this.#mutate((d) => {
      for (const k of d.keys) {
        if (k.state === 'retired') continue;
        const material = this.#materialOf(d, k)!;
        k.sealed = sealMaterial(keys, this.name, k, material);
      }
      d.kek = keys;
      return undefined;
    });
    this.#kekSource = newKek;
  }

  /**
   * Re-reads the keyring from the store (concurrent calls share one read; at most one read per
   * `missReloadIntervalMs`: inside the interval it returns at once with the keyring as it is). For callers that meet a
   * ciphertext without a key id (Fernet) and want to see rotations made elsewhere before giving up.
   *
   * @example
   * ```ts
   * await keys.refresh();
   * const candidates = keys.decryptionKeys('fernet');
   * ```
   */
  async refresh(): Promise<void> {
    this.#checkUsable(undefined);
    await this.#refreshOnMiss();
  }

  /**
   * Applies the retention policy now (with `automaticRotation` it also runs on its own when a key's
   * retention ends; without, a fleet leader calls this, fenced by `condition`). Writes nothing when nothing
   * is due.
   */
  async maintain(options: WriteOptions = {}): Promise<void> {
    this.#checkUsable(undefined);
    await this.#mutate(() => NOOP, undefined, { condition: options.condition, policy: true });
  }

  /** Metadata of every key, primaries first. Never includes material. */
  keys(): KeyInfo[] {
    const snap = this.#snapshot;
    if (!snap) return [];
    const order = { primary: 0, staged: 1, 'decrypt-only': 2, retired: 3 } as const;
    return [...snap.records.values()]
      .map(({ stored: k }) => {
        const info: KeyInfo = {
          id: k.id,
          algorithm: k.algorithm,
          state: k.state,
          createdAt: k.createdAt,
          createdInVersion: k.createdInVersion,
          encryptions: this.#uses.get(k.id) ?? 0,
          reservedEncryptions: k.reserved,
          ...(k.promotedAt !== undefined && { promotedAt: k.promotedAt }),
          ...(k.demotedAt !== undefined && { demotedAt: k.demotedAt }),
          ...(k.retiredAt !== undefined && { retiredAt: k.retiredAt }),
          ...(k.imported && { imported: true }),
        };
        return info;
      })
      .sort((a, b) => order[a.state] - order[b.state] || b.createdAt - a.createdAt);
  }

  /** Counters a metrics layer can export (refused rollbacks, rate-limited re-reads). A copy. */
  stats(): KeyManagerStats {
    return { ...this.#stats };
  }

  /** Name, version and key metadata only: never material. */
  toJSON(): { name: string; version: number; keys: Array<Pick<KeyInfo, 'id' | 'algorithm' | 'state'>> } {
    return {
      name: this.name,
      version: this.version,
      keys: this.keys().map(({ id, algorithm, state }) => ({ id, algorithm, state })),
    };
  }

  [inspectSymbol](): string {
    const keys = this.keys().map((k) => `${k.id} ${k.algorithm} ${k.state}`);
    return `KeyManager { name: '${this.name}', version: ${this.version}, keys: [${keys.join(', ')}] }`;
  }

  /**
   * Subscribes to `staged`, `promoted`, `rotated` (a new primary, with what triggered it), `retired`
   * (material dropped), `applied` (the snapshot moved to a new version), `rotation-due` (automatic rotation
   * off), `rotation-failed`, `rollback-refused` or `lease-fallback` (encrypting on a previous primary's
   * lease while the store is unavailable). A listener that throws is ignored: events never fail key
   * operations.
   */
  on(event: 'rollback-refused', listener: (e: RollbackRefusedEvent) => void): this;
  on(event: 'staged', listener: (e: StagedEvent) => void): this;
  on(event: 'promoted', listener: (e: PromotedEvent) => void): this;
  on(event: 'applied', listener: (e: AppliedEvent) => void): this;
  on(event: 'rotation-due', listener: (e: RotationDueEvent) => void): this;
  on(event: 'rotated', listener: (e: RotatedEvent) => void): this;
  on(event: 'retired', listener: (e: RetiredEvent) => void): this;
  on(event: 'rotation-failed', listener: (e: RotationFailedEvent) => void): this;
  on(event: 'lease-fallback', listener: (e: LeaseFallbackEvent) => void): this;
  on<E extends keyof Events>(event: E, listener: (e: Events[E]) => void): this {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as (e: never) => void);
    return this;
  }

  /** Removes a listener added with {@link KeyManager.on}. */
  off<E extends keyof Events>(event: E, listener: (e: Events[E]) => void): this {
    this.#listeners.get(event)?.delete(listener as (e: never) => void);
    return this;
  }

  /**
   * Stops watching the store and waits for pending writes. Key material is wiped and freed 250 ms later
   * (operations already running finish first); the manager cannot be used afterwards. Does not close the
   * store (it may be shared).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch?.();
    this.#unwatch = undefined;
    await this.#queue.catch(() => {});
    // Wipe and free every key's material (an operation already running finishes first: see releaseLater).
    releaseLater(
      [...(this.#snapshot?.records.values() ?? [])].flatMap((r) => (r.active ? [r.active.material] : [])),
    );
  }

  // ---------------------------------------------------------------------------------------------------
  // Internals

  async #init(watch: boolean): Promise<void> {
    const doc = await this.#loadFromStore();
    this.#kek = await this.#verifiedKek(doc);
    if (doc) this.#adopt(doc);
    // Creates the keyring if absent (one CAS: one creation fleet-wide). Missing primaries and retention of an
    // existing keyring are left to whoever rotates when automatic rotation is off.
    if (doc && !this.#automatic) return this.#startWatch(watch);
    await this.#mutate((d) => {
      let changed = false;
      for (const a of this.#algorithms) {
        if (!d.keys.some((k) => k.algorithm === a && k.state === 'primary')) {
          this.#addPrimary(d, a, 'initial');
          changed = true;
        }
      }
      return changed ? undefined : NOOP;
    });
    this.#startWatch(watch);
  }

  #startWatch(watch: boolean): void {
    if (watch && typeof this.#store.watch === 'function') {
      // A watch event bypasses the re-read rate limit: it comes from the store, not from a request.
      this.#unwatch = this.#store.watch(this.name, () => {
        if (!this.#closed) void this.#enqueue(() => this.#reloadUnlocked()).catch(() => {});
      });
    }
  }

  /** Emits `rotation-due` at most once per second per algorithm, trigger and key. */
  #emitDue(
    algorithm: KeyAlgorithm,
    trigger: RotationDueEvent['trigger'],
    keyId: number | undefined,
    now: number,
  ) {
    const key = `${algorithm}:${trigger}:${keyId ?? ''}`;
    const last = this.#dueEmitted.get(key);
    if (last !== undefined && now - last < AUTO_ROTATION_RETRY_MS) return;
    if (this.#dueEmitted.size > 64) this.#dueEmitted.clear();
    this.#dueEmitted.set(key, now);
    this.#emit('rotation-due', { algorithm, trigger, ...(keyId !== undefined && { keyId }) });
  }

  /**
   * Automatic rotation is off and `algorithm` has no usable primary (`currentId` is used up, or none): emit
   * `rotation-due` and wait, up to `rotationWaitMs`, for the store to deliver another primary (through the
   * watch, or re-reads within the rate limit). Concurrent callers share one wait.
   */
  #awaitNewPrimary(
    algorithm: KeyAlgorithm,
    trigger: 'initial' | 'usage',
    currentId: number | undefined,
  ): Promise<void> {
    return this.#once(`await:${algorithm}:${currentId ?? 'none'}`, async () => {
      this.#emitDue(algorithm, trigger, currentId, this.#clock());
      const deadline = performance.now() + this.#rotationWaitMs;
      const replaced = () => {
        const p = this.#snapshot?.primaries.get(algorithm);
        return p !== undefined && p.stored.id !== currentId;
      };
      while (!replaced()) {
        const left = deadline - performance.now();
        if (left <= 0) {
          throw new KeyStoreError(
            'ERR_KEYSTORE_UNAVAILABLE',
            `no new ${algorithm} primary arrived within ${this.#rotationWaitMs} ms (automatic rotation is off; the rotating node has not promoted one)`,
          );
        }
        const applied = new Promise<void>((resolve) => this.#appliedWaiters.push(resolve));
        void this.#refreshOnMiss().catch(() => {});
        await Promise.race([applied, sleep(Math.min(left, Math.max(this.#missReloadIntervalMs, 10)))]);
      }
    });
  }

  /**
   * The hot path of {@link acquireEncryptionKey}: one use of the primary when no store operation is needed,
   * else `undefined` with nothing reserved. Synchronous between the lease check and the increment: atomic on
   * the event loop.
   */
  #useWithoutWaiting(algorithm: KeyAlgorithm, now: number, rotatedThisCall = false): ActiveKey | undefined {
    if (this.#automatic && now >= this.#nextMaintenanceAt) this.#scheduleMaintenance();
    const rec = this.#snapshot?.primaries.get(algorithm);
    if (!rec) return undefined;
    const id = rec.stored.id;
    if (this.#intervalDue(rec.stored, now)) {
      // Not ours to rotate: say so, and keep encrypting with the current key (within its usage limit).
      if (!this.#automatic) this.#emitDue(algorithm, 'interval', id, now);
      // Ours, and not in the back-off after a failed attempt: the caller rotates first, once per call (a
      // primary it just made is used even if an interval shorter than a store write has passed again).
      else if (!rotatedThisCall && now >= (this.#autoRetryAt.get(algorithm) ?? 0)) return undefined;
    }
    const lease = this.#leases.get(id);
    if (lease === undefined || lease.next >= lease.end) return undefined;
    lease.next++;
    this.#uses.set(id, (this.#uses.get(id) ?? 0) + 1);
    return rec.active!;
  }

  /** The key of `rec` if it may decrypt (as `algorithm`, when given); the typed refusal otherwise. */
  #decryptable(rec: KeyRecord, algorithm: KeyAlgorithm | undefined): ActiveKey {
    if (algorithm !== undefined && rec.stored.algorithm !== algorithm)
      throw this.#notFound(rec.stored.id, algorithm);
    if (!rec.active) throw new KeyError('ERR_KEY_STATE', `key ${rec.stored.id} is retired`);
    return rec.active;
  }

  #notFound(id: number, algorithm: KeyAlgorithm | undefined): KeyError {
    return new KeyError(
      'ERR_KEY_NOT_FOUND',
      `no key ${id}${algorithm ? ` for ${algorithm}` : ''} in keyring '${this.name}'`,
    );
  }

  #maxKekIterationsOption(): { maxIterations?: number } {
    return this.#maxKekIterations === undefined ? {} : { maxIterations: this.#maxKekIterations };
  }

  #checkUsable(algorithm: KeyAlgorithm | undefined): void {
    if (this.#closed) throw new KeyError('ERR_KEY_STATE', 'KeyManager is closed');
    if (algorithm !== undefined && !this.#algorithms.includes(algorithm)) {
      throw new KeyError(
        'ERR_CONFIG_INVALID',
        `algorithm ${String(algorithm)} is not enabled for this keyring`,
      );
    }
  }

  #intervalDue(k: StoredKey, now: number): boolean {
    return (
      this.#policy.intervalMs !== undefined && now - (k.promotedAt ?? k.createdAt) >= this.#policy.intervalMs
    );
  }

  /** Runs `fn` once at a time per `key`; concurrent callers share the in-flight run. */
  #once(key: string, fn: () => Promise<void>): Promise<void> {
    let p = this.#inflight.get(key);
    if (!p) {
      p = fn().finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, p);
    }
    return p;
  }

  /** Uses a key of `algorithm` may have: `maxEncryptionsPerKey`, or no practical limit (XChaCha, see isUsageLimited). */
  #usageLimit(algorithm: KeyAlgorithm): number {
    return isUsageLimited(algorithm) ? this.#policy.maxEncryptions : Number.MAX_SAFE_INTEGER;
  }

  #extendLease(algorithm: KeyAlgorithm, id: number): Promise<void> {
    return this.#once(`lease:${id}`, async () => {
      const grant = await this.#mutate((d) => {
        const k = d.keys.find((x) => x.id === id);
        const limit = this.#usageLimit(algorithm);
        if (k?.state !== 'primary' || k.algorithm !== algorithm || k.reserved >= limit) {
          return NOOP;
        }
        const start = k.reserved;
        k.reserved = Math.min(limit, start + this.#policy.leaseSize);
        return { start, end: k.reserved };
      });
      if (grant) this.#leases.set(id, { next: grant.start, end: grant.end });
    });
  }

  /**
   * Extends the lease of the primary `id`, or, when the store is unavailable (an unreachable or frozen etcd
   * right after a promotion reached this node), hands out one use of a lease this manager already holds on a
   * previous primary that is now decrypt-only: every node holds that key (a fleet promotes only after every
   * live node applied the new one, and retires the old one only after `retention`), and the use is counted
   * in the store already, so neither the reserved count nor `maxEncryptionsPerKey` can be exceeded. While
   * falling back, the primary's lease write is retried in the background at most once per LEASE_RETRY_MS;
   * once it succeeds encryptions return to the primary.
   *
   * @returns the fallback key (one use taken), or undefined when the primary's lease was extended (the
   *   caller loops and takes a use of it).
   * @throws the store's error when the write failed for another reason or no fallback lease is left.
   */
  async #leaseOrFallback(algorithm: KeyAlgorithm, id: number): Promise<ActiveKey | undefined> {
    const retryAt = this.#leaseRetryAt.get(id);
    if (retryAt !== undefined) {
      const fallback = this.#fallbackLease(algorithm, id);
      if (fallback) {
        if (performance.now() >= retryAt) this.#retryLeaseInBackground(algorithm, id);
        return this.#takeFallbackUse(fallback);
      }
      // No fallback left: try the store in the foreground and fail as without a fallback.
    }
    try {
      await this.#extendLease(algorithm, id);
      this.#leaseRetryAt.delete(id);
      return undefined;
    } catch (error) {
      if (!isStoreUnavailable(error)) throw error;
      const fallback = this.#fallbackLease(algorithm, id);
      if (!fallback) throw error;
      if (!this.#leaseRetryAt.has(id)) {
        this.#emit('lease-fallback', {
          algorithm,
          keyId: fallback.rec.stored.id,
          primaryKeyId: id,
          remaining: fallback.lease.end - fallback.lease.next,
          error,
        });
      }
      this.#leaseRetryAt.set(id, performance.now() + LEASE_RETRY_MS);
      return this.#takeFallbackUse(fallback);
    }
  }

  /** A later lease write for the primary `id`, which callers do not wait for (they use the fallback meanwhile). */
  #retryLeaseInBackground(algorithm: KeyAlgorithm, id: number): void {
    this.#leaseRetryAt.set(id, performance.now() + LEASE_RETRY_MS);
    this.#extendLease(algorithm, id).then(
      () => this.#leaseRetryAt.delete(id),
      () => {
        if (this.#leaseRetryAt.has(id)) this.#leaseRetryAt.set(id, performance.now() + LEASE_RETRY_MS);
      },
    );
  }

  /**
   * The lease with uses left on the most recently demoted decrypt-only key of `algorithm` (material present,
   * not below `minDecryptionVersion`), other than the primary `primaryId`.
   */
  #fallbackLease(algorithm: KeyAlgorithm, primaryId: number): { rec: KeyRecord; lease: Lease } | undefined {
    let best: { rec: KeyRecord; lease: Lease } | undefined;
    const min = this.#policy.minDecryptionVersion ?? 0;
    for (const [keyId, lease] of this.#leases) {
      if (keyId === primaryId || lease.next >= lease.end) continue;
      const rec = this.#snapshot?.records.get(keyId);
      const k = rec?.stored;
      if (!rec?.active || !k || k.state !== 'decrypt-only' || k.algorithm !== algorithm) continue;
      if (k.createdInVersion < min || lease.end > k.reserved || lease.end > this.#usageLimit(algorithm))
        continue;
      const demoted = k.demotedAt ?? k.createdAt;
      if (!best || demoted > (best.rec.stored.demotedAt ?? best.rec.stored.createdAt)) best = { rec, lease };
    }
    return best;
  }

  #takeFallbackUse({ rec, lease }: { rec: KeyRecord; lease: Lease }): ActiveKey {
    // Synchronous between the check (in #fallbackLease) and the increment: atomic on the event loop.
    lease.next++;
    this.#uses.set(rec.stored.id, (this.#uses.get(rec.stored.id) ?? 0) + 1);
    this.#stats.leaseFallbacks++;
    return rec.active!;
  }

  #rotateOnce(algorithm: KeyAlgorithm, trigger: RotationTrigger, expectedPrimary: number | undefined) {
    return this.#once(`rotate:${algorithm}:${expectedPrimary ?? 'none'}`, async () => {
      await this.#mutate((d) => {
        const current = d.keys.find((k) => k.algorithm === algorithm && k.state === 'primary');
        // Re-decide on the latest state: another caller or process may have rotated already.
        if (current?.id !== expectedPrimary) return NOOP;
        if (trigger === 'interval' && current && !this.#intervalDue(current, d.now)) return NOOP;
        this.#addPrimary(d, algorithm, trigger);
        return undefined;
      });
    });
  }

  #scheduleMaintenance(): void {
    this.#nextMaintenanceAt = Number.POSITIVE_INFINITY;
    void this.#once('maintain', async () => {
      try {
        await this.#mutate(() => NOOP);
        // A write recomputes the deadline in adopt(); without one (nothing was due yet), recompute here.
        const keys = this.#snapshot?.doc.keys ?? [];
        const next = nextRetentionDeadline(keys, this.#policy);
        if (this.#nextMaintenanceAt === Number.POSITIVE_INFINITY && next !== Number.POSITIVE_INFINITY) {
          this.#nextMaintenanceAt = Math.max(next, this.#clock() + AUTO_ROTATION_RETRY_MS);
        }
      } catch {
        this.#nextMaintenanceAt = this.#clock() + AUTO_ROTATION_RETRY_MS;
      }
    });
  }

  /**
   * A store re-read on behalf of input anyone can send (unknown key ids, Fernet tokens no key opens): shared
   * by every concurrent caller, and at most one per `missReloadIntervalMs`; callers that come sooner get
   * the keyring as it is.
   */
  #refreshOnMiss(): Promise<boolean> {
    if (!this.#missReload) {
      const wait = this.#lastMissReloadAt + this.#missReloadIntervalMs - performance.now();
      // Inside the interval a miss is answered at once, without a read: nobody waits (a flood of hostile ids
      // holds no requests), and a key just added elsewhere arrives through the watch or is found by the next
      // permitted re-read, at most one interval later.
      if (wait > 0) return Promise.resolve(false);
      this.#missReload = (async () => {
        this.#lastMissReloadAt = performance.now();
        this.#stats.missReloads++;
        await this.#enqueue(() => this.#reloadUnlocked());
      })().finally(() => {
        this.#missReload = undefined;
      });
    }
    return this.#missReload.then(
      () => true,
      (e: unknown) => {
        throw isMeshError(e)
          ? e
          : new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', 'key store read failed', { cause: e });
      },
    );
  }

  #rememberUnknown(id: number): void {
    if (this.#negative.size >= MAX_NEGATIVE_IDS) {
      const oldest = this.#negative.keys().next().value as number;
      this.#negative.delete(oldest);
    }
    this.#negative.set(id, performance.now() + this.#missReloadIntervalMs);
  }

  /**
   * The KEK for `doc`: the current one if the parameters match, else derived into a local from our own
   * source and the document's salt (never fewer iterations than configured), and in every case checked
   * against `kekCheck` and the MAC before anyone adopts it. A storage attacker who edits the unauthenticated
   * `kek` field therefore only gets the document refused.
   */
  async #verifiedKek(doc: StoredKeyring | undefined): Promise<KekKeys> {
    // kekCheck, the MAC and every sealed blob bind the name written inside the document, not the name we
    // asked the store for: another keyring's document under the same KEK would verify. Only a store written
    // behind our back (an etcd value copied to another key) can hand one over.
    if (doc && doc.name !== this.name) {
      throw new KeyStoreError(
        'ERR_KEYSTORE_CORRUPT',
        `the store holds keyring '${doc.name}' where keyring '${this.name}' belongs (${this.#store.location?.(this.name) ?? 'key store'})`,
      );
    }
    try {
      const kek =
        this.#kek && doc && kekMatches(this.#kek, doc.kek)
          ? this.#kek
          : await resolveKek(this.#kekSource, doc?.kek, this.#maxKekIterationsOption());
      if (doc) verifyDocument(kek, doc);
      return kek;
    } catch (e) {
      if (e instanceof DecryptionError && !(e instanceof KekCheckError)) {
        throw new KekCheckError(this.name, this.#store.location?.(this.name), { cause: e.cause });
      }
      throw e;
    }
  }

  /**
   * Refuses a verified document that is older than what this manager has seen, or that contradicts it (a
   * fork: the store went back and was written past our version by a process that never saw ours). Emits
   * `rollback-refused`; the snapshot stays.
   */
  #refuseRollback(doc: StoredKeyring): void {
    const prev = this.#snapshot;
    if (!prev) return;
    const detail = rollbackReason(prev.doc, this.#highWater, doc);
    if (!detail) return;
    const error = new KeyringRollbackError(this.name, doc.version, this.#highWater, detail);
    this.#stats.rollbacksRefused++;
    this.#emit('rollback-refused', {
      keyring: this.name,
      storedVersion: doc.version,
      highWaterVersion: this.#highWater,
      error,
    });
    throw error;
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #loadFromStore(): Promise<StoredKeyring | undefined> {
    try {
      return await this.#store.load(this.name);
    } catch (e) {
      if (isMeshError(e)) throw e;
      throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `cannot load keyring '${this.name}'`, { cause: e });
    }
  }

  /** Re-reads the store and installs what it holds. Must run inside the queue. */
  async #reloadUnlocked(): Promise<void> {
    const doc = await this.#loadFromStore();
    const prev = this.#snapshot;
    if (!doc) {
      if (prev)
        throw new KeyStoreError(
          'ERR_KEYSTORE_UNAVAILABLE',
          `keyring '${this.name}' disappeared from the store`,
        );
      return;
    }
    if (prev && doc.version === prev.doc.version && doc.mac === prev.doc.mac) return;
    // Derive and verify into locals; adopt the KEK and the document only once both check out.
    const kek = await this.#verifiedKek(doc);
    this.#refuseRollback(doc);
    const previousKek = this.#kek;
    this.#kek = kek;
    try {
      this.#adopt(doc);
    } catch (e) {
      this.#kek = previousKek;
      throw e;
    }
    // Tell listeners what changed elsewhere.
    const next = this.#snapshot!;
    for (const [algorithm, rec] of next.primaries) {
      const before = prev?.primaries.get(algorithm);
      if (before?.stored.id !== rec.stored.id) {
        this.#emit('rotated', {
          algorithm,
          trigger: 'remote',
          keyId: rec.stored.id,
          ...(before && { previousKeyId: before.stored.id }),
          version: next.doc.version,
        });
      }
    }
    for (const rec of next.records.values()) {
      const before = prev?.records.get(rec.stored.id);
      if (rec.stored.state === 'retired' && before && before.stored.state !== 'retired') {
        this.#emit('retired', { algorithm: rec.stored.algorithm, keyId: rec.stored.id });
      }
    }
    if (prev?.doc.version !== next.doc.version) this.#emit('applied', { version: next.doc.version });
  }

  /** Installs a document already verified under `this.#kek` (by `#verifiedKek` or because we sealed it). */
  #adopt(doc: StoredKeyring, fresh: ReadonlyMap<number, Uint8Array> = new Map()): void {
    const prev = this.#snapshot;
    const keys = doc.keys.map((k) => ({ ...k }));
    const records = new Map<number, KeyRecord>();
    const primaries = new Map<KeyAlgorithm, KeyRecord>();
    for (const k of keys) {
      let active: ActiveKey | undefined;
      // Every live key's material is opened, an empty blob included (it fails: the document is refused), so no
      // live key is ever adopted without material, whatever store handed the document over.
      if (k.state !== 'retired' && k.sealed !== undefined) {
        const before = prev?.records.get(k.id);
        let material = fresh.get(k.id);
        if (!material && before?.active && before.stored.sealed === k.sealed)
          material = before.active.material;
        if (!material) {
          try {
            material = openMaterial(this.#kek, doc.name, k, k.sealed);
          } catch (cause) {
            throw new KeyStoreError('ERR_KEYSTORE_CORRUPT', `sealed material of key ${k.id} does not open`, {
              cause,
            });
          }
        }
        if (before?.active && before.active.material === material) active = before.active;
        else if (before?.active && constantTimeEqual(before.active.material, material)) {
          // Same material sealed anew (rekey): keep the guarded copy callers already hold.
          wipe(material);
          active = before.active;
        } else {
          // The one long-lived copy goes to guarded memory (sodium_malloc: locked, guard pages) where
          // sodium-native is present; the temporary it came from (opened or generated) is wiped.
          const guarded = copyToSecureBytes(material);
          wipe(material);
          active = activeKey(k.id, k.algorithm, guarded);
        }
      }
      const rec: KeyRecord = { stored: k, active };
      records.set(k.id, rec);
      if (k.state === 'primary') primaries.set(k.algorithm, rec);
    }
    for (const id of [...this.#leases.keys()]) {
      // A demoted primary's lease is kept while the key still decrypts everywhere: it is the fallback when
      // the new primary's lease cannot be written (see #leaseOrFallback).
      const r = records.get(id);
      if (!r?.active || (r.stored.state !== 'primary' && r.stored.state !== 'decrypt-only')) {
        this.#leases.delete(id);
      }
    }
    for (const id of [...this.#leaseRetryAt.keys()]) {
      if (records.get(id)?.stored.state !== 'primary') this.#leaseRetryAt.delete(id);
    }
    for (const id of [...this.#uses.keys()]) if (!records.has(id)) this.#uses.delete(id);
    this.#highWater = Math.max(this.#highWater, doc.version);
    const dropped: Uint8Array[] = [];
    for (const r of prev?.records.values() ?? []) {
      const kept = records.get(r.stored.id)?.active;
      if (r.active && kept?.material !== r.active.material) dropped.push(r.active.material);
    }
    this.#snapshot = { doc: { ...doc, keys }, records, primaries, decryption: new Map() };
    releaseLater(dropped);
    if (prev?.doc.version !== doc.version) {
      this.#negative.clear();
      const waiters = this.#appliedWaiters;
      this.#appliedWaiters = [];
      for (const w of waiters) w();
    }
    this.#nextMaintenanceAt = nextRetentionDeadline(keys, this.#policy);
  }

  /**
   * Applies `fn` to a draft of the next keyring and compare-and-swaps it; on a version conflict re-reads and
   * re-applies. `fn` returns NOOP to write nothing (unless the retention policy changes something).
   */
  #mutate<T>(
    fn: (d: Draft) => T | Noop,
    skipWrite?: (result: T) => boolean,
    options: { condition?: WriteCondition | undefined; policy?: boolean } = {},
  ): Promise<T | undefined> {
    return this.#enqueue(async () => {
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
        const base = this.#snapshot;
        const draft: Draft = {
          now: this.#clock(),
          version: this.#highWater + 1,
          keys: (base?.doc.keys ?? []).map((k) => ({ ...k })),
          materials: new Map(),
          events: [],
          kek: this.#kek,
        };
        const result = fn(draft);
        // Retention rides on every write of a manager that rotates by itself; never on a follower's.
        const policyChanged = (options.policy ?? this.#automatic) && this.#applyPolicy(draft);
        const wantsWrite = result !== NOOP && !(skipWrite?.(result as T) ?? false);
        if (!wantsWrite && !policyChanged) return result === NOOP ? undefined : (result as T);
        if (draft.keys.length > MAX_KEYS_PER_KEYRING) {
          throw new KeyError(
            'ERR_KEY_STATE',
            `keyring '${this.name}' would exceed ${MAX_KEYS_PER_KEYRING} keys`,
          );
        }
        const doc = finishDocument(draft.kek, {
          format: KEYRING_FORMAT,
          name: this.name,
          version: draft.version,
          updatedAt: draft.now,
          kek: draft.kek.params,
          keys: draft.keys,
        });
        let swapped: boolean;
        try {
          swapped =
            options.condition === undefined
              ? await this.#store.compareAndSwap(this.name, base?.doc.version, doc)
              : await this.#store.compareAndSwap(this.name, base?.doc.version, doc, {
                  condition: options.condition,
                });
        } catch (e) {
          if (isMeshError(e)) throw e;
          throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `cannot write keyring '${this.name}'`, {
            cause: e,
          });
        }
        if (swapped) {
          const previousKek = this.#kek;
          this.#kek = draft.kek;
          try {
            this.#adopt(doc, draft.materials);
          } catch (e) {
            this.#kek = previousKek;
            throw e;
          }
          for (const [event, payload] of draft.events) this.#emit(event, payload as never);
          this.#emit('applied', { version: doc.version });
          return result === NOOP ? undefined : (result as T);
        }
        await this.#reloadUnlocked();
      }
      throw new KeyStoreError(
        'ERR_KEYSTORE_UNAVAILABLE',
        `keyring '${this.name}' changed concurrently too often`,
      );
    });
  }

  #materialOf(d: Draft, k: StoredKey): Uint8Array | undefined {
    return d.materials.get(k.id) ?? this.#snapshot?.records.get(k.id)?.active?.material;
  }

  /** Seals fresh (or given) material for a new key and adds it with {@link addKey}. */
  #addKey(
    d: Draft,
    algorithm: KeyAlgorithm,
    state: 'staged' | 'decrypt-only',
    material?: Uint8Array,
    imported = false,
  ): StoredKey {
    const ids = new Set(d.keys.map((k) => k.id));
    let id = randomUint32();
    while (ids.has(id)) id = randomUint32();
    const m = material ? owned(Uint8Array.from(material)) : randomBytes(KEY_MATERIAL_LENGTH);
    const sealed = sealMaterial(d.kek, this.name, { id, algorithm, createdInVersion: d.version }, m);
    d.keys = addKey(d.keys, { id, algorithm, sealed, ...(imported && { imported }) }, d, state);
    d.materials.set(id, m);
    return d.keys[d.keys.length - 1]!;
  }

  #stageInDraft(d: Draft, algorithm: KeyAlgorithm): StoredKey {
    const k = this.#addKey(d, algorithm, 'staged');
    d.events.push(['staged', { algorithm, keyId: k.id, version: d.version }]);
    return k;
  }

  /** Promotes `id` in the draft; returns the id of the primary it replaced. */
  #promoteInDraft(d: Draft, id: number, trigger: RotationTrigger): number | undefined {
    const r = promoteKey(d.keys, id, d);
    if (!r.changed) return undefined;
    d.keys = r.keys;
    const algorithm = d.keys.find((k) => k.id === id)!.algorithm;
    const previous = r.previousKeyId !== undefined ? { previousKeyId: r.previousKeyId } : {};
    d.events.push(['promoted', { algorithm, keyId: id, trigger, version: d.version, ...previous }]);
    d.events.push(['rotated', { algorithm, trigger, keyId: id, ...previous, version: d.version }]);
    return r.previousKeyId;
  }

  #addPrimary(d: Draft, algorithm: KeyAlgorithm, trigger: RotationTrigger): void {
    this.#promoteInDraft(d, this.#stageInDraft(d, algorithm).id, trigger);
  }

  /** Retention, maxRetainedKeys, minDecryptionVersion and destruction of old retired records. */
  #applyPolicy(d: Draft): boolean {
    let changed = false;
    for (const algorithm of primaryBelowMinVersion(d.keys, this.#policy, d.version)) {
      this.#addPrimary(d, algorithm, 'manual');
      changed = true;
    }
    const r = applyRetention(d.keys, this.#policy, d);
    if (r.retired.length > 0 || r.destroyed.length > 0) {
      d.keys = r.keys;
      for (const { key } of r.retired)
        d.events.push(['retired', { algorithm: key.algorithm, keyId: key.id }]);
      changed = true;
    }
    return changed;
  }

  #emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const l of [...set]) {
      try {
        (l as (e: Events[E]) => void)(payload);
      } catch {
        // A listener (metrics, logging) must never fail a key operation.
      }
    }
  }
}

/** The store could not be reached (or timed out): the one failure a fallback lease may bridge. */
function isStoreUnavailable(error: unknown): boolean {
  return error instanceof KeyStoreError && error.code === 'ERR_KEYSTORE_UNAVAILABLE';
}

/**
 * How long material that no keyring record holds any more stays readable before it is wiped, in ms: an
 * operation that fetched the key just before (callers hold an ActiveKey for one operation) finishes with it.
 */
export const RELEASED_MATERIAL_GRACE_MS = 250;

/**
 * Wipes and frees key material that no keyring record holds any more (retired, destroyed, replaced, or the
 * manager closed) after {@link RELEASED_MATERIAL_GRACE_MS}: `releaseSecureBytes` zeroes it with
 * `sodium_memzero`, unlocks it and frees the guarded pages (ordinary arrays are zero-filled). The timer is
 * unref'd: it never keeps a process alive.
 */
function releaseLater(materials: Uint8Array[]): void {
  if (materials.length === 0) return;
  setTimeout(() => {
    for (const m of materials) releaseSecureBytes(m);
  }, RELEASED_MATERIAL_GRACE_MS).unref();
}
