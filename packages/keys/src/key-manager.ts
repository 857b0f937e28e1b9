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
import {
  base64UrlDecode,
  constantTimeEqual,
  isMeshError,
  randomBytes,
  randomUint32,
} from '@mesh/crypto-core';
import { KeyError, KeyStoreError } from './errors.js';
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
import {
  keysToRetire,
  type NormalizedPolicy,
  nextRetentionDeadline,
  normalizePolicy,
  primaryBelowMinVersion,
  retiredToDestroy,
} from './policy.js';
import {
  type ActiveKey,
  KEY_ALGORITHMS,
  type KekSource,
  type KeyAlgorithm,
  type KeyInfo,
  type KeyStore,
  type RotationPolicy,
  type RotationTrigger,
  type StoredKey,
  type StoredKeyring,
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

interface Events {
  rotated: RotatedEvent;
  retired: RetiredEvent;
  'rotation-failed': RotationFailedEvent;
}

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
  readonly events: Array<['rotated', RotatedEvent] | ['retired', RetiredEvent]>;
  kek: KekKeys;
}

const NOOP: unique symbol = Symbol('noop');
type Noop = typeof NOOP;
const MAX_CAS_ATTEMPTS = 32;
const MAX_IDLE_ROUNDS = 1_000;
const AUTO_ROTATION_RETRY_MS = 1_000;

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
  private readonly store: KeyStore;
  private kekSource: KekSource;
  private kek!: KekKeys;
  private readonly algorithms: readonly KeyAlgorithm[];
  private readonly policy: NormalizedPolicy;
  private readonly clock: () => number;
  private readonly maxKekIterations: number | undefined;
  private snapshot: Snapshot | undefined;
  /** Highest keyring version seen or written: the next write is above it, so versions only grow. */
  private highWater = 0;
  private readonly leases = new Map<number, Lease>();
  /** Uses handed out by this manager per key id (KeyInfo.encryptions). */
  private readonly uses = new Map<number, number>();
  private readonly inflight = new Map<string, Promise<void>>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Map<keyof Events, Set<(e: never) => void>>();
  private readonly autoRetryAt = new Map<KeyAlgorithm, number>();
  private nextMaintenanceAt = Number.POSITIVE_INFINITY;
  private repairPending = false;
  private unwatch: (() => void) | undefined;
  private closed = false;

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
      algorithms.some((a) => !KEY_ALGORITHMS.includes(a))
    ) {
      throw new KeyError(
        'ERR_CONFIG_INVALID',
        `algorithms must be a non-empty subset of ${KEY_ALGORITHMS.join(', ')}`,
      );
    }
    this.name = name;
    this.store = options.store;
    this.kekSource = options.kek;
    this.algorithms = [...new Set(algorithms)];
    this.policy = normalizePolicy(options.rotation);
    this.clock = options.clock ?? Date.now;
    this.maxKekIterations = options.maxKekIterations;
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
    await manager.init(options.watch ?? true);
    return manager;
  }

  /** Current keyring version (grows with every change). */
  get version(): number {
    return this.snapshot?.doc.version ?? 0;
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
    this.checkUsable(algorithm);
    // Every round that does not return waits on a store operation; bail out only if rounds stop making
    // progress (the keyring version stays put), never because a long queue of callers is being served.
    let lastVersion = -1;
    for (let idle = 0; idle < MAX_IDLE_ROUNDS; idle++) {
      if (this.version !== lastVersion) {
        lastVersion = this.version;
        idle = 0;
      }
      const now = this.clock();
      if (now >= this.nextMaintenanceAt) this.scheduleMaintenance();
      const rec = this.snapshot?.primaries.get(algorithm);
      if (!rec) {
        await this.rotateOnce(algorithm, 'initial', undefined);
        continue;
      }
      const id = rec.stored.id;
      if (this.intervalDue(rec.stored, now) && now >= (this.autoRetryAt.get(algorithm) ?? 0)) {
        try {
          await this.rotateOnce(algorithm, 'interval', id);
        } catch (error) {
          // Availability first: keep encrypting with the current key (within its usage limit) and retry later.
          this.autoRetryAt.set(algorithm, now + AUTO_ROTATION_RETRY_MS);
          this.emit('rotation-failed', { algorithm, trigger: 'interval', error });
        }
        continue;
      }
      const lease = this.leases.get(id);
      if (lease && lease.next < lease.end) {
        // Synchronous between the check and the increment: atomic on the event loop.
        lease.next++;
        this.uses.set(id, (this.uses.get(id) ?? 0) + 1);
        return rec.active!;
      }
      if (rec.stored.reserved < this.policy.maxEncryptions) await this.extendLease(algorithm, id);
      else await this.rotateOnce(algorithm, 'usage', id);
    }
    throw new KeyStoreError(
      'ERR_KEYSTORE_UNAVAILABLE',
      'could not reserve a key use (keyring too contended)',
    );
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
    this.checkUsable(algorithm);
    let rec = this.snapshot?.records.get(id);
    if (!rec) {
      await this.refreshOnMiss();
      rec = this.snapshot?.records.get(id);
    }
    if (!rec || (algorithm !== undefined && rec.stored.algorithm !== algorithm)) {
      throw new KeyError(
        'ERR_KEY_NOT_FOUND',
        `no key ${id}${algorithm ? ` for ${algorithm}` : ''} in keyring '${this.name}'`,
      );
    }
    if (!rec.active) throw new KeyError('ERR_KEY_STATE', `key ${id} is retired`);
    return rec.active;
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
    this.checkUsable(algorithm);
    const snap = this.snapshot;
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
   * the previous primary becomes decrypt-only. Each call is one keyring version.
   *
   * @throws {KeyStoreError} if the store write fails; the keyring in use is then unchanged.
   * @example
   * ```ts
   * await keys.rotate({ algorithm: 'aes-256-gcm' });
   * ```
   */
  async rotate(options: { algorithm?: KeyAlgorithm; trigger?: RotationTrigger } = {}): Promise<void> {
    this.checkUsable(options.algorithm);
    const algorithms = options.algorithm ? [options.algorithm] : this.algorithms;
    const trigger = options.trigger ?? 'manual';
    await this.mutate((d) => {
      for (const a of algorithms) this.addPrimary(d, a, trigger);
      return undefined;
    });
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
    this.checkUsable('fernet');
    let material: Uint8Array;
    try {
      material = base64UrlDecode(typeof key === 'string' ? key.trim() : '');
    } catch (cause) {
      throw new KeyError('ERR_INVALID_INPUT', 'Fernet key must be URL-safe base64 of 32 bytes', { cause });
    }
    if (material.length !== KEY_MATERIAL_LENGTH) {
      throw new KeyError('ERR_INVALID_INPUT', 'Fernet key must be URL-safe base64 of 32 bytes');
    }
    const imported = await this.mutate(
      (d) => {
        for (const k of d.keys) {
          if (k.algorithm !== 'fernet' || k.state === 'retired') continue;
          const existing = this.materialOf(d, k);
          if (existing && constantTimeEqual(existing, material)) {
            if (!options.primary || k.state === 'primary') return { id: k.id, write: false };
            this.promote(d, k, 'manual');
            return { id: k.id, write: true };
          }
        }
        const k = this.addKey(d, 'fernet', options.primary ? 'staged' : 'decrypt-only', material);
        k.imported = true;
        if (options.primary) this.promote(d, k, 'manual');
        else k.demotedAt = d.now;
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
    this.checkUsable(undefined);
    const keys = await resolveKek(newKek, undefined, this.maxKekIterationsOption());
    await this.mutate((d) => {
      for (const k of d.keys) {
        if (k.state === 'retired') continue;
        const material = this.materialOf(d, k)!;
        k.sealed = sealMaterial(keys, this.name, k, material);
      }
      d.kek = keys;
      return undefined;
    });
    this.kekSource = newKek;
  }

  /**
   * Re-reads the keyring from the store (concurrent calls share one read). For callers that meet a
   * ciphertext without a key id (Fernet) and want to see rotations made elsewhere before giving up.
   *
   * @example
   * ```ts
   * await keys.refresh();
   * const candidates = keys.decryptionKeys('fernet');
   * ```
   */
  async refresh(): Promise<void> {
    this.checkUsable(undefined);
    await this.refreshOnMiss();
  }

  /** Applies the retention policy now (it also runs on its own when a key's retention ends). */
  async maintain(): Promise<void> {
    this.checkUsable(undefined);
    await this.mutate(() => NOOP);
  }

  /** Metadata of every key, primaries first. Never includes material. */
  keys(): KeyInfo[] {
    const snap = this.snapshot;
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
          encryptions: this.uses.get(k.id) ?? 0,
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

  /**
   * Subscribes to `rotated` (a new primary, with what triggered it), `retired` (material dropped) or
   * `rotation-failed`. A listener that throws is ignored: events never fail key operations.
   */
  on(event: 'rotated', listener: (e: RotatedEvent) => void): this;
  on(event: 'retired', listener: (e: RetiredEvent) => void): this;
  on(event: 'rotation-failed', listener: (e: RotationFailedEvent) => void): this;
  on<E extends keyof Events>(event: E, listener: (e: Events[E]) => void): this {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as (e: never) => void);
    return this;
  }

  /** Removes a listener added with {@link KeyManager.on}. */
  off<E extends keyof Events>(event: E, listener: (e: Events[E]) => void): this {
    this.listeners.get(event)?.delete(listener as (e: never) => void);
    return this;
  }

  /**
   * Stops watching the store and waits for pending writes. Keys already handed out stay valid; the manager
   * cannot be used afterwards. Does not close the store (it may be shared).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unwatch?.();
    this.unwatch = undefined;
    await this.queue.catch(() => {});
  }

  // ---------------------------------------------------------------------------------------------------
  // Internals

  private async init(watch: boolean): Promise<void> {
    const doc = await this.loadFromStore();
    this.kek = await resolveKek(this.kekSource, doc?.kek, this.maxKekIterationsOption());
    if (doc) this.adopt(doc);
    // Creates missing primaries and applies retention; writes nothing if nothing changes.
    await this.mutate((d) => {
      let changed = false;
      for (const a of this.algorithms) {
        if (!d.keys.some((k) => k.algorithm === a && k.state === 'primary')) {
          this.addPrimary(d, a, 'initial');
          changed = true;
        }
      }
      return changed ? undefined : NOOP;
    });
    if (watch && typeof this.store.watch === 'function') {
      this.unwatch = this.store.watch(this.name, () => {
        if (!this.closed) void this.enqueue(() => this.reloadUnlocked()).catch(() => {});
      });
    }
  }

  private maxKekIterationsOption(): { maxIterations?: number } {
    return this.maxKekIterations === undefined ? {} : { maxIterations: this.maxKekIterations };
  }

  private checkUsable(algorithm: KeyAlgorithm | undefined): void {
    if (this.closed) throw new KeyError('ERR_KEY_STATE', 'KeyManager is closed');
    if (algorithm !== undefined && !this.algorithms.includes(algorithm)) {
      throw new KeyError(
        'ERR_CONFIG_INVALID',
        `algorithm ${String(algorithm)} is not enabled for this keyring`,
      );
    }
  }

  private intervalDue(k: StoredKey, now: number): boolean {
    return (
      this.policy.intervalMs !== undefined && now - (k.promotedAt ?? k.createdAt) >= this.policy.intervalMs
    );
  }

  /** Runs `fn` once at a time per `key`; concurrent callers share the in-flight run. */
  private once(key: string, fn: () => Promise<void>): Promise<void> {
    let p = this.inflight.get(key);
    if (!p) {
      p = fn().finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private extendLease(algorithm: KeyAlgorithm, id: number): Promise<void> {
    return this.once(`lease:${id}`, async () => {
      const grant = await this.mutate((d) => {
        const k = d.keys.find((x) => x.id === id);
        if (k?.state !== 'primary' || k.algorithm !== algorithm || k.reserved >= this.policy.maxEncryptions) {
          return NOOP;
        }
        const start = k.reserved;
        k.reserved = Math.min(this.policy.maxEncryptions, start + this.policy.leaseSize);
        return { start, end: k.reserved };
      });
      if (grant) this.leases.set(id, { next: grant.start, end: grant.end });
    });
  }

  private rotateOnce(algorithm: KeyAlgorithm, trigger: RotationTrigger, expectedPrimary: number | undefined) {
    return this.once(`rotate:${algorithm}:${expectedPrimary ?? 'none'}`, async () => {
      await this.mutate((d) => {
        const current = d.keys.find((k) => k.algorithm === algorithm && k.state === 'primary');
        // Re-decide on the latest state: another caller or process may have rotated already.
        if (current?.id !== expectedPrimary) return NOOP;
        if (trigger === 'interval' && current && !this.intervalDue(current, d.now)) return NOOP;
        this.addPrimary(d, algorithm, trigger);
        return undefined;
      });
    });
  }

  private scheduleMaintenance(): void {
    this.nextMaintenanceAt = Number.POSITIVE_INFINITY;
    void this.once('maintain', async () => {
      try {
        await this.mutate(() => NOOP);
        // A write recomputes the deadline in adopt(); without one (nothing was due yet), recompute here.
        const keys = this.snapshot?.doc.keys ?? [];
        const next = nextRetentionDeadline(keys, this.policy);
        if (this.nextMaintenanceAt === Number.POSITIVE_INFINITY && next !== Number.POSITIVE_INFINITY) {
          this.nextMaintenanceAt = Math.max(next, this.clock() + AUTO_ROTATION_RETRY_MS);
        }
      } catch {
        this.nextMaintenanceAt = this.clock() + AUTO_ROTATION_RETRY_MS;
      }
    });
  }

  private refreshOnMiss(): Promise<void> {
    // Deduplicated: a burst of unknown ids (possibly hostile) costs one store read at a time.
    return this.once('refresh', () => this.enqueue(() => this.reloadUnlocked())).catch((e) => {
      throw isMeshError(e)
        ? e
        : new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', 'key store read failed', { cause: e });
    });
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => {});
    return run;
  }

  private async loadFromStore(): Promise<StoredKeyring | undefined> {
    try {
      return await this.store.load(this.name);
    } catch (e) {
      if (isMeshError(e)) throw e;
      throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `cannot load keyring '${this.name}'`, { cause: e });
    }
  }

  /** Re-reads the store and installs what it holds. Must run inside the queue. */
  private async reloadUnlocked(): Promise<void> {
    const doc = await this.loadFromStore();
    const prev = this.snapshot;
    if (!doc) {
      if (prev)
        throw new KeyStoreError(
          'ERR_KEYSTORE_UNAVAILABLE',
          `keyring '${this.name}' disappeared from the store`,
        );
      return;
    }
    if (prev && doc.version === prev.doc.version && doc.mac === prev.doc.mac) return;
    if (!kekMatches(this.kek, doc.kek)) {
      this.kek = await resolveKek(this.kekSource, doc.kek, this.maxKekIterationsOption());
    }
    this.adopt(doc);
    // Tell listeners what changed elsewhere.
    const next = this.snapshot!;
    for (const [algorithm, rec] of next.primaries) {
      const before = prev?.primaries.get(algorithm);
      if (before?.stored.id !== rec.stored.id) {
        this.emit('rotated', {
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
        this.emit('retired', { algorithm: rec.stored.algorithm, keyId: rec.stored.id });
      }
    }
  }

  /**
   * Installs a verified-or-to-verify document as the snapshot. If the store went backwards (a damaged copy
   * replaced by its backup), keys only we still know are carried over, so nothing that may have encrypted
   * data is lost, and written back by the next change.
   */
  private adopt(doc: StoredKeyring, fresh: ReadonlyMap<number, Uint8Array> = new Map()): void {
    verifyDocument(this.kek, doc);
    const prev = this.snapshot;
    const keys = doc.keys.map((k) => ({ ...k }));
    // Not newer than a version we already saw, yet different: the store went back (a damaged copy replaced
    // by its backup), possibly followed by writes of processes that never saw the lost version.
    if (prev && doc.version <= this.highWater && doc.mac !== prev.doc.mac) {
      // Usage counters never go back either: a lease we hold must stay counted.
      for (const k of keys) {
        const before = prev.records.get(k.id)?.stored;
        if (before && before.reserved > k.reserved) k.reserved = before.reserved;
      }
      const present = new Set(keys.map((k) => k.id));
      for (const r of prev.records.values()) {
        if (present.has(r.stored.id) || !r.active) continue;
        const carried = { ...r.stored };
        if (
          carried.state === 'primary' &&
          keys.some((k) => k.algorithm === carried.algorithm && k.state === 'primary')
        ) {
          carried.state = 'decrypt-only';
          carried.demotedAt = this.clock();
        }
        if (!carried.sealed) continue;
        keys.push(carried);
      }
      this.repairPending = true;
    }
    const records = new Map<number, KeyRecord>();
    const primaries = new Map<KeyAlgorithm, KeyRecord>();
    for (const k of keys) {
      let active: ActiveKey | undefined;
      if (k.state !== 'retired' && k.sealed) {
        const before = prev?.records.get(k.id);
        let material = fresh.get(k.id);
        if (!material && before?.active && before.stored.sealed === k.sealed)
          material = before.active.material;
        if (!material) {
          try {
            material = openMaterial(this.kek, doc.name, k, k.sealed);
          } catch (cause) {
            throw new KeyStoreError('ERR_KEYSTORE_CORRUPT', `sealed material of key ${k.id} does not open`, {
              cause,
            });
          }
        }
        active =
          before?.active && before.active.material === material
            ? before.active
            : Object.freeze({ id: k.id, algorithm: k.algorithm, material });
      }
      const rec: KeyRecord = { stored: k, active };
      records.set(k.id, rec);
      if (k.state === 'primary') primaries.set(k.algorithm, rec);
    }
    for (const id of [...this.leases.keys()]) {
      if (records.get(id)?.stored.state !== 'primary') this.leases.delete(id);
    }
    for (const id of [...this.uses.keys()]) if (!records.has(id)) this.uses.delete(id);
    this.highWater = Math.max(this.highWater, doc.version);
    this.snapshot = { doc: { ...doc, keys }, records, primaries, decryption: new Map() };
    const retentionAt = nextRetentionDeadline(keys, this.policy);
    this.nextMaintenanceAt = this.repairPending ? this.clock() : retentionAt;
  }

  /**
   * Applies `fn` to a draft of the next keyring and compare-and-swaps it; on a version conflict re-reads and
   * re-applies. `fn` returns NOOP to write nothing (unless the retention policy changes something).
   */
  private mutate<T>(fn: (d: Draft) => T | Noop, skipWrite?: (result: T) => boolean): Promise<T | undefined> {
    return this.enqueue(async () => {
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
        const base = this.snapshot;
        const draft: Draft = {
          now: this.clock(),
          version: this.highWater + 1,
          keys: (base?.doc.keys ?? []).map((k) => ({ ...k })),
          materials: new Map(),
          events: [],
          kek: this.kek,
        };
        const result = fn(draft);
        const policyChanged = this.applyPolicy(draft);
        const wantsWrite = result !== NOOP && !(skipWrite?.(result as T) ?? false);
        if (!wantsWrite && !policyChanged && !this.repairPending)
          return result === NOOP ? undefined : (result as T);
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
          swapped = await this.store.compareAndSwap(this.name, base?.doc.version, doc);
        } catch (e) {
          if (isMeshError(e)) throw e;
          throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `cannot write keyring '${this.name}'`, {
            cause: e,
          });
        }
        if (swapped) {
          const previousKek = this.kek;
          this.kek = draft.kek;
          try {
            this.repairPending = false;
            this.adopt(doc, draft.materials);
          } catch (e) {
            this.kek = previousKek;
            throw e;
          }
          for (const [event, payload] of draft.events) this.emit(event, payload as never);
          return result === NOOP ? undefined : (result as T);
        }
        await this.reloadUnlocked();
      }
      throw new KeyStoreError(
        'ERR_KEYSTORE_UNAVAILABLE',
        `keyring '${this.name}' changed concurrently too often`,
      );
    });
  }

  private materialOf(d: Draft, k: StoredKey): Uint8Array | undefined {
    return d.materials.get(k.id) ?? this.snapshot?.records.get(k.id)?.active?.material;
  }

  private addKey(
    d: Draft,
    algorithm: KeyAlgorithm,
    state: StoredKey['state'],
    material?: Uint8Array,
  ): StoredKey {
    const ids = new Set(d.keys.map((k) => k.id));
    let id = randomUint32();
    while (ids.has(id)) id = randomUint32();
    const m = material ? Uint8Array.from(material) : randomBytes(KEY_MATERIAL_LENGTH);
    const k: StoredKey = { id, algorithm, state, createdAt: d.now, createdInVersion: d.version, reserved: 0 };
    k.sealed = sealMaterial(d.kek, this.name, k, m);
    d.keys.push(k);
    d.materials.set(id, m);
    return k;
  }

  private promote(d: Draft, k: StoredKey, trigger: RotationTrigger): void {
    const previous = d.keys.find((x) => x.algorithm === k.algorithm && x.state === 'primary' && x !== k);
    if (previous) {
      previous.state = 'decrypt-only';
      previous.demotedAt = d.now;
    }
    k.state = 'primary';
    k.promotedAt = d.now;
    d.events.push([
      'rotated',
      {
        algorithm: k.algorithm,
        trigger,
        keyId: k.id,
        ...(previous && { previousKeyId: previous.id }),
        version: d.version,
      },
    ]);
  }

  private addPrimary(d: Draft, algorithm: KeyAlgorithm, trigger: RotationTrigger): void {
    this.promote(d, this.addKey(d, algorithm, 'staged'), trigger);
  }

  /** Retention, maxRetainedKeys, minDecryptionVersion and destruction of old retired records. */
  private applyPolicy(d: Draft): boolean {
    let changed = false;
    for (const algorithm of primaryBelowMinVersion(d.keys, this.policy, d.version)) {
      this.addPrimary(d, algorithm, 'manual');
      changed = true;
    }
    for (const [id] of keysToRetire(d.keys, this.policy, d.now)) {
      const k = d.keys.find((x) => x.id === id)!;
      k.state = 'retired';
      k.retiredAt = d.now;
      delete k.sealed;
      d.events.push(['retired', { algorithm: k.algorithm, keyId: k.id }]);
      changed = true;
    }
    const destroy = retiredToDestroy(d.keys);
    if (destroy.size > 0) {
      d.keys = d.keys.filter((k) => !destroy.has(k.id));
      changed = true;
    }
    return changed;
  }

  private emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    const set = this.listeners.get(event);
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
