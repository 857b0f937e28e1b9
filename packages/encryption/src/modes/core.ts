/**
 * The state and the rules every mode of the facade shares, written once: the per-call plan (service
 * overrides with the padding policy, the context rule, the compression policy), compression, and on the way
 * back unpadding and inflation, per-service key derivation, key lookup for reading, failure metrics and the config switches of the optional modes.
 *
 * Each mode module (`envelope.ts`, `rsa.ts`, `fernet.ts`, `rewrap.ts`, `stream.ts`) is a set of functions
 * over one {@link FacadeCore}; the facade class (`../facade.ts`) owns the core in a `#private` field and
 * delegates to them. The core is internal: nothing outside the facade reaches it, and the secrets it caches
 * (derived subkeys) are in `#private` fields.
 *
 * @module
 */
import {
  type CompressionPolicy,
  compress as compressBytes,
  decompress,
  maybeCompress,
} from '@mesh/compression';
import { isMeshError, utf8Decode, utf8Encode, wipe } from '@mesh/crypto-core';
import { type ActiveKey, deriveSubkey, type KeyManager } from '@mesh/keys';
import {
  type CryptoAlgorithm,
  type CryptoOperation,
  failureReasonOf,
  type MetricsCollector,
} from '@mesh/metrics';
import type { EnvelopeCipher, ResolvedConfig, ResolvedService } from '../config.js';
import type { EnvelopeHeader } from '../envelope.js';
import { EncryptionError, invalidInput, toMeshError, unsupported } from '../errors.js';
import { FernetKeyring } from '../fernet-mode.js';
import { checkContext, encodeContext } from '../input.js';
import { stripPadding, unpaddedLength } from '../padding.js';

/** Per-(service, context) decisions, cached so the hot path does no lookups beyond two `Map.get`s. */
export interface CallPlan {
  readonly service: ResolvedService;
  readonly context: string | undefined;
  readonly contextBytes: Uint8Array | undefined;
  readonly policy: Readonly<CompressionPolicy>;
}

/** Contexts remembered per service; past it the cache is cleared (contexts may be unbounded caller input). */
const PLAN_CACHE_LIMIT = 1024;
const DERIVED_CACHE_LIMIT = 256;

/** Default algorithm label of a failure recorded before the envelope named its cipher. */
export const GCM = 'aes-256-gcm' as const;

/** Monotonic clock for operation durations. */
export const now = (): number => performance.now();

/** Shared state and rules of the facade's modes. Internal: held by the facade in a `#private` field. */
export class FacadeCore {
  readonly keys: KeyManager;
  readonly config: ResolvedConfig;
  readonly metrics: MetricsCollector;
  /** False for the no-op collector: successful calls then read no clock and call no collector. */
  readonly observed: boolean;
  readonly fernet: FernetKeyring;
  readonly #plans = new Map<string, Map<string, CallPlan>>();
  readonly #derived = new Map<number, { material: Uint8Array; byService: Map<string, Uint8Array> }>();

  constructor(
    config: ResolvedConfig,
    keys: KeyManager,
    metrics: MetricsCollector,
    observed: boolean,
    clock: (() => number) | undefined,
  ) {
    this.config = config;
    this.keys = keys;
    this.metrics = metrics;
    this.observed = observed;
    this.fernet = new FernetKeyring(keys, clock);
  }

  /**
   * The cached plan of a call: service overrides, effective context and its bytes, compression policy. The
   * one context rule of the facade: every entry point (encrypt, decrypt, RSA, rewrap, Fernet, streams) goes
   * through here.
   */
  plan(options: { context?: string; service?: string } | undefined): CallPlan {
    let serviceName = this.config.service;
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
    const service = this.config.serviceConfig(serviceName);
    const effective = context === undefined || context === '' ? service.context : context;
    if (service.requireContext && (effective === undefined || effective === '')) {
      throw invalidInput(`service ${serviceName} requires a context`);
    }
    const plan: CallPlan = {
      service,
      context: effective,
      contextBytes: encodeContext(effective),
      policy: this.config.compressionPolicy(serviceName, effective),
    };
    if (byContext.size >= PLAN_CACHE_LIMIT) byContext.clear();
    byContext.set(cacheKey, plan);
    return plan;
  }

  /** The payload to seal: `plaintext` itself, or a new compressed array (then the flag is set). */
  compress(plaintext: Uint8Array, plan: CallPlan, compress: boolean | undefined): Uint8Array {
    const policy = plan.policy;
    if (compress !== undefined && typeof compress !== 'boolean')
      throw invalidInput('compress must be a boolean');
    // Cheapest checks first: most small payloads never reach zlib.
    if (compress === false || !policy.enabled || plaintext.length < policy.thresholdBytes) return plaintext;
    if (plan.service.padding !== undefined) return this.#compressForPadding(plaintext, policy);
    const result = maybeCompress(plaintext, policy);
    if (!result.compressed) return plaintext;
    this.metrics.recordCompression(plaintext.length, result.data.length);
    return result.data;
  }

