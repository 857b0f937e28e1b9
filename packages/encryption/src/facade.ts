/**
 * `createEncryption(config)`: the one object teams configure once and use everywhere (docs/DESIGN.md §8).
 *
 * It composes the layers: keys (`@mesh/keys`) for acquisition and rotation, compression
 * (`@mesh/compression`) by policy before encryption, metrics (`@mesh/metrics`) for every operation, and the
 * formats of this package (envelope v1, Fernet, RSA, streams).
 *
 * This file keeps the facade's configuration, lifecycle and key events; each mode lives in its own module
 * under `modes/` (`envelope.ts` for encrypt/decrypt, the hot path; `rsa.ts`, `fernet.ts`, `rewrap.ts`,
 * `stream.ts`), and the rules they share (the call plan with its context rule, compression, key derivation,
 * failure metrics) are written once in `modes/core.ts`. The class only delegates.
 *
 * @module
 */
import type { Transform } from 'node:stream';
import { base64UrlEncode, randomBytes } from '@mesh/crypto-core';
import { type KeyAlgorithm, KeyManager, MemoryKeyStore } from '@mesh/keys';
import { type MetricsCollector, NoopCollector, safeCollector } from '@mesh/metrics';
import type { PrivateKeyInput, PublicKeyInput } from './asymmetric.js';
import { type EncryptionConfig, type ResolvedConfig, resolveConfig } from './config.js';
import { invalidInput } from './errors.js';
import type { CiphertextInput, PlaintextInput } from './input.js';
import { type CiphertextInfo, inspect } from './inspect.js';
import { FacadeCore, toText } from './modes/core.js';
import { decryptEnvelope, encryptEnvelope } from './modes/envelope.js';
import { createFernetApi, type FernetApi } from './modes/fernet.js';
import { rewrapCiphertext } from './modes/rewrap.js';
import { decryptWithPrivateKey, encryptForPublicKey } from './modes/rsa.js';
import { StreamMode } from './modes/stream.js';
import type { DecryptOptions, EncryptOptions, RewrapOptions } from './options.js';
import { type RewrapItem, type RewrapResult, rewrapMany } from './rewrap.js';
import type { StreamOptions } from './stream/index.js';

export type { FernetApi } from './modes/fernet.js';
export type { DecryptOptions, EncryptOptions, RewrapOptions } from './options.js';

/**
 * The facade. Obtain one with {@link createEncryption}.
 *
 * @example
 * ```ts
 * const enc = await createEncryption({ service: 'orders' });
 * const sealed = await enc.encrypt('{"id":1}', { context: 'orders->payments' });
 * await enc.decryptToString(sealed, { context: 'orders->payments' }); // '{"id":1}'
 * await enc.close();
 * ```
 */
export interface Encryption {
  /** The key manager (rotate, import Fernet keys, list keys). */
  readonly keys: KeyManager;
  /** The validated configuration. */
  readonly config: ResolvedConfig;
  /** Fernet mode. Throws `ERR_UNSUPPORTED_ALGORITHM` when disabled by config. */
  readonly fernet: FernetApi;
  /** Seal into envelope v1 (AES-256-GCM, algorithm 0x01), compressing by policy. */
  encrypt(data: PlaintextInput, options?: EncryptOptions): Promise<Uint8Array>;
  /** `encrypt`, as base64url text without padding. */
  encryptToString(data: PlaintextInput, options?: EncryptOptions): Promise<string>;
  /** Open an envelope (bytes or text) or a Fernet token, recognised by its first byte. */
  decrypt(ciphertext: CiphertextInput, options?: DecryptOptions): Promise<Uint8Array>;
  /** `decrypt`, then UTF-8 (invalid UTF-8 is `ERR_INVALID_INPUT`). */
  decryptToString(ciphertext: CiphertextInput, options?: DecryptOptions): Promise<string>;
  /** Seal for an RSA public key: RSA-OAEP-SHA256 (0x04) when it fits, hybrid (0x02) otherwise. */
  encryptFor(publicKey: PublicKeyInput, data: PlaintextInput, options?: EncryptOptions): Promise<Uint8Array>;
  /** Open an 0x02 / 0x04 envelope with the matching private key. */
  decryptWith(
    privateKey: PrivateKeyInput,
    ciphertext: CiphertextInput,
    options?: DecryptOptions,
  ): Promise<Uint8Array>;
  /** Re-encrypt under the current primary without returning plaintext; same form (bytes/text) as given. */
  rewrap<T extends CiphertextInput>(
    ciphertext: T,
    options?: RewrapOptions,
  ): Promise<T extends string ? string : Uint8Array>;
  /** `rewrap` over a list; one result per item, failures reported, not thrown. */
  rewrapMany(
    items: readonly RewrapItem[],
    options?: RewrapOptions & { concurrency?: number },
  ): Promise<RewrapResult[]>;
  /** Format, algorithm, key id, compressed flag (and Fernet timestamp) without decrypting. */
  inspect(ciphertext: CiphertextInput): CiphertextInfo;
  /** Rotate now (`trigger: 'manual'`); default both algorithms the keyring holds. */
  rotate(options?: { algorithm?: KeyAlgorithm }): Promise<void>;
  /** Node `Transform` that encrypts into a streaming (0x03) envelope. */
  encryptStream(options?: StreamOptions): Transform;
  /** Node `Transform` that decrypts a streaming envelope. */
  decryptStream(options?: StreamOptions): Transform;
  /** WHATWG `TransformStream` that encrypts into a streaming envelope. */
  encryptWebStream(options?: StreamOptions): TransformStream<Uint8Array, Uint8Array>;
  /** WHATWG `TransformStream` that decrypts a streaming envelope. */
  decryptWebStream(options?: StreamOptions): TransformStream<Uint8Array, Uint8Array>;
  /** Stop listening to the key manager and close it when the facade opened it. Idempotent. */
  close(): Promise<void>;
}

