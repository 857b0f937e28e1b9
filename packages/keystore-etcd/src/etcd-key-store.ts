/**
 * `EtcdKeyStore`: the {@link KeyStore} of a fleet. Each sealed keyring document is one etcd key
 * (`<prefix>keyrings/<name>`); etcd holds only that JSON (sealed material, MAC), never raw key bytes.
 *
 * Compare-and-swap is one etcd txn on the key's mod revision: the store remembers, per keyring, the mod
 * revision at which it last saw each document version, so the txn compares the exact revision the caller's
 * `expectedVersion` was read at. A fenced write adds the compares of an {@link EtcdTxnCondition}.
 *
 * The watch pushes every change and survives etcd restarts (etcd3 resumes the stream from the next
 * revision) and compaction: a watch whose start revision was compacted is cancelled by etcd, and etcd3
 * reports that with an empty cancel reason; the store then re-reads (the caller reloads) and watches again
 * from the revision of that read.
 *
 * @module
 */
import {
  type CompareAndSwapOptions,
  type KeyStore,
  KeyStoreError,
  MAX_KEYRING_DOCUMENT_BYTES,
  parseStoredKeyring,
  type StoredKeyring,
  WriteConditionFailedError,
} from '@mesh/keys';
import type { Etcd3, ICompare, IKeyValue, Watcher } from 'etcd3';
import { isEtcdTxnCondition } from './condition.js';
import { bounded, createEtcdClient, type EtcdConnectionOptions, errorText } from './connection.js';
import { keyringKey, normalizePrefix } from './layout.js';

/** Options of {@link EtcdKeyStore}. */
export interface EtcdKeyStoreOptions extends EtcdConnectionOptions {
  /** Key prefix in etcd, default `'mesh/'` (a trailing `/` is added when missing). */
  prefix?: string;
  /**
   * An existing `etcd3` client to use instead of creating one from the connection options (it is not
   * closed by {@link EtcdKeyStore.close}). Its call deadlines are then the caller's business.
   */
  client?: Etcd3;
  /**
   * Largest keyring document, in bytes of its JSON, default {@link DEFAULT_ETCD_MAX_DOCUMENT_BYTES} (1 MiB).
   * A stored value that is larger is `ERR_KEYSTORE_CORRUPT` and never parsed; a write of a larger document is
   * refused with `ERR_KEY_STATE` before the txn is sent. Keep it below etcd's `--max-request-bytes`
   * (default 1.5 MiB): past that etcd refuses the txn, which would surface as `ERR_KEYSTORE_UNAVAILABLE`.
   */
  maxDocumentBytes?: number;
}

/**
 * Default bound on a keyring document in etcd (1 MiB): under etcd's default request limit (1.5 MiB), so a
 * keyring too large for etcd gets a typed `ERR_KEY_STATE` from us instead of a refused txn. A keyring of a
 * few hundred keys (years of daily rotation) is some 100 KB.
 *
 * @example
 * ```ts
 * import { DEFAULT_ETCD_MAX_DOCUMENT_BYTES, EtcdKeyStore } from '@mesh/keystore-etcd';
 * // etcd started with --max-request-bytes 10485760:
 * new EtcdKeyStore({ endpoints: 'http://127.0.0.1:2379', maxDocumentBytes: 8 * DEFAULT_ETCD_MAX_DOCUMENT_BYTES });
 * ```
 */
export const DEFAULT_ETCD_MAX_DOCUMENT_BYTES = 1024 * 1024;

/** Why a watch was set up again (event `watch-restarted`). */
export interface WatchRestartedEvent {
  readonly name: string;
  /** `cancelled`: etcd cancelled the watch (a compacted start revision; etcd3 gives an empty reason). */
  readonly reason: 'cancelled';
  /** etcd3's error text (`'Watcher canceled: '` for a compacted revision). */
  readonly detail: string;
  /** The revision the new watch starts from. */
  readonly fromRevision: string;
}

