/**
 * `EncryptionConfig`: every knob of the facade, validated once at construction.
 *
 * Validation runs in `createEncryption`, never per call: the hot path reads the frozen
 * {@link ResolvedConfig}. A bad value throws `ERR_CONFIG_INVALID` whose message names the dotted field
 * (`compression.services.payments.level`), and unknown keys are rejected so a misspelt option never silently
 * means "default".
 *
 * @module
 */

import {
  type CompressionPolicy,
  CompressionPolicyResolver,
  DEFAULT_COMPRESSION_POLICY,
  validatePolicy,
} from '@mesh/compression';
import { utf8Encode } from '@mesh/crypto-core';
import type { KekSource, KeyManager, KeyStore, RotationPolicy } from '@mesh/keys';
import type { MetricsCollector } from '@mesh/metrics';
import { configInvalid } from './errors.js';
import { type PaddingConfig, type PaddingPolicy, resolvePadding } from './padding.js';

/**
 * Compression config (docs/DESIGN.md §5): the default policy's fields, plus overrides by service name or context.
 * Override keys match as in `@mesh/compression`'s `CompressionPolicyResolver`: the whole context, then the
 * target of a `'source->target'` route; a call with no match falls back to its service's override, then to
 * the default. `{ 'orders->audit': { enabled: false } }` disables compression for one context (CRIME/BREACH).
 */
export interface CompressionConfig extends Partial<CompressionPolicy> {
  /** Overrides keyed by service name or context (docs/DESIGN.md §8: `services: { payments: { enabled: false } }`). */
  services?: Record<string, Partial<CompressionPolicy>>;
}

/**
 * The cipher of a service's in-memory envelopes: `aes-256-gcm` (0x01, the default) or `xchacha20-poly1305`
 * (0x05: random 192-bit nonces, no usage-based rotation, faster for small messages on libsodium). Reading
 * either needs no choice: the envelope header names it.
 */
export type EnvelopeCipher = 'aes-256-gcm' | 'xchacha20-poly1305';

/** Every {@link EnvelopeCipher}, for validation and docs. */
export const ENVELOPE_CIPHERS: readonly EnvelopeCipher[] = Object.freeze([
  'aes-256-gcm',
  'xchacha20-poly1305',
]);

/** Per-service overrides, selected by the `service` option of a call (default: `config.service`). */
export interface ServiceConfig {
  /** Cipher of the service's envelopes (default: the top-level `algorithm`, itself `'aes-256-gcm'`). */
  algorithm?: EnvelopeCipher;
  /** `false` disables compression for the service; an object overrides fields of the default policy. */
  compression?: boolean | Partial<CompressionPolicy>;
  /** Context bound when a call gives none (so the service's ciphertexts are tied to it by default). */
  context?: string;
  /** Refuse (`ERR_INVALID_INPUT`) calls that give no context and have no service default. */
  requireContext?: boolean;
  /** Override `keyDerivation` for this service. */
  keyDerivation?: boolean;
  /** Override the top-level `padding` for this service (`false` turns it off here). */
  padding?: PaddingConfig;
}

/** Fernet mode settings. */
export interface FernetConfig {
  /** Offer `enc.fernet` and read Fernet tokens in `decrypt`. Default `true`. */
  enabled?: boolean;
  /** Default TTL in seconds applied when a decrypt call gives none; absent = no TTL (Fernet's default). */
  ttl?: number;
}

/**
 * Configuration of {@link createEncryption}.
 *
 * @example
 * ```ts
 * const enc = await createEncryption({
 *   service: 'orders',
 *   keyStore: new FileKeyStore({ path: '.mesh/keyring.json' }),
 *   kek: { env: 'MESH_KEK' },
 *   rotation: { interval: '24h', retention: '7d' },
 *   compression: { thresholdBytes: 1024, services: { payments: { enabled: false } } },
 * });
 * ```
 */