/**
 * Build the facade: validate the config (`ERR_CONFIG_INVALID` naming the field), open or adopt the key
 * manager, wire metrics (wrapped by `safeCollector`) to operations and to the manager's rotation events.
 *
 * @example
 * ```ts
 * import { createEncryption } from '@mesh/encryption';
 * const enc = await createEncryption({ service: 'orders', compression: { thresholdBytes: 512 } });
 * const token = await enc.encryptToString('hello', { context: 'tenant-42' });
 * console.log(await enc.decryptToString(token, { context: 'tenant-42' })); // hello
 * await enc.close();
 * ```
 */
export async function createEncryption(config: EncryptionConfig = {}): Promise<Encryption> {
  const resolved = resolveConfig(config);
  const metrics = safeCollector(config.metrics ?? new NoopCollector());
  // Only the exact no-op class (not a subclass that might override a method) lets the hot path skip metrics.
  const observed = config.metrics !== undefined && config.metrics.constructor !== NoopCollector;
  let keys = config.keyManager;
  const ownsKeys = keys === undefined;
  if (keys === undefined) {
    const kek =
      config.kek === undefined
        ? { key: randomBytes(32) } // memory store only (enforced by config): keys die with the process anyway
        : 'passphrase' in config.kek && config.kek.iterations === undefined
          ? { ...config.kek, iterations: resolved.pbkdf2Iterations }
          : config.kek;
    // A primary for every cipher some service encrypts with (streams always need aes-256-gcm), plus Fernet.
    const algorithms: KeyAlgorithm[] = ['aes-256-gcm'];
    if (resolved.fernet.enabled) algorithms.push('fernet');
    if (resolved.ciphers.includes('xchacha20-poly1305')) algorithms.push('xchacha20-poly1305');
    keys = await KeyManager.open({
      store: config.keyStore ?? new MemoryKeyStore(),
      kek,
      name: resolved.keyring,
      algorithms,
      ...(resolved.rotation === undefined ? {} : { rotation: resolved.rotation }),
      ...(config.clock === undefined ? {} : { clock: config.clock }),
    });
  }
  return new MeshEncryption(resolved, keys, ownsKeys, metrics, observed, config.clock);
}

/** Node's `util.inspect` hook, by its registered name. */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

class MeshEncryption implements Encryption {
  // Everything lives in #private fields, exposed through prototype getters: neither JSON.stringify nor
  // util.inspect (at any depth, hidden properties included) walks into the key manager, the derived subkeys
  // or the Fernet instances. What they show is the service and keyring names (toJSON, [INSPECT]).
  /** Shared state and rules of every mode (plan, compression, derivation, metrics); see modes/core.ts. */
  readonly #core: FacadeCore;
  readonly #fernetApiObject: FernetApi;
  readonly #streams: StreamMode;
  readonly #ownsKeys: boolean;
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(
    config: ResolvedConfig,
    keys: KeyManager,
    ownsKeys: boolean,
    metrics: MetricsCollector,
    observed: boolean,
    clock: (() => number) | undefined,
  ) {
    this.#core = new FacadeCore(config, keys, metrics, observed, clock);
    this.#ownsKeys = ownsKeys;
    this.#streams = new StreamMode(this.#core);
    this.#fernetApiObject = createFernetApi(this.#core, (token) => this.rewrap(token));
    this.#unsubscribe = this.#wireKeyEvents();
  }

  get keys(): KeyManager {
    return this.#core.keys;
  }

  get config(): ResolvedConfig {
    return this.#core.config;
  }

  get fernet(): FernetApi {
    return this.#fernetApiObject;
  }