/** Events of {@link EtcdKeyStore}. */
export interface EtcdKeyStoreEvents {
  'watch-restarted': WatchRestartedEvent;
  /** The watch stream of `name` lost its connection (etcd3 reconnects by itself). */
  'watch-disconnected': { readonly name: string; readonly error: KeyStoreError };
  /** The watch stream of `name` is connected again; `onChange` was called to resync. */
  'watch-reconnected': { readonly name: string };
  /** etcd became unreachable (a call failed with `ERR_KEYSTORE_UNAVAILABLE`, or a watch lost its stream). */
  unavailable: { readonly error: KeyStoreError };
  /** etcd answered again after being unreachable. */
  available: Record<string, never>;
}

interface Seen {
  version: number;
  modRevision: string;
}

const RESTART_BACKOFF_MS = [100, 250, 500, 1_000, 2_000] as const;

/**
 * A {@link KeyStore} on etcd (v3 API, `etcd3` client).
 *
 * @example
 * ```ts
 * import { KeyManager } from '@mesh/keys';
 * import { EtcdKeyStore } from '@mesh/keystore-etcd';
 * const store = new EtcdKeyStore({ endpoints: 'http://127.0.0.1:2379', prefix: 'mesh/' });
 * const keys = await KeyManager.open({ store, kek: { env: 'MESH_KEK' } });
 * ```
 */
export class EtcdKeyStore implements KeyStore {
  /** Normalised key prefix (ends with `/`). */
  readonly prefix: string;
  /** Upper bound of every unary call, ms. */
  readonly callTimeoutMs: number;
  /** Largest keyring document read or written, bytes. */
  readonly maxDocumentBytes: number;
  readonly #client: Etcd3;
  readonly #ownsClient: boolean;
  readonly #seen = new Map<string, Seen>();
  /** Header revision of the last read per keyring: a watch set up afterwards starts just after it. */
  readonly #readRevision = new Map<string, string>();
  readonly #watches = new Set<KeyringWatch>();
  /** The value a watch event just delivered, handed to the next `load` instead of a second round trip. */
  readonly #pushed = new Map<string, { kv: IKeyValue; revision: string }>();
  readonly #listeners = new Map<keyof EtcdKeyStoreEvents, Set<(e: never) => void>>();
  #closed = false;
  #available = true;

  constructor(options: EtcdKeyStoreOptions = {}) {
    this.prefix = normalizePrefix(options.prefix);
    const maxDocumentBytes = options.maxDocumentBytes ?? DEFAULT_ETCD_MAX_DOCUMENT_BYTES;
    if (
      !Number.isSafeInteger(maxDocumentBytes) ||
      maxDocumentBytes < 1 ||
      maxDocumentBytes > MAX_KEYRING_DOCUMENT_BYTES
    ) {
      throw new KeyStoreError(
        'ERR_CONFIG_INVALID',
        `maxDocumentBytes must be an integer from 1 to ${MAX_KEYRING_DOCUMENT_BYTES}`,
      );
    }
    this.maxDocumentBytes = maxDocumentBytes;
    if (options.client) {
      this.#client = options.client;
      this.#ownsClient = false;
      this.callTimeoutMs = options.callTimeoutMs ?? 5_000;
    } else {
      const { client, callTimeoutMs } = createEtcdClient(options);
      this.#client = client;
      this.#ownsClient = true;
      this.callTimeoutMs = callTimeoutMs;
    }
  }

  /** The `etcd3` client (shared with the fleet building blocks of this node). */
  get client(): Etcd3 {
    return this.#client;
  }

  /** False from a failed call (or a lost watch stream) until the next call succeeds. */
  get available(): boolean {
    return this.#available;
  }