export interface EncryptionConfig {
  /** Name of the calling service: default for the `service` option, HKDF info for derived subkeys. Default `'default'`. */
  service?: string;
  /** Use this key manager (shared with other facades); the facade then does not close it. */
  keyManager?: KeyManager;
  /** Where the sealed keyring lives. Default: a new in-memory store (keys die with the process). */
  keyStore?: KeyStore;
  /** KEK sealing the keyring. Required with `keyStore`; default with the memory store: a random key. */
  kek?: KekSource;
  /** Keyring name inside the store. Default `'default'`. */
  keyring?: string;
  /**
   * Cipher of envelopes for services without their own `algorithm`: `'aes-256-gcm'` (default) or
   * `'xchacha20-poly1305'`. Streams are AES-256-GCM (0x03) whatever this says (docs/FORMAT.md says why).
   */
  algorithm?: EnvelopeCipher;
  /** AES key size in bits: only 256 (AES-256-GCM). Other values are rejected. */
  keySize?: 256;
  /** PBKDF2-HMAC-SHA256 iterations for a passphrase KEK. Default 600,000 (OWASP 2023); 100,000 to 10,000,000. */
  pbkdf2Iterations?: number;
  /** Rotation and retention (see `@mesh/keys`). */
  rotation?: RotationPolicy;
  /** `false` turns compression off; an object tunes it. Default: on, 1 KiB threshold. */
  compression?: boolean | CompressionConfig;
  /**
   * Length hiding: pad every payload (after compression) to a bucket, `{ multipleOf: N }` or
   * `{ powerOfTwo: true, minBytes?, maxBytes? }`, so the ciphertext length reveals only the bucket. Applies to
   * envelopes (0x01, 0x05), RSA (0x02, 0x04) and streams (0x03, last segment); not to Fernet, whose format has
   * no flag for it. Default `false`; `services.<name>.padding` overrides it.
   */
  padding?: PaddingConfig;
  /** Encrypt under HKDF-SHA256(data key, info = service name) instead of the data key itself. Default `false`. */
  keyDerivation?: boolean;
  /** Offer `encryptFor` / `decryptWith`. Default `true`. */
  asymmetric?: boolean;
  /** `false` turns Fernet mode off; an object tunes it. Default: on, no TTL. */
  fernet?: boolean | FernetConfig;
  /** Per-service overrides. */
  services?: Record<string, ServiceConfig>;
  /** Metrics sink (wrapped so it can never fail an operation). Default: no-op. */
  metrics?: MetricsCollector;
  /** Clock in ms since the epoch (tests). Default `Date.now`. */
  clock?: () => number;
}

/** Resolved per-service behaviour (everything but compression, which depends on the context too). */
export interface ResolvedService {
  readonly name: string;
  /** Cipher of this service's envelopes. */
  readonly algorithm: EnvelopeCipher;
  /** Context bound when a call gives none. */
  readonly context: string | undefined;
  readonly requireContext: boolean;
  readonly keyDerivation: boolean;
  /** The service's padding policy; `undefined` = no padding. */
  readonly padding: PaddingPolicy | undefined;
}

/** The validated, frozen configuration the facade reads on its hot path. */
export interface ResolvedConfig {
  readonly service: string;
  /** Every cipher some service encrypts with (the default's first): the keyring keeps a primary for each. */
  readonly ciphers: readonly EnvelopeCipher[];
  readonly keyring: string;
  readonly keySize: 256;
  readonly pbkdf2Iterations: number;
  readonly rotation: RotationPolicy | undefined;
  readonly asymmetric: boolean;
  readonly fernet: { readonly enabled: boolean; readonly ttl: number | undefined };
  /** Behaviour of a service; services without overrides get the defaults. */
  serviceConfig(service: string): ResolvedService;
  /** Compression policy of a call: by context (exact, then route target), else by service, else default. */
  compressionPolicy(service: string, context: string | undefined): Readonly<CompressionPolicy>;
}

/**
 * Defaults, as documented in the README table.
 *
 * @example
 * ```ts
 * DEFAULTS.compression.thresholdBytes; // 1024
 * DEFAULTS.pbkdf2Iterations; // 600000
 * ```
 */
export const DEFAULTS = Object.freeze({
  service: 'default',
  algorithm: 'aes-256-gcm' as EnvelopeCipher,
  keyring: 'default',
  keySize: 256,
  pbkdf2Iterations: 600_000,
  compression: DEFAULT_COMPRESSION_POLICY,
  keyDerivation: false,
  asymmetric: true,
  fernetEnabled: true,
});

