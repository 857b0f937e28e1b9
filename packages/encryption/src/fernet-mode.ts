/**
 * Fernet mode: standard Fernet tokens under the keyring's Fernet keys, so Python services interoperate
 * (docs/DESIGN.md §3 "Fernet (compatibility)").
 *
 * Encryption uses the keyring's Fernet primary. Fernet has no key id, so decryption is MultiFernet's: the
 * primary first, then staged and decrypt-only keys. A malformed token or an expired one is reported at
 * once (neither depends on the key); only an authentication failure moves on to the next key.
 *
 * @module
 */
import { DecryptionError, Fernet, isMeshError, wipe } from '@mesh/crypto-core';
import type { ActiveKey, KeyManager } from '@mesh/keys';

/** Options of a Fernet decryption. */
export interface FernetDecryptOptions {
  /** Maximum token age in seconds (Fernet TTL); default: the config's `fernet.ttl`, else none. */
  ttl?: number;
}

/**
 * Fernet over a key manager: caches one `Fernet` instance per key id (the key split happens once).
 * Internal: users reach it as `enc.fernet`.
 */
export class FernetKeyring {
  readonly #keys: KeyManager;
  readonly #clock: (() => number) | undefined;
  readonly #cache = new Map<number, { material: Uint8Array; fernet: Fernet }>();

  constructor(keys: KeyManager, clock?: () => number) {
    this.#keys = keys;
    this.#clock = clock;
  }

  /** A Fernet for `key`, cached by id (material compared by identity: a re-imported id gets a new one). */
  fernetFor(key: ActiveKey): Fernet {
    const hit = this.#cache.get(key.id);
    if (hit !== undefined && hit.material === key.material) return hit.fernet;
    const fernet = new Fernet(key.material, this.#clock === undefined ? undefined : { clock: this.#clock });
    if (this.#cache.size >= 64) this.#cache.clear(); // bounded: keyrings hold a handful of keys
    this.#cache.set(key.id, { material: key.material, fernet });
    return fernet;
  }

  /** Drop a retired key's instance. */
  forget(keyId: number): void {
    this.#cache.delete(keyId);
  }

  /** Encrypt under the Fernet primary; `now` (seconds) keeps a timestamp (rewrap). */
  async encrypt(data: Uint8Array, now?: number): Promise<string> {
    const key = await this.#keys.acquireEncryptionKey('fernet');
    return this.fernetFor(key).encrypt(data, now === undefined ? undefined : { now });
  }

  /**
   * MultiFernet decrypt. Returns the plaintext and the Fernet instance that opened it (for `rotate`).
   * When no key opens it, the store is re-read once (another node may have added the key), then
   * `ERR_DECRYPTION_FAILED`.
   */
  async open(token: string, ttl: number | undefined): Promise<{ plaintext: Uint8Array; fernet: Fernet }> {
    const first = this.#tryKeys(token, ttl, this.#keys.decryptionKeys('fernet'));
    if (first !== undefined) return first;
    const refreshed = await this.#refresh();
    if (refreshed !== undefined) {
      const second = this.#tryKeys(token, ttl, refreshed);
      if (second !== undefined) return second;
    }
    throw new DecryptionError();
  }

  /** MultiFernet.rotate: re-encrypt under the primary, keeping the original timestamp; no TTL check. */
  async rotate(token: string): Promise<string> {
    const { plaintext, fernet } = await this.open(token, undefined);
    try {
      const timestamp = fernet.extractTimestamp(token);
      return await this.encrypt(plaintext, timestamp);
    } finally {
      wipe(plaintext);
    }
  }

  #tryKeys(
    token: string,
    ttl: number | undefined,
    keys: readonly ActiveKey[],
  ): { plaintext: Uint8Array; fernet: Fernet } | undefined {
    const options = ttl === undefined ? undefined : { ttl };
    for (const key of keys) {
      const fernet = this.fernetFor(key);
      try {
        return { plaintext: fernet.decrypt(token, options), fernet };
      } catch (error) {
        // Only a MAC/padding failure depends on the key; malformed or expired is final.
        if (!(isMeshError(error) && error.code === 'ERR_DECRYPTION_FAILED')) throw error;
      }
    }
    return undefined;
  }

  /**
   * Re-read the keyring from the store (a node that has not yet seen a rotation made elsewhere, e.g. with
   * `watch: false` or a slow watch); returns the new key list, or undefined when nothing changed.
   * `KeyManager.refresh` deduplicates concurrent calls, so a burst of bad tokens costs one store read at a time.
   */
  async #refresh(): Promise<readonly ActiveKey[] | undefined> {
    const before = this.#keys.version;
    await this.#keys.refresh();
    return this.#keys.version === before ? undefined : this.#keys.decryptionKeys('fernet');
  }
}