  /**
   * @internal Runs one bounded call and records whether etcd answered (`available`).
   */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      const result = await bounded(this.callTimeoutMs, what, fn);
      this.markAvailable();
      return result;
    } catch (e) {
      if (e instanceof KeyStoreError && e.code === 'ERR_KEYSTORE_UNAVAILABLE') this.markUnavailable(e);
      throw e;
    }
  }

  /** @internal */
  markAvailable(): void {
    if (this.#available) return;
    this.#available = true;
    this.emit('available', {});
  }

  /** @internal */
  markUnavailable(error: KeyStoreError): void {
    if (!this.#available || this.#closed) return;
    this.#available = false;
    this.emit('unavailable', { error });
  }

  /** Where keyring `name` lives, for messages (e.g. a wrong KEK): `etcd key <prefix>keyrings/<name>`. */
  location(name: string): string {
    return `etcd key ${this.keyOf(name)}`;
  }

  /** The etcd key of keyring `name`. */
  keyOf(name: string): string {
    return keyringKey(this.prefix, name);
  }

  /**
   * The stored document, or `undefined` when no keyring `name` exists.
   *
   * @throws {KeyStoreError} `ERR_KEYSTORE_UNAVAILABLE` (etcd unreachable or slower than `callTimeoutMs`),
   *   `ERR_KEYSTORE_CORRUPT` (not a keyring document, or larger than `maxDocumentBytes`).
   */
  async load(name: string): Promise<StoredKeyring | undefined> {
    this.#checkOpen();
    const key = this.keyOf(name);
    const pushed = this.#pushed.get(name);
    this.#pushed.delete(name);
    const seen = this.#seen.get(name);
    // The watch just delivered a newer value: that is the state as of its revision, and any later change
    // arrives as another event, so the reload it triggers needs no second round trip.
    if (pushed && (!seen || BigInt(pushed.kv.mod_revision) > BigInt(seen.modRevision))) {
      this.#noteRead(name, pushed.revision);
      const doc = parseValue(pushed.kv, key, this.maxDocumentBytes);
      this.#seen.set(name, { version: doc.version, modRevision: pushed.kv.mod_revision });
      return doc;
    }
    const res = await this.call(`read of ${key}`, () => this.#client.kv.range({ key: Buffer.from(key) }));
    this.#noteRead(name, res.header.revision);
    const kv = res.kvs[0];
    if (!kv) return undefined;
    const doc = parseValue(kv, key, this.maxDocumentBytes);
    this.#seen.set(name, { version: doc.version, modRevision: kv.mod_revision });
    return doc;
  }

  /**
   * Writes `next` if the stored version is `expectedVersion` (`undefined`: only if absent), in one etcd txn
   * comparing the key's mod revision, plus the compares of `options.condition` when given.
   *
   * @returns false, writing nothing, when the stored version differs.
   * @throws {WriteConditionFailedError} (`@mesh/keys`) when the version matched but the condition did not
   *   (nothing written).
   * @throws {KeyStoreError} `ERR_KEYSTORE_UNAVAILABLE`, `ERR_CONFIG_INVALID` (unknown condition kind, name
   *   mismatch), `ERR_KEYSTORE_CORRUPT` (`next` is not a valid document), `ERR_KEY_STATE` (its JSON is larger
   *   than `maxDocumentBytes`; nothing sent).
   */
  async compareAndSwap(
    name: string,
    expectedVersion: number | undefined,
    next: StoredKeyring,
    options?: CompareAndSwapOptions,
  ): Promise<boolean> {
    this.#checkOpen();
    const doc = parseStoredKeyring(next);
    if (doc.name !== name) throw new KeyStoreError('ERR_CONFIG_INVALID', 'document name differs from key');
    const condition = options?.condition;
    if (condition !== undefined && !isEtcdTxnCondition(condition)) {
      throw new KeyStoreError(
        'ERR_CONFIG_INVALID',
        `EtcdKeyStore does not understand write conditions of kind '${String(condition.kind)}'`,
      );
    }
    const key = this.keyOf(name);
    const keyBuf = Buffer.from(key);
    const value = Buffer.from(JSON.stringify(doc));
    // Before any round trip: a document this store would refuse to read back is never written.
    if (value.length > this.maxDocumentBytes) {
      throw new KeyStoreError(
        'ERR_KEY_STATE',
        `keyring '${name}' would be a ${value.length}-byte value, over maxDocumentBytes (${this.maxDocumentBytes}) of ${key}`,
      );
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      let own: ICompare;
      let expectedMod: string | undefined;
      if (expectedVersion === undefined) {
        own = { key: keyBuf, target: 'Version', result: 'Equal', version: 0 };
      } else {
        let seen = this.#seen.get(name);
        if (seen?.version !== expectedVersion) {
          await this.load(name);
          seen = this.#seen.get(name);
          if (seen?.version !== expectedVersion) return false;
        }
        expectedMod = seen.modRevision;
        own = { key: keyBuf, target: 'Mod', result: 'Equal', mod_revision: expectedMod };
      }
      const res = await this.call(`compare-and-swap of ${key}`, () =>
        this.#client.kv.txn({
          compare: [own, ...(condition?.compares ?? [])],
          success: [{ request_put: { key: keyBuf, value } }],
          failure: [{ request_range: { key: keyBuf } }],
        }),
      );
      if (res.succeeded) {
        this.#seen.set(name, { version: doc.version, modRevision: res.header.revision });
        return true;
      }
      const current = res.responses[0]?.response_range?.kvs[0];
      const keyHeld =
        expectedVersion === undefined ? current === undefined : current?.mod_revision === expectedMod;
      if (keyHeld && condition) {
        throw new WriteConditionFailedError(`write condition no longer holds: ${condition.description}`);
      }
      if (!current) {
        this.#seen.delete(name);
        return false;
      }
      const currentVersion = versionOf(current, this.maxDocumentBytes);
      if (currentVersion !== undefined) {
        this.#seen.set(name, { version: currentVersion, modRevision: current.mod_revision });
      }
      // Our remembered revision was stale but the version is the expected one: compare again, once.
      if (expectedVersion === undefined || currentVersion !== expectedVersion) return false;
    }
    return false;
  }

  /**
   * Calls `onChange` when keyring `name` changes (and after the watch was re-established, to resync).
   * `onError` hears about lost connections (the watch keeps retrying by itself). Returns unsubscribe.
   */
  watch(name: string, onChange: () => void, onError?: (error: KeyStoreError) => void): () => void {
    this.#checkOpen();
    const w = new KeyringWatch(this, name, onChange, onError);
    this.#watches.add(w);
    w.start(this.#readRevision.get(name));
    return () => {
      this.#watches.delete(w);
      w.stop();
    };
  }

  /** Subscribes to store events (watch restarts and reconnections); returns unsubscribe. */
  on<E extends keyof EtcdKeyStoreEvents>(event: E, listener: (e: EtcdKeyStoreEvents[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as (e: never) => void);
    return () => set.delete(listener as (e: never) => void);
  }

  /** Stops every watch and, if the store created its client, closes it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#watches) w.stop();
    this.#watches.clear();
    if (this.#ownsClient) this.#client.close();
  }

  /** @internal */
  emit<E extends keyof EtcdKeyStoreEvents>(event: E, payload: EtcdKeyStoreEvents[E]): void {
    for (const l of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (l as (e: EtcdKeyStoreEvents[E]) => void)(payload);
      } catch {
        // A listener must never break the watch.
      }
    }
  }

  /** @internal The current header revision (a read of the key, which also refreshes what we remember). */
  async currentRevision(name: string): Promise<string> {
    const key = this.keyOf(name);
    const res = await this.call(`read of ${key}`, () => this.#client.kv.range({ key: Buffer.from(key) }));
    this.#noteRead(name, res.header.revision);
    return res.header.revision;
  }

  /** @internal A value the watch of `name` delivered. */
  notePushed(name: string, kv: IKeyValue): void {
    this.#pushed.set(name, { kv, revision: kv.mod_revision });
  }

  /** @internal */
  get closed(): boolean {
    return this.#closed;
  }

  #noteRead(name: string, revision: string): void {
    const before = this.#readRevision.get(name);
    if (before === undefined || BigInt(revision) > BigInt(before)) this.#readRevision.set(name, revision);
  }

  #checkOpen(): void {
    if (this.#closed) throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', 'key store is closed');
  }
}

function parseValue(kv: IKeyValue, key: string, maxBytes: number): StoredKeyring {
  // Before decoding or parsing: a hostile or runaway value costs no JSON work.
  if (kv.value.length > maxBytes) {
    throw new KeyStoreError(
      'ERR_KEYSTORE_CORRUPT',
      `value of ${key} is ${kv.value.length} bytes, over maxDocumentBytes (${maxBytes})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(kv.value.toString('utf8'));
  } catch {
    throw new KeyStoreError('ERR_KEYSTORE_CORRUPT', `value of ${key} is not JSON`);
  }
  return parseStoredKeyring(json);
}

function versionOf(kv: IKeyValue, maxBytes: number): number | undefined {
  if (kv.value.length > maxBytes) return undefined; // the next load reports it as corrupt
  try {
    const v = (JSON.parse(kv.value.toString('utf8')) as { version?: unknown }).version;
    return typeof v === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** One watch of one keyring: re-created from a fresh read whenever etcd cancels it. */
class KeyringWatch {
  #watcher: Watcher | undefined;
  #stopped = false;
  #disconnected = false;
  #restarts = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: EtcdKeyStore,
    private readonly name: string,
    private readonly onChange: () => void,
    private readonly onError: ((error: KeyStoreError) => void) | undefined,
  ) {}

  start(afterRevision: string | undefined): void {
    if (afterRevision === undefined) {
      // Nothing read yet: take the current revision and tell the caller to read.
      void this.restart('initial');
      return;
    }
    this.#open((BigInt(afterRevision) + 1n).toString());
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const w = this.#watcher;
    this.#watcher = undefined;
    if (w) void w.cancel().catch(() => {});
  }

  #open(fromRevision: string): void {
    if (this.#stopped || this.store.closed) return;
    const w = this.store.client
      .watch()
      .key(this.store.keyOf(this.name))
      .startRevision(fromRevision)
      .watcher();
    this.#watcher = w;
    w.on('put', (kv) => {
      this.store.notePushed(this.name, kv);
      this.#changed();
    });
    w.on('delete', () => this.#changed());
    w.on('connected', () => {
      this.#restarts = 0;
      if (this.#disconnected) {
        this.#disconnected = false;
        this.store.emit('watch-reconnected', { name: this.name });
        this.store.markAvailable();
        // The stream resumed from the next revision, so nothing was missed; reloading anyway lets the caller
        // resync anything it could not do while etcd was away (acks, refreshes).
        this.#changed();
      }
    });
    w.on('disconnected', (e) => {
      this.#disconnected = true;
      const error = new KeyStoreError(
        'ERR_KEYSTORE_UNAVAILABLE',
        `watch of ${this.name} lost: ${errorText(e)}`,
        {
          cause: e,
        },
      );
      this.store.emit('watch-disconnected', { name: this.name, error });
      this.store.markUnavailable(error);
      this.onError?.(error);
    });
    // etcd cancelled the watch. For a compacted start revision etcd3 says only "Watcher canceled: " (the
    // reason is empty): re-read and watch again from the revision of that read.
    w.on('error', (e) => {
      if (this.#watcher !== w) return;
      this.#watcher = undefined;
      void w.cancel().catch(() => {});
      void this.restart('cancelled', errorText(e));
    });
  }

  async restart(reason: 'initial' | 'cancelled', detail = ''): Promise<void> {
    while (!this.#stopped && !this.store.closed) {
      try {
        const revision = await this.store.currentRevision(this.name);
        if (this.#stopped) return;
        const from = (BigInt(revision) + 1n).toString();
        if (reason === 'cancelled') {
          this.store.emit('watch-restarted', { name: this.name, reason, detail, fromRevision: from });
        }
        this.#open(from);
        this.#changed();
        return;
      } catch (e) {
        this.onError?.(
          e instanceof KeyStoreError
            ? e
            : new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `watch of ${this.name}: ${errorText(e)}`),
        );
        const delay = RESTART_BACKOFF_MS[Math.min(this.#restarts++, RESTART_BACKOFF_MS.length - 1)]!;
        await new Promise<void>((r) => {
          this.#timer = setTimeout(r, delay);
        });
      }
    }
  }

  #changed(): void {
    if (this.#stopped) return;
    try {
      this.onChange();
    } catch {
      // The caller's reload failing must not end the watch.
    }
  }
}
