/**
 * In-memory {@link KeyStore}: for tests, single-process tools and as the reference behaviour of the
 * compare-and-swap contract. Documents are kept as JSON text, so callers never share mutable objects with it.
 *
 * @module
 */
import { KeyStoreError } from './errors.js';
import { canonicalJson, documentToStore, parseStoredKeyring } from './keyring.js';
import { refuseCondition } from './store-conditions.js';
import type { CompareAndSwapOptions, KeyStore, StoredKeyring } from './types.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * A {@link KeyStore} in process memory. Change notifications are delivered asynchronously (microtask).
 *
 * @example
 * ```ts
 * import { KeyManager, MemoryKeyStore } from '@mesh/keys';
 * const keys = await KeyManager.open({ store: new MemoryKeyStore(), kek: { key: crypto.getRandomValues(new Uint8Array(32)) } });
 * const key = await keys.acquireEncryptionKey();
 * ```
 */
export class MemoryKeyStore implements KeyStore {
  readonly #docs = new Map<string, string>();
  readonly #listeners = new Map<string, Set<() => void>>();
  #closed = false;

  async load(name: string): Promise<StoredKeyring | undefined> {
    this.#checkOpen();
    const text = this.#docs.get(name);
    return text === undefined ? undefined : parseStoredKeyring(JSON.parse(text));
  }

  async compareAndSwap(
    name: string,
    expectedVersion: number | undefined,
    next: StoredKeyring,
    options?: CompareAndSwapOptions,
  ): Promise<boolean> {
    this.#checkOpen();
    refuseCondition('MemoryKeyStore', options);
    const doc = documentToStore(name, next);
    const current = this.#docs.get(name);
    const currentVersion = current === undefined ? undefined : (JSON.parse(current) as StoredKeyring).version;
    if (currentVersion !== expectedVersion) return false;
    this.#docs.set(name, canonicalJson(doc));
    const ls = this.#listeners.get(name);
    if (ls) for (const l of [...ls]) queueMicrotask(l);
    return true;
  }

  watch(name: string, onChange: () => void): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(onChange);
    return () => {
      set.delete(onChange);
    };
  }

  /** Where keyring `name` lives, for operator messages. */
  location(name: string): string {
    return `memory:${name}`;
  }

  /** Names of the keyrings held (documents are sealed; nothing secret either way). */
  toJSON(): { keyrings: string[] } {
    return { keyrings: [...this.#docs.keys()] };
  }

  [inspectSymbol](): string {
    return `MemoryKeyStore { keyrings: ${JSON.stringify([...this.#docs.keys()])} }`;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
  }

  #checkOpen(): void {
    if (this.#closed) throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', 'key store is closed');
  }
}