  /** Serialised, the facade is its names: never the key manager or any key. */
  toJSON(): { service: string; keyring: string } {
    return { service: this.#core.config.service, keyring: this.#core.config.keyring };
  }

  /** Logged, the facade is its names: never the key manager or any key. */
  [INSPECT](): string {
    const { service, keyring } = this.#core.config;
    return `MeshEncryption { service: '${service}', keyring: '${keyring}'${this.#closed ? ', closed' : ''} }`;
  }

  // ---- envelopes (0x01, 0x05): modes/envelope.ts, the hot path ------------------------------------------
  // Plain (not async) delegations: the mode's promise is returned as is, no extra await or closure per call.

  encrypt(data: PlaintextInput, options?: EncryptOptions): Promise<Uint8Array> {
    return encryptEnvelope(this.#core, data, options);
  }

  async encryptToString(data: PlaintextInput, options?: EncryptOptions): Promise<string> {
    return base64UrlEncode(await encryptEnvelope(this.#core, data, options));
  }

  decrypt(ciphertext: CiphertextInput, options?: DecryptOptions): Promise<Uint8Array> {
    return decryptEnvelope(this.#core, ciphertext, options);
  }

  async decryptToString(ciphertext: CiphertextInput, options?: DecryptOptions): Promise<string> {
    return toText(await decryptEnvelope(this.#core, ciphertext, options));
  }

  // ---- RSA (0x02 hybrid, 0x04 direct): modes/rsa.ts -------------------------------------------------------

  encryptFor(publicKey: PublicKeyInput, data: PlaintextInput, options?: EncryptOptions): Promise<Uint8Array> {
    return encryptForPublicKey(this.#core, publicKey, data, options);
  }

  decryptWith(
    privateKey: PrivateKeyInput,
    ciphertext: CiphertextInput,
    options?: DecryptOptions,
  ): Promise<Uint8Array> {
    return decryptWithPrivateKey(this.#core, privateKey, ciphertext, options);
  }

  // ---- rewrap (modes/rewrap.ts), inspect, rotate --------------------------------------------------------

  rewrap<T extends CiphertextInput>(
    ciphertext: T,
    options?: RewrapOptions,
  ): Promise<T extends string ? string : Uint8Array> {
    return rewrapCiphertext(this.#core, ciphertext, options) as Promise<
      T extends string ? string : Uint8Array
    >;
  }

  rewrapMany(
    items: readonly RewrapItem[],
    options?: RewrapOptions & { concurrency?: number },
  ): Promise<RewrapResult[]> {
    return rewrapMany((c, o) => this.rewrap(c, o), items, options);
  }

  inspect(ciphertext: CiphertextInput): CiphertextInfo {
    return inspect(ciphertext);
  }

  async rotate(options?: { algorithm?: KeyAlgorithm }): Promise<void> {
    if (
      options?.algorithm !== undefined &&
      options.algorithm !== 'aes-256-gcm' &&
      options.algorithm !== 'fernet' &&
      options.algorithm !== 'xchacha20-poly1305'
    ) {
      throw invalidInput("algorithm must be 'aes-256-gcm', 'fernet' or 'xchacha20-poly1305'");
    }
    // Without an algorithm the key manager rotates every algorithm it holds, in one keyring version.
    await this.#core.keys.rotate({
      ...(options?.algorithm ? { algorithm: options.algorithm } : {}),
      trigger: 'manual',
    });
  }

  // ---- streams (0x03): modes/stream.ts, engine in ./stream/ ---------------------------------------------

  encryptStream(options?: StreamOptions): Transform {
    return this.#streams.encryptNode(options);
  }

  decryptStream(options?: StreamOptions): Transform {
    return this.#streams.decryptNode(options);
  }

  encryptWebStream(options?: StreamOptions): TransformStream<Uint8Array, Uint8Array> {
    return this.#streams.encryptWeb(options);
  }

  decryptWebStream(options?: StreamOptions): TransformStream<Uint8Array, Uint8Array> {
    return this.#streams.decryptWeb(options);
  }

  // ---- lifecycle and key events ---------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    this.#core.forgetDerived();
    if (this.#ownsKeys) await this.#core.keys.close();
  }

  /** Rotation and retirement events become metrics; key ages are published for live keys. */
  #wireKeyEvents(): () => void {
    const keys = this.#core.keys;
    const metrics = this.#core.metrics;
    const onRotated = (event: {
      algorithm: KeyAlgorithm;
      trigger: Parameters<MetricsCollector['recordRotation']>[0];
      keyId: number;
    }) => {
      metrics.recordRotation(event.trigger);
      const info = keys.keys().find((k) => k.id === event.keyId);
      if (info !== undefined) metrics.setKeyAge(info.id, info.createdAt);
    };
    const onRetired = (event: { keyId: number }) => {
      metrics.removeKey(event.keyId);
      this.#core.fernet.forget(event.keyId);
      this.#core.forgetDerived(event.keyId);
    };
    for (const info of keys.keys()) {
      if (info.state !== 'retired') metrics.setKeyAge(info.id, info.createdAt);
    }
    keys.on('rotated', onRotated);
    keys.on('retired', onRetired);
    return () => {
      const emitter = keys as unknown as { off?: (e: string, l: (...a: never[]) => void) => void };
      emitter.off?.('rotated', onRotated);
      emitter.off?.('retired', onRetired);
    };
  }
}
