/**
 * `createEncryption(config)`: the one object teams configure once and use everywhere (docs/DESIGN.md §8).
 *
 * It composes the layers: keys (`@mesh/keys`) for acquisition and rotation, compression
 * (`@mesh/compression`) by policy before encryption, metrics (`@mesh/metrics`) for every operation, and the
 * formats of this package (envelope v1, Fernet, RSA, streams).
 *
 * Hot path of `encrypt` (why it stays within a few percent of raw node:crypto): the config is validated once
 * at construction; the per-(service, context) decision (compression policy, context bytes) is cached; the
 * key comes from the key manager's in-memory lease (no store I/O per call); the envelope is built in one
 * allocation with its nonce drawn from crypto-core's CSPRNG pool (no CSPRNG call per message); metrics are two
 * clock reads and a few counter increments, and with the no-op collector not even that (no clock is read, no
 * collector called). `apps/bench` measures what each of these costs.
 *
 * @module
 */
import type { Transform } from 'node:stream';
import { type CompressionPolicy, decompress, maybeCompress } from '@mesh/compression';
import {
  base64UrlDecode,
  base64UrlEncode,
  isMeshError,
  randomBytes,
  utf8Decode,
  utf8Encode,
  wipe,
} from '@mesh/crypto-core';
import { type ActiveKey, deriveSubkey, type KeyAlgorithm, KeyManager, MemoryKeyStore } from '@mesh/keys';
import {
  type CryptoAlgorithm,
  type CryptoOperation,
  failureReasonOf,
  type MetricsCollector,
  NoopCollector,
  safeCollector,
} from '@mesh/metrics';
import {
  openWithPrivateKey,
  type PrivateKeyInput,
  type PublicKeyInput,
  sealForPublicKey,
  toPrivateKey,
  toPublicKey,
} from './asymmetric.js';
import {
  type EncryptionConfig,
  type EnvelopeCipher,
  type ResolvedConfig,
  type ResolvedService,
  resolveConfig,
} from './config.js';
import {
  ENVELOPE_VERSION,
  EnvelopeAlgorithm,
  type EnvelopeHeader,
  FLAG_COMPRESSED,
  readHeader,
} from './envelope.js';
import { EncryptionError, invalidInput, malformed, toMeshError, unsupported } from './errors.js';
import { type FernetDecryptOptions, FernetKeyring } from './fernet-mode.js';
import {
  type CiphertextInput,
  checkContext,
  encodeContext,
  type ParsedCiphertext,
  type PlaintextInput,
  parseCiphertext,
  plaintextBytes,
} from './input.js';
import { type CiphertextInfo, inspect } from './inspect.js';
import { type RewrapItem, type RewrapResult, rewrapMany } from './rewrap.js';
import {
  createNodeDecryptStream,
  createNodeEncryptStream,
  createWebDecryptStream,
  createWebEncryptStream,
  type StreamDeps,
  type StreamOptions,
} from './stream/index.js';
import { cipherOfEnvelope, minEnvelopeLength, openEnvelope, sealEnvelope } from './symmetric-envelope.js';

/** Options of `encrypt`, `encryptToString` and `encryptFor`. */
export interface EncryptOptions {
  /** Bound as associated data (service, tenant, route); decryption must give the same. */
  context?: string;
  /** Whose overrides apply (compression, default context, key derivation). Default: `config.service`. */
  service?: string;
  /** `false` skips compression for this call whatever the policy (secrets next to attacker data). */
  compress?: boolean;
}

/** Options of `decrypt`, `decryptToString` and `decryptWith`. */
export interface DecryptOptions {
  /** The context given at encryption. */
  context?: string;
  /** The service given at encryption (selects the derived subkey and the inflation limit). */
  service?: string;
  /** Fernet tokens only: maximum age in seconds (default `config.fernet.ttl`). */
  ttl?: number;
}

/** Options of `rewrap`. */
export interface RewrapOptions {
  context?: string;
  service?: string;
}

