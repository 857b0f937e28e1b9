/**
 * Keys from passwords: PBKDF2-HMAC-SHA256 (RFC 8018 §5.2), 600,000 iterations by default (OWASP 2023),
 * 16-byte random salts (NIST SP 800-132 §5.1 asks for at least 128 bits), and a bounded cache of derived
 * keys that is never keyed by, and never holds, the password.
 *
 * @module
 */
import {
  DEFAULT_PBKDF2_ITERATIONS,
  hmacSha256,
  MIN_ACCEPTED_PBKDF2_ITERATIONS,
  pbkdf2Sha256,
  randomBytes,
  utf8Encode,
  wipe,
} from '@mesh/crypto-core';
import { owned } from './_secret-bytes.js';
import { KeyError } from './errors.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/** Default cap on iterations accepted from stored or received parameters: bounds attacker-chosen work. */
export const DEFAULT_MAX_PASSWORD_ITERATIONS = 2_000_000;
/**
 * Fewest iterations accepted, new or from stored parameters (NIST SP 800-132 §5.2; crypto-core's
 * `MIN_ACCEPTED_PBKDF2_ITERATIONS`): a tampered parameter block cannot make a password key near-free to guess.
 */
export const MIN_PASSWORD_ITERATIONS = MIN_ACCEPTED_PBKDF2_ITERATIONS;
/** Length of salts {@link derivePasswordKey} generates. */
export const PASSWORD_SALT_LENGTH = 16;
const MIN_SALT_LENGTH = 8; // accepted from stored parameters (legacy systems); new salts are 16 bytes
const MAX_SALT_LENGTH = 1024;

/** Parameters to store beside a password-derived key's ciphertext; with the password they give the key back. */
export interface PasswordKeyParams {
  readonly algorithm: 'pbkdf2-hmac-sha256';
  readonly salt: Uint8Array;
  readonly iterations: number;
}

/**
 * A derived key and the parameters that produced it. `key` is not enumerable (JSON and `console.log` show
 * the parameters only) and owns its whole `ArrayBuffer`.
 */
export interface DerivedPasswordKey {
  readonly key: Uint8Array;
  readonly params: PasswordKeyParams;
}

/** Inputs of {@link derivePasswordKey}: omit `salt` to get a fresh random one. */
export interface DerivePasswordKeyOptions {
  salt?: Uint8Array;
  iterations?: number;
  /** Key length in bytes, default 32. */
  length?: number;
  /** Highest `iterations` accepted, default {@link DEFAULT_MAX_PASSWORD_ITERATIONS}. */
  maxIterations?: number;
}

interface Checked {
  salt: Uint8Array;
  iterations: number;
  length: number;
}

function check(password: unknown, params: DerivePasswordKeyOptions, maxIterations: number): Checked {
  if (typeof password !== 'string' || password.length === 0) {
    throw new KeyError('ERR_KEY_DERIVATION', 'password must be a non-empty string');
  }
  const iterations = params.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
  if (
    !Number.isSafeInteger(iterations) ||
    iterations < MIN_PASSWORD_ITERATIONS ||
    iterations > maxIterations
  ) {
    throw new KeyError(
      'ERR_KEY_DERIVATION',
      `iterations must be an integer in ${MIN_PASSWORD_ITERATIONS}..${maxIterations}`,
    );
  }
  const length = params.length ?? 32;
  if (!Number.isSafeInteger(length) || length < 16 || length > 64) {
    throw new KeyError('ERR_KEY_DERIVATION', 'key length must be 16..64 bytes');
  }
  let salt: Uint8Array;
  if (params.salt === undefined) {
    salt = randomBytes(PASSWORD_SALT_LENGTH);
  } else if (
    params.salt instanceof Uint8Array &&
    params.salt.length >= MIN_SALT_LENGTH &&
    params.salt.length <= MAX_SALT_LENGTH
  ) {
    salt = copyOf(params.salt);
  } else {
    throw new KeyError('ERR_KEY_DERIVATION', `salt must be ${MIN_SALT_LENGTH}..${MAX_SALT_LENGTH} bytes`);
  }
  return { salt, iterations, length };
}