  /**
   * Compression under a padding policy: decided by the length alone. The saving test of `maybeCompress`
   * (keep only a `minSavingsRatio` saving) looks at the content, and its answer is the compressed flag in the
   * clear header: attacker-chosen bytes beside a secret could flip that one bit even though the padded length
   * hides the compressed size. So above the threshold (and within the reader's inflate bound) a padded
   * service always compresses and keeps the result, even when it did not save: the bucket absorbs it.
   */
  #compressForPadding(plaintext: Uint8Array, policy: CompressionPolicy): Uint8Array {
    if (policy.level === 0 || plaintext.length > policy.maxInflatedBytes) return plaintext;
    const packed = compressBytes(plaintext, { level: policy.level });
    this.metrics.recordCompression(plaintext.length, packed.length);
    return packed;
  }

  /** Inflate an authenticated payload under the plan's bomb guard; wipes the compressed copy. */
  inflate(payload: Uint8Array, plan: CallPlan): Uint8Array {
    try {
      return decompress(payload, { maxInflatedBytes: plan.policy.maxInflatedBytes });
    } finally {
      wipe(payload);
    }
  }

  /**
   * The plaintext of an authenticated payload whose header has flags set: padding stripped (bit1), then
   * inflated under the plan's bomb guard (bit0). The one rule of every mode that reads a flags byte
   * (envelopes, RSA); the payload is wiped once copied or inflated, also on failure. Bad padding is
   * `ERR_DECRYPTION_FAILED`.
   */
  unwrapPayload(payload: Uint8Array, header: EnvelopeHeader, plan: CallPlan): Uint8Array {
    if (!header.padded) return header.compressed ? this.inflate(payload, plan) : payload;
    if (!header.compressed) return stripPadding(payload);
    try {
      const compressed = payload.subarray(0, unpaddedLength(payload));
      return decompress(compressed, { maxInflatedBytes: plan.policy.maxInflatedBytes });
    } finally {
      wipe(payload);
    }
  }

  /** The AES key for an envelope: the data key, or its HKDF subkey for the service (cached per key). */
  keyFor(key: ActiveKey, service: ResolvedService): Uint8Array {
    if (!service.keyDerivation) return key.material;
    let entry = this.#derived.get(key.id);
    if (entry === undefined || entry.material !== key.material) {
      if (this.#derived.size >= DERIVED_CACHE_LIMIT) this.forgetDerived();
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
  async decryptionKey(id: number, cipher: EnvelopeCipher): Promise<ActiveKey> {
    const key = await this.keys.getDecryptionKey(id);
    if (key.algorithm !== cipher) {
      throw new EncryptionError(
        'ERR_KEY_NOT_FOUND',
        `no key ${id} for ${cipher} in keyring '${this.config.keyring}'`,
      );
    }
    return key;
  }

  /** Wipe and drop the derived subkeys of one key (retired), or of every key. */
  forgetDerived(keyId?: number): void {
    const entries = keyId === undefined ? [...this.#derived.values()] : [this.#derived.get(keyId)];
    for (const entry of entries) if (entry) for (const k of entry.byService.values()) wipe(k);
    if (keyId === undefined) this.#derived.clear();
    else this.#derived.delete(keyId);
  }

  /** Record a failure (operation + reason) and return the error to throw, always a Mesh error. */
  failed(
    operation: CryptoOperation,
    algorithm: CryptoAlgorithm,
    t0: number,
    bytesIn: number,
    error: unknown,
  ): Error {
    const meshError = toMeshError(error);
    this.metrics.recordOperation(operation, algorithm, 'failure', (now() - t0) / 1e3, bytesIn, 0);
    this.metrics.recordFailure(failureReasonOf(meshError));
    return meshError;
  }

  /** `ERR_UNSUPPORTED_ALGORITHM` when Fernet mode is off (`fernet: false`). */
  fernetEnabled(): void {
    if (!this.config.fernet.enabled) throw unsupported('Fernet mode is disabled by config (fernet: false)');
  }

  /** `ERR_UNSUPPORTED_ALGORITHM` when the RSA modes are off (`asymmetric: false`). */
  asymmetricEnabled(): void {
    if (!this.config.asymmetric)
      throw unsupported('asymmetric encryption is disabled by config (asymmetric: false)');
  }
}

/** Plaintext bytes to text; invalid UTF-8 is `ERR_INVALID_INPUT` (and the bytes are wiped). */
export function toText(bytes: Uint8Array): string {
  try {
    return utf8Decode(bytes);
  } catch (error) {
    wipe(bytes);
    throw isMeshError(error) ? error : invalidInput('plaintext is not valid UTF-8');
  }
}