/** Bounds on PBKDF2 iterations: below 100k is too weak for a KEK; above 10M is a denial of service. */
export const MIN_PBKDF2_ITERATIONS = 100_000;
/** Upper bound on PBKDF2 iterations (crypto-core's `MAX_PBKDF2_ITERATIONS`). */
export const MAX_PBKDF2_ITERATIONS = 10_000_000;

const TOP_LEVEL_KEYS = [
  'service',
  'algorithm',
  'keyManager',
  'keyStore',
  'kek',
  'keyring',
  'keySize',
  'pbkdf2Iterations',
  'rotation',
  'compression',
  'padding',
  'keyDerivation',
  'asymmetric',
  'fernet',
  'services',
  'metrics',
  'clock',
];
const POLICY_KEYS = ['enabled', 'thresholdBytes', 'level', 'minSavingsRatio', 'maxInflatedBytes'];
const ROTATION_KEYS = [
  'interval',
  'maxEncryptionsPerKey',
  'retention',
  'maxRetainedKeys',
  'minDecryptionVersion',
  'usageLeaseSize',
];

/**
 * Validate a configuration and resolve every default. Throws `ERR_CONFIG_INVALID` naming the field.
 *
 * @example
 * ```ts
 * resolveConfig({ keySize: 128 as 256 }); // throws: invalid config keySize: must be 256 ...
 * resolveConfig({ compression: false }).compressionPolicy('orders', undefined).enabled; // false
 * ```
 */