async function derive(password: string, c: Checked, maxIterations: number): Promise<Uint8Array> {
  return owned(await pbkdf2Sha256(password, c.salt, c.iterations, c.length, { maxIterations }), true);
}

/**
 * The result object: `key` non-enumerable, so serialising or spreading the result never shows it, and a
 * custom `util.inspect` that prints the parameters only, so neither does printing it, even with hidden
 * properties shown (`util.inspect(x, { showHidden: true })`, `console.log('%o', x)` walk non-enumerable ones).
 */
function derived(key: Uint8Array, c: Checked): DerivedPasswordKey {
  const params: PasswordKeyParams = {
    algorithm: 'pbkdf2-hmac-sha256',
    salt: copyOf(c.salt),
    iterations: c.iterations,
  };
  const result = Object.defineProperty({ params }, 'key', { value: key, enumerable: false });
  Object.defineProperty(result, inspectSymbol, {
    value: () =>
      `DerivedPasswordKey { algorithm: '${params.algorithm}', iterations: ${params.iterations}, salt: ${params.salt.length} bytes, key: ${key.length} bytes }`,
    enumerable: false,
  });
  return result as DerivedPasswordKey;
}

/** A copy in memory of its own (never a pool slice), for every array handed to a caller. */
function copyOf(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/**
 * Derives a key from a password with PBKDF2-HMAC-SHA256 on the thread pool (it does not block the event
 * loop). Without `salt` a fresh 16-byte salt is drawn; store the returned `params` to derive the same key later.
 *
 * @throws {KeyError} `ERR_KEY_DERIVATION` for an empty password, a bad salt, or iterations outside
 *   {@link MIN_PASSWORD_ITERATIONS}..`maxIterations` (so a tampered parameter block can neither make us spin
 *   for hours nor make the key near-free to guess), checked before any derivation.
 * @example
 * ```ts
 * const { key, params } = await derivePasswordKey('correct horse battery staple');
 * const again = await derivePasswordKey('correct horse battery staple', params); // same key
 * ```
 */
export async function derivePasswordKey(
  password: string,
  params: DerivePasswordKeyOptions = {},
): Promise<DerivedPasswordKey> {
  const maxIterations = params.maxIterations ?? DEFAULT_MAX_PASSWORD_ITERATIONS;
  const c = check(password, params, maxIterations);
  const key = await derive(password, c, maxIterations);
  return derived(key, c);
}

/** Options of {@link PasswordKeyCache}. */
export interface PasswordKeyCacheOptions {
  /** Most derived keys held, default 128; the least recently used goes first. */
  maxEntries?: number;
  /** How long an entry lives after it was derived, default 5 minutes. */
  ttlMs?: number;
  /** Highest iteration count accepted, default {@link DEFAULT_MAX_PASSWORD_ITERATIONS}. */
  maxIterations?: number;
  /** ms since the epoch, default `Date.now` (inject a fake clock in tests). */
  clock?: () => number;
}

interface Entry {
  readonly key: Uint8Array;
  readonly expiresAt: number;
}

/**
 * A bounded LRU cache with TTL in front of {@link derivePasswordKey}: a hit costs one HMAC instead of
 * 600,000 iterations. Entries are keyed by HMAC-SHA256 under a random per-cache secret of
 * (password, salt, iterations, length), length-prefixed so no two inputs share a key; the password itself
 * is never stored. Concurrent misses for the same input share one derivation.
 *
 * Note that a cache key is a fast verifier of a password guess for someone who can read this process's
 * memory (as is the cached key itself, which is what the password protects): keep `ttlMs` short.
 *
 * @example
 * ```ts
 * const cache = new PasswordKeyCache({ maxEntries: 64, ttlMs: 60_000 });
 * const { key, params } = await cache.derive(password);        // fresh salt: a derivation
 * const hit = await cache.derive(password, { salt: params.salt }); // microseconds
 * ```
 */
export class PasswordKeyCache {
  readonly #entries = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<Uint8Array>>();
  readonly #secret = randomBytes(32);
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #maxIterations: number;
  readonly #clock: () => number;

  constructor(options: PasswordKeyCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 128;
    this.#ttlMs = options.ttlMs ?? 300_000;
    this.#maxIterations = options.maxIterations ?? DEFAULT_MAX_PASSWORD_ITERATIONS;
    this.#clock = options.clock ?? Date.now;
    if (!Number.isSafeInteger(this.#maxEntries) || this.#maxEntries < 1) {
      throw new KeyError('ERR_CONFIG_INVALID', 'maxEntries must be a positive integer');
    }
    if (!Number.isFinite(this.#ttlMs) || this.#ttlMs <= 0) {
      throw new KeyError('ERR_CONFIG_INVALID', 'ttlMs must be a positive number');
    }
    if (!Number.isSafeInteger(this.#maxIterations) || this.#maxIterations < 1) {
      throw new KeyError('ERR_CONFIG_INVALID', 'maxIterations must be a positive integer');
    }
  }

  /** Entries currently held (expired ones included until they are next touched). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Same contract as {@link derivePasswordKey}; `maxIterations` comes from the cache options.
   * Returns a fresh copy of the key each time (the caller may wipe it).
   */
  async derive(
    password: string,
    params: Omit<DerivePasswordKeyOptions, 'maxIterations'> = {},
  ): Promise<DerivedPasswordKey> {
    const c = check(password, params, this.#maxIterations);
    const id = this.#cacheKey(password, c);
    const result = (key: Uint8Array): DerivedPasswordKey => derived(copyOf(key), c);
    const now = this.#clock();
    const hit = this.#entries.get(id);
    if (hit) {
      this.#entries.delete(id);
      if (hit.expiresAt > now) {
        this.#entries.set(id, hit); // most recently used goes last
        return result(hit.key);
      }
      wipe(hit.key);
    }
    let p = this.#pending.get(id);
    if (!p) {
      p = derive(password, c, this.#maxIterations).then(
        (key) => {
          this.#pending.delete(id);
          // The cache holds its own copy: evicting (and wiping) it must not touch what waiters receive.
          this.#insert(id, copyOf(key));
          return key;
        },
        (e: unknown) => {
          this.#pending.delete(id);
          throw e;
        },
      );
      this.#pending.set(id, p);
    }
    return result(await p);
  }

  /** Sizes and limits only: never keys or cache ids. */
  toJSON(): { size: number; maxEntries: number; ttlMs: number } {
    return { size: this.#entries.size, maxEntries: this.#maxEntries, ttlMs: this.#ttlMs };
  }

  [inspectSymbol](): string {
    return `PasswordKeyCache { size: ${this.#entries.size}, maxEntries: ${this.#maxEntries}, ttlMs: ${this.#ttlMs} }`;
  }

  /** Drops (and wipes) every entry. */
  clear(): void {
    for (const e of this.#entries.values()) wipe(e.key);
    this.#entries.clear();
  }

  #insert(id: string, key: Uint8Array): void {
    this.#entries.delete(id);
    this.#entries.set(id, { key, expiresAt: this.#clock() + this.#ttlMs });
    while (this.#entries.size > this.#maxEntries) {
      const [oldest, entry] = this.#entries.entries().next().value as [string, Entry];
      this.#entries.delete(oldest);
      wipe(entry.key);
    }
  }

  #cacheKey(password: string, c: Checked): string {
    const pw = utf8Encode(password);
    const buf = new Uint8Array(4 + pw.length + 4 + c.salt.length + 8);
    const view = new DataView(buf.buffer);
    const saltAt = 4 + pw.length;
    const tailAt = saltAt + 4 + c.salt.length;
    view.setUint32(0, pw.length);
    buf.set(pw, 4);
    view.setUint32(saltAt, c.salt.length);
    buf.set(c.salt, saltAt + 4);
    view.setUint32(tailAt, c.iterations);
    view.setUint32(tailAt + 4, c.length);
    const mac = hmacSha256(this.#secret, buf);
    wipe(buf);
    wipe(pw);
    // A view, not Buffer.from(mac): a copy would leave this password verifier in the shared pool.
    const id = Buffer.from(mac.buffer, mac.byteOffset, mac.byteLength).toString('base64url');
    wipe(mac);
    return id;
  }
}