/** Fernet mode (`enc.fernet`): standard tokens under the keyring's Fernet keys. */
export interface FernetApi {
  /** A standard Fernet token (URL-safe base64 text) under the Fernet primary. */
  encrypt(data: PlaintextInput): Promise<string>;
  /** MultiFernet decrypt: primary first, then older keys; optional TTL in seconds. */
  decrypt(token: string | Uint8Array, options?: FernetDecryptOptions): Promise<Uint8Array>;
  /** `decrypt`, then UTF-8. */
  decryptToString(token: string | Uint8Array, options?: FernetDecryptOptions): Promise<string>;
  /**
   * MultiFernet.rotate: re-encrypt under the primary keeping the original timestamp. Fernet tokens only:
   * an envelope is `ERR_TOKEN_MALFORMED` (use `rewrap`), a non-string `ERR_INVALID_INPUT`.
   */
  rotate(token: string): Promise<string>;
}

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

/** Per-(service, context) decisions, cached so the hot path does no lookups beyond two `Map.get`s. */
interface CallPlan {
  readonly service: ResolvedService;
  readonly context: string | undefined;
  readonly contextBytes: Uint8Array | undefined;
  readonly policy: Readonly<CompressionPolicy>;
}

/** Contexts remembered per service; past it the cache is cleared (contexts may be unbounded caller input). */
const PLAN_CACHE_LIMIT = 1024;
const DERIVED_CACHE_LIMIT = 256;
const GCM = 'aes-256-gcm' as const;
const now = (): number => performance.now();

/** Node's `util.inspect` hook, by its registered name. */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