export function resolveConfig(config: EncryptionConfig = {}): ResolvedConfig {
  plainObject(config, 'config');
  knownKeys(config, '', TOP_LEVEL_KEYS);
  const service = optionalName(config.service, 'service') ?? DEFAULTS.service;
  const keyring = optionalName(config.keyring, 'keyring') ?? DEFAULTS.keyring;
  const algorithm = cipher(config.algorithm, 'algorithm') ?? DEFAULTS.algorithm;
  const ciphers = new Set<EnvelopeCipher>([algorithm]);

  if (config.keySize !== undefined && config.keySize !== 256) {
    throw configInvalid(
      'keySize',
      'must be 256: the envelope is AES-256-GCM only (128 and 192 are not offered)',
    );
  }
  const pbkdf2Iterations = config.pbkdf2Iterations ?? DEFAULTS.pbkdf2Iterations;
  integerIn(pbkdf2Iterations, 'pbkdf2Iterations', MIN_PBKDF2_ITERATIONS, MAX_PBKDF2_ITERATIONS);

  checkKeySource(config);
  if (config.metrics !== undefined) {
    const m = config.metrics as unknown as Record<string, unknown> | null;
    if (typeof m !== 'object' || m === null || typeof m.recordOperation !== 'function') {
      throw configInvalid(
        'metrics',
        'must be a MetricsCollector (NoopCollector, PrometheusCollector or your own)',
      );
    }
  }
  if (config.clock !== undefined && typeof config.clock !== 'function') {
    throw configInvalid('clock', 'must be a function returning ms since the epoch');
  }

  const rotation = config.rotation;
  if (rotation !== undefined) {
    plainObject(rotation, 'rotation');
    knownKeys(rotation, 'rotation', ROTATION_KEYS);
    duration(rotation.interval, 'rotation.interval');
    duration(rotation.retention, 'rotation.retention');
    if (rotation.maxEncryptionsPerKey !== undefined) {
      // NIST SP 800-38D §8.3: at most 2^32 invocations with random 96-bit nonces per key.
      integerIn(rotation.maxEncryptionsPerKey, 'rotation.maxEncryptionsPerKey', 1, 2 ** 32);
    }
    if (rotation.maxRetainedKeys !== undefined) {
      integerIn(rotation.maxRetainedKeys, 'rotation.maxRetainedKeys', 0, 1_000_000);
    }
    if (rotation.minDecryptionVersion !== undefined) {
      integerIn(rotation.minDecryptionVersion, 'rotation.minDecryptionVersion', 0, Number.MAX_SAFE_INTEGER);
    }
    if (rotation.usageLeaseSize !== undefined) {
      integerIn(rotation.usageLeaseSize, 'rotation.usageLeaseSize', 1, 2 ** 32);
    }
  }

  const keyDerivation = optionalBoolean(config.keyDerivation, 'keyDerivation') ?? DEFAULTS.keyDerivation;
  const padding = resolvePadding(config.padding, 'padding') || undefined;
  const asymmetric = optionalBoolean(config.asymmetric, 'asymmetric') ?? DEFAULTS.asymmetric;

  let fernetEnabled: boolean = DEFAULTS.fernetEnabled;
  let fernetTtl: number | undefined;
  if (typeof config.fernet === 'boolean') fernetEnabled = config.fernet;
  else if (config.fernet !== undefined) {
    plainObject(config.fernet, 'fernet');
    knownKeys(config.fernet, 'fernet', ['enabled', 'ttl']);
    fernetEnabled = optionalBoolean(config.fernet.enabled, 'fernet.enabled') ?? fernetEnabled;
    if (config.fernet.ttl !== undefined)
      integerIn(config.fernet.ttl, 'fernet.ttl', 1, Number.MAX_SAFE_INTEGER);
    fernetTtl = config.fernet.ttl;
  }

  // Compression: the default policy, then overrides keyed by service or context.
  const compression = config.compression ?? true;
  let defaultPolicy: Partial<CompressionPolicy> = {};
  const overrides: Record<string, Partial<CompressionPolicy>> = {};
  if (typeof compression === 'boolean') {
    defaultPolicy = { enabled: compression };
  } else {
    plainObject(compression, 'compression');
    knownKeys(compression, 'compression', [...POLICY_KEYS, 'services']);
    const { services: byName, ...own } = compression;
    defaultPolicy = own;
    if (byName !== undefined) {
      plainObject(byName, 'compression.services');
      for (const [name, policy] of Object.entries(byName)) {
        if (name.length === 0) throw configInvalid('compression.services', 'keys must be non-empty names');
        overrides[name] = policy;
      }
    }
  }
  const base = policyOrThrow(defaultPolicy, 'compression', DEFAULT_COMPRESSION_POLICY);

  const services = new Map<string, ResolvedService>();
  if (config.services !== undefined) {
    plainObject(config.services, 'services');
    for (const [name, own] of Object.entries(config.services)) {
      const field = `services.${name}`;
      if (name.length === 0) throw configInvalid('services', 'keys must be non-empty service names');
      plainObject(own, field);
      knownKeys(own, field, [
        'algorithm',
        'compression',
        'context',
        'requireContext',
        'keyDerivation',
        'padding',
      ]);
      const ownPadding = resolvePadding(own.padding, `${field}.padding`);
      const serviceAlgorithm = cipher(own.algorithm, `${field}.algorithm`) ?? algorithm;
      ciphers.add(serviceAlgorithm);
      if (own.compression !== undefined) {
        if (overrides[name] !== undefined) {
          throw configInvalid(`${field}.compression`, `conflicts with compression.services.${name}: set one`);
        }
        overrides[name] =
          typeof own.compression === 'boolean' ? { enabled: own.compression } : own.compression;
      }
      if (own.context !== undefined && typeof own.context !== 'string') {
        throw configInvalid(`${field}.context`, 'must be a string');
      }
      wellFormed(name, field);
      if (own.context !== undefined) wellFormed(own.context, `${field}.context`);
      services.set(
        name,
        Object.freeze({
          name,
          algorithm: serviceAlgorithm,
          context: own.context,
          requireContext: optionalBoolean(own.requireContext, `${field}.requireContext`) ?? false,
          keyDerivation: optionalBoolean(own.keyDerivation, `${field}.keyDerivation`) ?? keyDerivation,
          padding: ownPadding === undefined ? padding : ownPadding || undefined,
        }),
      );
    }
  }
  for (const [name, policy] of Object.entries(overrides)) {
    const field =
      config.services?.[name]?.compression !== undefined
        ? `services.${name}.compression`
        : `compression.services.${name}`;
    overrides[name] = policyOrThrow(policy, field, base);
  }
  const resolver = new CompressionPolicyResolver({ default: base, services: overrides });
  const defaults = (name: string): ResolvedService =>
    Object.freeze({ name, algorithm, context: undefined, requireContext: false, keyDerivation, padding });

  return Object.freeze({
    service,
    ciphers: Object.freeze([...ciphers]),
    keyring,
    keySize: 256 as const,
    pbkdf2Iterations,
    rotation: rotation === undefined ? undefined : Object.freeze({ ...rotation }),
    asymmetric,
    fernet: Object.freeze({ enabled: fernetEnabled, ttl: fernetTtl }),
    serviceConfig: (name: string) => services.get(name) ?? defaults(name),
    compressionPolicy: (name: string, context: string | undefined) => {
      const byContext = resolver.forContext(context);
      // The resolver returns its default object when nothing matched: then the service's override applies.
      return byContext === resolver.default ? resolver.forContext(name) : byContext;
    },
  });
}

/** The key manager comes from exactly one place: an existing manager, or a store (+ KEK) to open. */
function checkKeySource(config: EncryptionConfig): void {
  if (config.keyManager !== undefined) {
    const km = config.keyManager as unknown as Record<string, unknown> | null;
    if (typeof km !== 'object' || km === null || typeof km.acquireEncryptionKey !== 'function') {
      throw configInvalid('keyManager', 'must be a KeyManager from @mesh/keys');
    }
    for (const field of ['keyStore', 'kek', 'keyring', 'rotation'] as const) {
      if (config[field] !== undefined) {
        throw configInvalid(field, 'cannot be combined with keyManager (configure the KeyManager instead)');
      }
    }
    return;
  }
  if (config.keyStore !== undefined) {
    const store = config.keyStore as unknown as Record<string, unknown> | null;
    if (typeof store !== 'object' || store === null || typeof store.load !== 'function') {
      throw configInvalid('keyStore', 'must be a KeyStore (MemoryKeyStore, FileKeyStore, EtcdKeyStore)');
    }
    // A persistent store needs a KEK the next process can find again; a random one would lose every key.
    if (config.kek === undefined) throw configInvalid('kek', 'is required when keyStore is set');
  }
  if (config.kek !== undefined) plainObject(config.kek, 'kek');
}

function policyOrThrow(
  policy: Partial<CompressionPolicy>,
  field: string,
  base: Readonly<CompressionPolicy>,
): Readonly<CompressionPolicy> {
  plainObject(policy, field);
  knownKeys(policy, field, POLICY_KEYS);
  try {
    return validatePolicy(policy, field, base);
  } catch (error) {
    // Re-thrown as the facade's error (same code), keeping compression's message, which names the field.
    throw configInvalid(field, error instanceof Error ? error.message : 'invalid policy', error);
  }
}

function plainObject(value: unknown, field: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw configInvalid(field, 'must be an object');
  }
}

function knownKeys(value: object, field: string, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      throw configInvalid(field === '' ? key : `${field}.${key}`, 'is not a known option');
  }
}

function optionalName(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    throw configInvalid(field, 'must be a non-empty string of at most 256 characters');
  }
  wellFormed(value, field);
  return value;
}

function cipher(value: unknown, field: string): EnvelopeCipher | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (ENVELOPE_CIPHERS as readonly string[]).includes(value)) {
    return value as EnvelopeCipher;
  }
  throw configInvalid(field, `must be one of ${ENVELOPE_CIPHERS.map((c) => `'${c}'`).join(', ')}`);
}

/**
 * Names and contexts become bytes (HKDF info, associated data): a string that is not well-formed UTF-16 has
 * no UTF-8 encoding, and TextEncoder would silently merge it with others (lone surrogate -> U+FFFD).
 */
function wellFormed(value: string, field: string): void {
  try {
    utf8Encode(value, field);
  } catch (error) {
    throw configInvalid(field, 'must be well-formed UTF-16 (no lone surrogate)', error);
  }
}

function optionalBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw configInvalid(field, 'must be a boolean');
}

function integerIn(value: unknown, field: string, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw configInvalid(field, `must be an integer from ${min} to ${max}`);
  }
}

const DURATION = /^\d+(?:\.\d+)?\s*(ms|s|m|h|d|w)$/;

/** Same grammar as `@mesh/keys` `parseDuration`, checked here so the error names the config field. */
function duration(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= Number.MAX_SAFE_INTEGER)
    return;
  if (typeof value === 'string' && DURATION.test(value.trim())) return;
  throw configInvalid(field, "must be a number of ms or a string like '24h', '7d', '90m', '30s'");
}