class MeshEncryption implements Encryption {
  // Everything lives in #private fields, exposed through prototype getters: neither JSON.stringify nor
  // util.inspect (at any depth, hidden properties included) walks into the key manager, the derived subkeys
  // or the Fernet instances. What they show is the service and keyring names (toJSON, [INSPECT]).
  readonly #keys: KeyManager;
  readonly #config: ResolvedConfig;
  readonly #fernetApiObject: FernetApi;
  readonly #ownsKeys: boolean;
  readonly #metrics: MetricsCollector;
  /** False for the no-op collector: successful calls then read no clock and call no collector. */
  readonly #observed: boolean;
  readonly #fernet: FernetKeyring;
  readonly #plans = new Map<string, Map<string, CallPlan>>();
  readonly #derived = new Map<number, { material: Uint8Array; byService: Map<string, Uint8Array> }>();
  readonly #streamDeps: StreamDeps;
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
    this.#config = config;
    this.#keys = keys;
    this.#ownsKeys = ownsKeys;
    this.#metrics = metrics;
    this.#observed = observed;
    this.#fernet = new FernetKeyring(keys, clock);
    this.#streamDeps = { keys, metrics };
    this.#fernetApiObject = this.#fernetApi();
    this.#unsubscribe = this.#wireKeyEvents();
  }

  get keys(): KeyManager {
    return this.#keys;
  }

  get config(): ResolvedConfig {
    return this.#config;
  }

  get fernet(): FernetApi {
    return this.#fernetApiObject;
  }

  /** Serialised, the facade is its names: never the key manager or any key. */
  toJSON(): { service: string; keyring: string } {
    return { service: this.#config.service, keyring: this.#config.keyring };
  }

  /** Logged, the facade is its names: never the key manager or any key. */
  [INSPECT](): string {
    const { service, keyring } = this.#config;
    return `MeshEncryption { service: '${service}', keyring: '${keyring}'${this.#closed ? ', closed' : ''} }`;
  }

  // ---- envelope v1 (0x01) ------------------------------------------------------------------------------

  async encrypt(data: PlaintextInput, options?: EncryptOptions): Promise<Uint8Array> {
    const t0 = this.#observed ? now() : 0;
    let bytesIn = 0;
    let cipher: EnvelopeCipher = GCM;
    try {
      const plaintext = plaintextBytes(data);
      bytesIn = plaintext.length;
      const plan = this.#plan(options);
      cipher = plan.service.algorithm;
      const payload = this.#compress(plaintext, plan, options?.compress);
      try {
        const key = await this.#keys.acquireEncryptionKey(cipher);
        const out = sealEnvelope(
          cipher,
          this.#keyFor(key, plan.service),
          key.id,
          payload === plaintext ? 0 : FLAG_COMPRESSED,
          payload,
          plan.contextBytes,
        );
        if (this.#observed) {
          this.#metrics.recordKeyUse(key.id);
          this.#metrics.recordOperation(
            'encrypt',
            cipher,
            'success',
            (now() - t0) / 1e3,
            bytesIn,
            out.length,
          );
        }
        return out;
      } finally {
        if (payload !== plaintext) wipe(payload); // the compressed copy is plaintext too
        if (typeof data === 'string') wipe(plaintext); // our own encoding of the caller's string
      }
    } catch (error) {
      throw this.#failed('encrypt', cipher, t0, bytesIn, error);
    }
  }

  async encryptToString(data: PlaintextInput, options?: EncryptOptions): Promise<string> {
    return base64UrlEncode(await this.encrypt(data, options));
  }

  async decrypt(ciphertext: CiphertextInput, options?: DecryptOptions): Promise<Uint8Array> {
    const t0 = this.#observed ? now() : 0;
    let parsed: ParsedCiphertext | undefined;
    let envelope: Uint8Array | undefined;
    // Envelope bytes (version byte first) are the common case: no classification object for them.
    if (ciphertext instanceof Uint8Array && ciphertext.length > 0 && ciphertext[0] === ENVELOPE_VERSION) {
      envelope = ciphertext;
    } else {
      try {
        parsed = parseCiphertext(ciphertext);
      } catch (error) {
        throw this.#failed('decrypt', GCM, t0, 0, error);
      }
      if (parsed.kind === 'envelope') envelope = parsed.bytes;
    }
    let plan: CallPlan;
    try {
      plan = this.#plan(options);
    } catch (error) {
      throw this.#failed('decrypt', GCM, t0, 0, error);
    }
    if (envelope === undefined) {
      const token = (parsed as Extract<ParsedCiphertext, { kind: 'fernet' }>).token;
      // A Fernet token cannot carry a context. Accepting one where the caller expects a context would let a
      // token sealed for another tenant or route stand in for this one's envelope: refuse instead.
      if (plan.contextBytes !== undefined) {
        throw this.#failed('fernet_decrypt', 'fernet', t0, token.length, unsupported(FERNET_NO_CONTEXT));
      }
      return this.#fernetDecrypt(token, options?.ttl, t0);
    }
    let cipher: EnvelopeCipher = GCM;
    try {
      const header = readHeader(envelope);
      cipher = cipherOfEnvelope(header.algorithm) ?? throwWrongEntryPoint(header);
      if (envelope.length < minEnvelopeLength(cipher))
        throw malformed('envelope is shorter than nonce and tag');
      const key = await this.#decryptionKey(header.keyId, cipher);
      const payload = openEnvelope(cipher, this.#keyFor(key, plan.service), envelope, plan.contextBytes);
      const out = header.compressed ? this.#inflate(payload, plan) : payload;
      if (this.#observed) {
        this.#metrics.recordOperation(
          'decrypt',
          cipher,
          'success',
          (now() - t0) / 1e3,
          envelope.length,
          out.length,
        );
      }
      return out;
    } catch (error) {
      throw this.#failed('decrypt', cipher, t0, envelope.length, error);
    }
  }

  async decryptToString(ciphertext: CiphertextInput, options?: DecryptOptions): Promise<string> {
    return toText(await this.decrypt(ciphertext, options));
  }

  // ---- RSA (0x02 hybrid, 0x04 direct) -----------------------------------------------------------------

  async encryptFor(
    publicKey: PublicKeyInput,
    data: PlaintextInput,
    options?: EncryptOptions,
  ): Promise<Uint8Array> {
    const t0 = now();
    let bytesIn = 0;
    let algorithm: CryptoAlgorithm = 'rsa-oaep-sha256';
    try {
      this.#asymmetricEnabled();
      const key = toPublicKey(publicKey);
      const plaintext = plaintextBytes(data);
      bytesIn = plaintext.length;
      const plan = this.#plan(options);
      if (options?.compress !== undefined && typeof options.compress !== 'boolean') {
        throw invalidInput('compress must be a boolean');
      }
      // Never compressed: an RSA envelope authenticates no sender, so its reader refuses the compressed flag
      // (any public-key holder could otherwise make it inflate a bomb). See envelope.ts readHeader.
      try {
        const out = sealForPublicKey(key, plaintext, 0, plan.contextBytes);
        algorithm =
          out[1] === EnvelopeAlgorithm.RSA_OAEP_SHA256 ? 'rsa-oaep-sha256' : 'hybrid-rsa-oaep-aes-256-gcm';
        this.#metrics.recordOperation(
          'encrypt_for',
          algorithm,
          'success',
          (now() - t0) / 1e3,
          bytesIn,
          out.length,
        );
        return out;
      } finally {
        if (typeof data === 'string') wipe(plaintext);
      }
    } catch (error) {
      throw this.#failed('encrypt_for', algorithm, t0, bytesIn, error);
    }
  }

  async decryptWith(
    privateKey: PrivateKeyInput,
    ciphertext: CiphertextInput,
    options?: DecryptOptions,
  ): Promise<Uint8Array> {
    const t0 = now();
    let bytesIn = 0;
    let algorithm: CryptoAlgorithm = 'rsa-oaep-sha256';
    try {
      this.#asymmetricEnabled();
      const parsed = parseCiphertext(ciphertext);
      if (parsed.kind === 'fernet') throw unsupported('a Fernet token is not an RSA envelope: use decrypt()');
      const envelope = parsed.bytes;
      bytesIn = envelope.length;
      const header = readHeader(envelope);
      if (header.algorithm === EnvelopeAlgorithm.HYBRID_RSA_OAEP_AES_256_GCM) {
        algorithm = 'hybrid-rsa-oaep-aes-256-gcm';
      }
      const plan = this.#plan(options);
      // readHeader refused the compressed flag: an RSA payload is never inflated.
      const out = openWithPrivateKey(toPrivateKey(privateKey), envelope, header, plan.contextBytes);
      this.#metrics.recordOperation(
        'decrypt_with',
        algorithm,
        'success',
        (now() - t0) / 1e3,
        bytesIn,
        out.length,
      );
      return out;
    } catch (error) {
      throw this.#failed('decrypt_with', algorithm, t0, bytesIn, error);
    }
  }

  // ---- rewrap, inspect, rotate ------------------------------------------------------------------------

  async rewrap<T extends CiphertextInput>(
    ciphertext: T,
    options?: RewrapOptions,
  ): Promise<T extends string ? string : Uint8Array> {
    const t0 = now();
    let parsed: ParsedCiphertext | undefined;
    const bytesIn =
      typeof ciphertext === 'string' || ciphertext instanceof Uint8Array ? ciphertext.length : 0;
    try {
      parsed = parseCiphertext(ciphertext);
      const out =
        parsed.kind === 'fernet'
          ? await this.#rewrapFernet(parsed, options)
          : await this.#rewrapEnvelope(parsed, options);
      const algorithm: CryptoAlgorithm =
        parsed.kind === 'fernet' ? 'fernet' : this.#plan(options).service.algorithm;
      this.#metrics.recordOperation('rewrap', algorithm, 'success', (now() - t0) / 1e3, bytesIn, out.length);
      return out as T extends string ? string : Uint8Array;
    } catch (error) {
      throw this.#failed('rewrap', parsed?.kind === 'fernet' ? 'fernet' : GCM, t0, bytesIn, error);
    }
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
    await this.#keys.rotate({
      ...(options?.algorithm ? { algorithm: options.algorithm } : {}),
      trigger: 'manual',
    });
  }

  // ---- streams (implemented in ./stream/) -------------------------------------------------------------

  encryptStream(options?: StreamOptions): Transform {
    return createNodeEncryptStream(this.#streamDeps, this.#streamOptions(options));
  }

  decryptStream(options?: StreamOptions): Transform {
    return createNodeDecryptStream(this.#streamDeps, this.#streamOptions(options));
  }

  encryptWebStream(options?: StreamOptions): TransformStream<Uint8Array, Uint8Array> {
    return createWebEncryptStream(this.#streamDeps, this.#streamOptions(options));
  }

  decryptWebStream(options?: StreamOptions): TransformStream<Uint8Array, Uint8Array> {
    return createWebDecryptStream(this.#streamDeps, this.#streamOptions(options));
  }

  /**
   * A stream's options with the context decided by the same rule as every other entry point ({@link #plan}:
   * the service's default context when none is given, `requireContext`, well-formed text), so a stream is
   * bound to exactly the context an envelope of the same call would be.
   */
  #streamOptions(options: StreamOptions | undefined): StreamOptions {
    const plan = this.#plan(options);
    return { ...options, context: plan.context ?? '' };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    for (const entry of this.#derived.values()) for (const k of entry.byService.values()) wipe(k);
    this.#derived.clear();
    if (this.#ownsKeys) await this.#keys.close();
  }

  // ---- internals --------------------------------------------------------------------------------------

  /**
   * The cached plan of a call: service overrides, effective context and its bytes, compression policy. The
   * one context rule of the facade: every entry point (encrypt, decrypt, RSA, rewrap, Fernet, streams) goes
   * through here.
   */
  #plan(options: { context?: string; service?: string } | undefined): CallPlan {
    let serviceName = this.#config.service;
    let context: string | undefined;
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) throw invalidInput('options must be an object');
      context = checkContext(options.context);
      if (options.service !== undefined) {
        if (typeof options.service !== 'string' || options.service.length === 0) {
          throw invalidInput('service must be a non-empty string');
        }
        serviceName = options.service;
      }
    }
    let byContext = this.#plans.get(serviceName);
    if (byContext === undefined) {
      // The service name is HKDF info for derived subkeys: it must have exactly one UTF-8 encoding.
      utf8Encode(serviceName, 'service');
      if (this.#plans.size >= PLAN_CACHE_LIMIT) this.#plans.clear();
      byContext = new Map();
      this.#plans.set(serviceName, byContext);
    }
    const cacheKey = context ?? '';
    const hit = byContext.get(cacheKey);
    if (hit !== undefined) return hit;
    const service = this.#config.serviceConfig(serviceName);
    const effective = context === undefined || context === '' ? service.context : context;
    if (service.requireContext && (effective === undefined || effective === '')) {
      throw invalidInput(`service ${serviceName} requires a context`);
    }
    const plan: CallPlan = {
      service,
      context: effective,
      contextBytes: encodeContext(effective),
      policy: this.#config.compressionPolicy(serviceName, effective),
    };
    if (byContext.size >= PLAN_CACHE_LIMIT) byContext.clear();
    byContext.set(cacheKey, plan);
    return plan;
  }

  /** The payload to seal: `plaintext` itself, or a new compressed array (then the flag is set). */
  #compress(plaintext: Uint8Array, plan: CallPlan, compress: boolean | undefined): Uint8Array {
    const policy = plan.policy;
    if (compress !== undefined && typeof compress !== 'boolean')
      throw invalidInput('compress must be a boolean');
    // Cheapest checks first: most small payloads never reach zlib.
    if (compress === false || !policy.enabled || plaintext.length < policy.thresholdBytes) return plaintext;
    const result = maybeCompress(plaintext, policy);
    if (!result.compressed) return plaintext;
    this.#metrics.recordCompression(plaintext.length, result.data.length);
    return result.data;
  }

  /** Inflate an authenticated payload under the plan's bomb guard; wipes the compressed copy. */
  #inflate(payload: Uint8Array, plan: CallPlan): Uint8Array {
    try {
      return decompress(payload, { maxInflatedBytes: plan.policy.maxInflatedBytes });
    } finally {
      wipe(payload);
    }
  }

  /** The AES key for an envelope: the data key, or its HKDF subkey for the service (cached per key). */
  #keyFor(key: ActiveKey, service: ResolvedService): Uint8Array {
    if (!service.keyDerivation) return key.material;
    let entry = this.#derived.get(key.id);
    if (entry === undefined || entry.material !== key.material) {
      if (this.#derived.size >= DERIVED_CACHE_LIMIT) this.#forgetDerived();
      entry = { material: key.material, byService: new Map() };
      this.#derived.set(key.id, entry);
    }
    let sub = entry.byService.get(service.name);
    if (sub === undefined) {
      if (entry.byService.size >= DERIVED_CACHE_LIMIT) entry.byService.clear();
      // docs/DESIGN.md §4: per-service subkeys, HKDF-SHA256 with the service name as info.
      sub = deriveSubkey(key.material, service.name, 32);
      entry.byService.set(service.name, sub);
    }
    return sub;
  }

  /**
   * The keyring key `id` for opening an envelope of `cipher`. Asked for without an algorithm, so that a facade
   * whose own services never encrypt with XChaCha (and so keep no XChaCha primary) still reads 0x05
   * envelopes sealed by others under the same keyring; a key of another algorithm is `ERR_KEY_NOT_FOUND`.
   */
  async #decryptionKey(id: number, cipher: EnvelopeCipher): Promise<ActiveKey> {
    const key = await this.#keys.getDecryptionKey(id);
    if (key.algorithm !== cipher) {
      throw new EncryptionError(
        'ERR_KEY_NOT_FOUND',
        `no key ${id} for ${cipher} in keyring '${this.config.keyring}'`,
      );
    }
    return key;
  }

  #forgetDerived(keyId?: number): void {
    const entries = keyId === undefined ? [...this.#derived.values()] : [this.#derived.get(keyId)];
    for (const entry of entries) if (entry) for (const k of entry.byService.values()) wipe(k);
    if (keyId === undefined) this.#derived.clear();
    else this.#derived.delete(keyId);
  }

  async #rewrapEnvelope(
    parsed: Extract<ParsedCiphertext, { kind: 'envelope' }>,
    options: RewrapOptions | undefined,
  ): Promise<Uint8Array | string> {
    const envelope = parsed.bytes;
    const plan = this.#plan(options);
    const header = readHeader(envelope);
    const oldCipher = cipherOfEnvelope(header.algorithm) ?? throwWrongEntryPoint(header);
    if (envelope.length < minEnvelopeLength(oldCipher))
      throw malformed('envelope is shorter than nonce and tag');
    const oldKey = await this.#decryptionKey(header.keyId, oldCipher);
    // The payload stays as it was sealed (compressed or not): no inflation, so no bomb to defuse, and the
    // flag is carried over into the new, again authenticated, header.
    const payload = openEnvelope(oldCipher, this.#keyFor(oldKey, plan.service), envelope, plan.contextBytes);
    try {
      // Sealed again with the service's cipher: rewrapping also migrates envelopes from one cipher to the other.
      const cipher = plan.service.algorithm;
      const key = await this.#keys.acquireEncryptionKey(cipher);
      const out = sealEnvelope(
        cipher,
        this.#keyFor(key, plan.service),
        key.id,
        header.flags,
        payload,
        plan.contextBytes,
      );
      this.#metrics.recordKeyUse(key.id);
      return parsed.text ? base64UrlEncode(out) : out;
    } finally {
      wipe(payload);
    }
  }

  async #rewrapFernet(
    parsed: Extract<ParsedCiphertext, { kind: 'fernet' }>,
    options: RewrapOptions | undefined,
  ): Promise<Uint8Array | string> {
    this.#fernetEnabled();
    if (this.#plan(options).contextBytes !== undefined) throw unsupported(FERNET_NO_CONTEXT);
    const token = await this.#fernet.rotate(parsed.token);
    if (parsed.text) return token;
    return parsed.ascii ? asciiBytes(token) : base64UrlDecode(token);
  }

  async #fernetDecrypt(token: string, ttl: number | undefined, t0: number): Promise<Uint8Array> {
    try {
      this.#fernetEnabled();
      if (ttl !== undefined && (!Number.isSafeInteger(ttl) || ttl < 0)) {
        throw invalidInput('ttl must be a non-negative integer number of seconds');
      }
      const { plaintext } = await this.#fernet.open(token, ttl ?? this.#config.fernet.ttl);
      this.#metrics.recordOperation(
        'fernet_decrypt',
        'fernet',
        'success',
        (now() - t0) / 1e3,
        token.length,
        plaintext.length,
      );
      return plaintext;
    } catch (error) {
      throw this.#failed('fernet_decrypt', 'fernet', t0, token.length, error);
    }
  }

  #fernetApi(): FernetApi {
    return {
      encrypt: async (data) => {
        const t0 = now();
        let bytesIn = 0;
        try {
          this.#fernetEnabled();
          const plaintext = plaintextBytes(data);
          bytesIn = plaintext.length;
          let token: string;
          try {
            token = await this.#fernet.encrypt(plaintext);
          } finally {
            if (typeof data === 'string') wipe(plaintext);
          }
          this.#metrics.recordOperation(
            'fernet_encrypt',
            'fernet',
            'success',
            (now() - t0) / 1e3,
            bytesIn,
            token.length,
          );
          return token;
        } catch (error) {
          throw this.#failed('fernet_encrypt', 'fernet', t0, bytesIn, error);
        }
      },
      decrypt: async (token, options) => {
        const t0 = now();
        let parsed: ParsedCiphertext;
        try {
          parsed = parseCiphertext(token);
          if (parsed.kind !== 'fernet') throw malformed('not a Fernet token');
        } catch (error) {
          throw this.#failed('fernet_decrypt', 'fernet', t0, 0, error);
        }
        return this.#fernetDecrypt(parsed.token, options?.ttl, t0);
      },
      decryptToString: async (token, options) => toText(await this.fernet.decrypt(token, options)),
      rotate: async (token) => {
        // Fernet tokens only: an envelope given here would come back rewrapped as an envelope, which a
        // caller expecting a Fernet token would store as one.
        const t0 = now();
        try {
          if (typeof token !== 'string') throw invalidInput('token must be a Fernet token (string)');
          if (parseCiphertext(token).kind !== 'fernet') {
            throw malformed(
              'not a Fernet token: fernet.rotate takes Fernet tokens only (use rewrap for envelopes)',
            );
          }
        } catch (error) {
          throw this.#failed('rewrap', 'fernet', t0, 0, error);
        }
        return (await this.rewrap(token)) as string;
      },
    };
  }

  #fernetEnabled(): void {
    if (!this.#config.fernet.enabled) throw unsupported('Fernet mode is disabled by config (fernet: false)');
  }

  #asymmetricEnabled(): void {
    if (!this.#config.asymmetric)
      throw unsupported('asymmetric encryption is disabled by config (asymmetric: false)');
  }

  /** Record a failure (operation + reason) and return the error to throw, always a Mesh error. */
  #failed(
    operation: CryptoOperation,
    algorithm: CryptoAlgorithm,
    t0: number,
    bytesIn: number,
    error: unknown,
  ): Error {
    const meshError = toMeshError(error);
    this.#metrics.recordOperation(operation, algorithm, 'failure', (now() - t0) / 1e3, bytesIn, 0);
    this.#metrics.recordFailure(failureReasonOf(meshError));
    return meshError;
  }

  /** Rotation and retirement events become metrics; key ages are published for live keys. */
  #wireKeyEvents(): () => void {
    const onRotated = (event: {
      algorithm: KeyAlgorithm;
      trigger: Parameters<MetricsCollector['recordRotation']>[0];
      keyId: number;
    }) => {
      this.#metrics.recordRotation(event.trigger);
      const info = this.#keys.keys().find((k) => k.id === event.keyId);
      if (info !== undefined) this.#metrics.setKeyAge(info.id, info.createdAt);
    };
    const onRetired = (event: { keyId: number }) => {
      this.#metrics.removeKey(event.keyId);
      this.#fernet.forget(event.keyId);
      this.#forgetDerived(event.keyId);
    };
    for (const info of this.#keys.keys()) {
      if (info.state !== 'retired') this.#metrics.setKeyAge(info.id, info.createdAt);
    }
    this.#keys.on('rotated', onRotated);
    this.#keys.on('retired', onRetired);
    return () => {
      const emitter = this.keys as unknown as { off?: (e: string, l: (...a: never[]) => void) => void };
      emitter.off?.('rotated', onRotated);
      emitter.off?.('retired', onRetired);
    };
  }
}

const FERNET_NO_CONTEXT =
  'a Fernet token cannot be bound to a context: decrypt it without one, or with enc.fernet.decrypt()';

function wrongEntryPoint(header: EnvelopeHeader): EncryptionError {
  if (header.algorithm === EnvelopeAlgorithm.STREAM_AES_256_GCM) {
    return unsupported('streaming (0x03) envelope: use decryptStream()');
  }
  return unsupported('RSA envelope: use decryptWith(privateKey, ...)');
}

function throwWrongEntryPoint(header: EnvelopeHeader): never {
  throw wrongEntryPoint(header);
}

function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function toText(bytes: Uint8Array): string {
  try {
    return utf8Decode(bytes);
  } catch (error) {
    wipe(bytes);
    throw isMeshError(error) ? error : invalidInput('plaintext is not valid UTF-8');
  }
}
