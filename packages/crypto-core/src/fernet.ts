/**
 * Fernet (https://github.com/fernet/spec/blob/master/Spec.md), byte-compatible with Python's
 * `cryptography.fernet` (`Fernet`, `MultiFernet`).
 *
 * Token: base64url( 0x80 | timestamp u64 BE | IV 16 | AES-128-CBC/PKCS#7 ciphertext | HMAC-SHA256 32 ),
 * with `=` padding on output (as Python writes it) and optional on input. The key is 32 bytes: signing key
 * (first 16) and encryption key (last 16).
 *
 * Decryption order: structure checks (`ERR_TOKEN_MALFORMED`, these reveal nothing about the key), then the
 * HMAC in constant time over everything before it (`ERR_DECRYPTION_FAILED`), then, only when a `ttl` is given,
 * the age and the 60 s future clock-skew rule exactly as Python checks them (`ERR_TOKEN_EXPIRED`), and only
 * then CBC decryption and unpadding (`ERR_DECRYPTION_FAILED`). Python checks the time before the MAC; checking
 * the MAC first means an unauthenticated timestamp never changes the error.
 *
 * @module
 */
import { allocUninit, copyOf } from './_alloc.js';
import { assertBytes, isIntegerIn } from './_assert.js';
import { noncePool } from './_random-pool.js';
import { defaultBackend } from './backends/default.js';
import type { SymmetricBackend } from './backends/types.js';
import { type BytesLike, base64UrlDecode, base64UrlEncode, constantTimeEqual, toBytes } from './bytes.js';
import { DecryptionError, MeshCryptoError } from './errors.js';

/** Version byte of every Fernet token (spec: "Version"). */
export const FERNET_VERSION = 0x80;
/** Largest accepted difference (s) between a token's timestamp in the future and now (Python `_MAX_CLOCK_SKEW`). */
export const FERNET_MAX_CLOCK_SKEW = 60;
/** Fernet key length in bytes (before base64url). */
export const FERNET_KEY_LENGTH = 32;

const HEADER = 1 + 8; // version | timestamp
const IV = 16;
const MAC = 32;
const BLOCK = 16;
/** Shortest well-formed token: header, IV, one ciphertext block (PKCS#7 always adds one), MAC. */
const MIN_TOKEN = HEADER + IV + BLOCK + MAC;

/** Options of the {@link Fernet} constructor. */
export interface FernetOptions {
  /** Backend for AES-CBC, HMAC and randomness; `node` by default. */
  readonly backend?: SymmetricBackend;
  /** Current time in milliseconds since the epoch; `Date.now` by default. Inject one in tests. */
  readonly clock?: () => number;
}

/** Options of {@link Fernet.encrypt}. */
export interface FernetEncryptOptions {
  /** The 16-byte IV; random by default. Fix it only for test vectors: a repeated IV leaks equal prefixes. */
  readonly iv?: Uint8Array;
  /** Timestamp to embed, in whole seconds since the epoch; the clock's by default. */
  readonly now?: number;
}

/** Options of {@link Fernet.decrypt}. */
export interface FernetDecryptOptions {
  /** Maximum age in seconds. Without it, neither age nor clock skew is checked (as in Python). */
  readonly ttl?: number;
  /** Current time in seconds for the TTL check; the clock's by default. */
  readonly now?: number;
}

interface FernetState {
  readonly signingKey: Uint8Array;
  readonly encryptionKey: Uint8Array;
  readonly backend: SymmetricBackend;
  readonly clock: () => number;
}

// Key material lives here, not on the instance: nothing enumerable, nothing in `util.inspect` or JSON.
const states = new WeakMap<Fernet, FernetState>();

function stateOf(fernet: Fernet): FernetState {
  const state = states.get(fernet);
  if (state === undefined) throw new MeshCryptoError('ERR_INVALID_INPUT', 'not a Fernet instance');
  return state;
}

function malformed(cause?: unknown): MeshCryptoError {
  return new MeshCryptoError('ERR_TOKEN_MALFORMED', 'malformed Fernet token', cause ? { cause } : undefined);
}

function nowSeconds(state: FernetState, now: number | undefined): number {
  const t = now ?? Math.floor(state.clock() / 1000);
  if (!isIntegerIn(t, 0, Number.MAX_SAFE_INTEGER)) {
    throw new MeshCryptoError('ERR_INVALID_INPUT', 'time must be a non-negative integer number of seconds');
  }
  return t;
}

/** Spec "Token Format": decode and check structure. Throws `ERR_TOKEN_MALFORMED`. */
function parseToken(token: string | Uint8Array): Uint8Array {
  let text: string;
  if (typeof token === 'string') text = token;
  else if (token instanceof Uint8Array)
    text = Buffer.from(token.buffer, token.byteOffset, token.byteLength).toString('latin1');
  else throw new MeshCryptoError('ERR_INVALID_INPUT', 'token must be a string or a Uint8Array');
  let data: Uint8Array;
  try {
    data = base64UrlDecode(text);
  } catch (cause) {
    throw malformed(cause);
  }
  if (
    data.length < MIN_TOKEN ||
    data[0] !== FERNET_VERSION ||
    (data.length - HEADER - IV - MAC) % BLOCK !== 0
  ) {
    throw malformed();
  }
  return data;
}

function readTimestamp(data: Uint8Array): number {
  const view = new DataView(data.buffer, data.byteOffset + 1, 8);
  // Exact up to 2^53; beyond that the comparisons below still order correctly.
  return view.getUint32(0) * 2 ** 32 + view.getUint32(4);
}

/** Spec "Verifying": HMAC-SHA256 over version..ciphertext, compared in constant time. */
function verifyMac(state: FernetState, data: Uint8Array): boolean {
  const macStart = data.length - MAC;
  const expected = state.backend.hmacSha256(state.signingKey, data.subarray(0, macStart));
  return constantTimeEqual(expected, data.subarray(macStart));
}

/** TTL and clock skew as Python's `Fernet._decrypt_data` checks them. */
function checkTime(state: FernetState, timestamp: number, options: FernetDecryptOptions): void {
  if (options.ttl === undefined) return;
  const ttl = options.ttl;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0) {
    throw new MeshCryptoError('ERR_INVALID_INPUT', 'ttl must be a non-negative number of seconds');
  }
  const now = nowSeconds(state, options.now);
  if (timestamp + ttl < now) throw new MeshCryptoError('ERR_TOKEN_EXPIRED', 'token has expired');
  if (now + FERNET_MAX_CLOCK_SKEW < timestamp) {
    throw new MeshCryptoError('ERR_TOKEN_EXPIRED', 'token timestamp is too far in the future');
  }
}

/** Spec "Decryption" after the MAC was verified: AES-128-CBC, then strict PKCS#7 unpadding. */
function openVerified(state: FernetState, data: Uint8Array): Uint8Array {
  const iv = data.subarray(HEADER, HEADER + IV);
  const ciphertext = data.subarray(HEADER + IV, data.length - MAC);
  const plaintext = state.backend.cbcDecrypt(state.encryptionKey, iv, ciphertext);
  if (plaintext === undefined) throw new DecryptionError();
  return plaintext;
}

/**
 * Spec "Generating": one allocation for the token bytes, HMAC over the parts in place. Without a given IV,
 * the IV is written straight into the token from the platform CSPRNG's pool (public once used, so the pool
 * may hold it: see `_random-pool.ts`), whichever backend does the cipher work; only where the platform has no
 * `crypto.getRandomValues` does it come from the backend's own CSPRNG.
 */
function seal(
  state: FernetState,
  plaintext: Uint8Array,
  timestamp: number,
  given: Uint8Array | undefined,
): string {
  const ctLength = (Math.floor(plaintext.length / BLOCK) + 1) * BLOCK;
  const out = allocUninit(HEADER + IV + ctLength + MAC); // every byte is written below
  out[0] = FERNET_VERSION;
  const view = new DataView(out.buffer, out.byteOffset, HEADER);
  view.setUint32(1, Math.floor(timestamp / 2 ** 32));
  view.setUint32(5, timestamp >>> 0);
  let iv: Uint8Array;
  if (given === undefined && noncePool.available) {
    noncePool.fill(out, HEADER, IV);
    iv = out.subarray(HEADER, HEADER + IV);
  } else {
    iv = given ?? state.backend.randomBytes(IV);
    out.set(iv, HEADER);
  }
  const macStart = state.backend.cbcEncryptInto(state.encryptionKey, iv, plaintext, out, HEADER + IV);
  out.set(state.backend.hmacSha256(state.signingKey, out.subarray(0, macStart)), macStart);
  const text = base64UrlEncode(out);
  // Python's urlsafe_b64encode pads with '='; the spec vectors include it.
  return text + '='.repeat((4 - (text.length % 4)) % 4);
}

/** A caller's IV, checked; `undefined` when the IV is to be random (drawn in {@link seal}). */
function givenIv(iv: Uint8Array | undefined): Uint8Array | undefined {
  if (iv === undefined) return undefined;
  assertBytes('iv', iv, IV);
  return iv;
}

function decodeKey(key: string | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (typeof key === 'string') {
    try {
      bytes = base64UrlDecode(key);
    } catch {
      bytes = new Uint8Array(0); // falls through to the length error; never echo the key
    }
  } else if (key instanceof Uint8Array) {
    // Our own, unpooled copy: later changes by the caller must not change this Fernet (and `Buffer#slice`
    // would be a view of the caller's memory, possibly of the shared pool).
    bytes = copyOf(key);
  } else {
    bytes = new Uint8Array(0);
  }
  if (bytes.length !== FERNET_KEY_LENGTH) {
    bytes.fill(0);
    throw new MeshCryptoError('ERR_INVALID_INPUT', 'Fernet key must be 32 url-safe base64-encoded bytes');
  }
  return bytes;
}

/**
 * One Fernet key: encrypt to and decrypt from standard Fernet tokens.
 *
 * @example
 * ```ts
 * import { Fernet } from '@mesh/crypto-core';
 * const f = new Fernet(Fernet.generateKey());
 * const token = f.encrypt('hello');                // 'gAAAAA...' (Python reads it)
 * const plain = f.decrypt(token, { ttl: 60 });     // bytes of 'hello'
 * ```
 */
export class Fernet {
  /**
   * @param key 32 bytes, or their URL-safe base64 (padding optional). Anything else: `ERR_INVALID_INPUT`.
   */
  constructor(key: string | Uint8Array, options: FernetOptions = {}) {
    const bytes = decodeKey(key);
    states.set(this, {
      signingKey: bytes.subarray(0, 16),
      encryptionKey: bytes.subarray(16),
      backend: options.backend ?? defaultBackend(),
      clock: options.clock ?? Date.now,
    });
  }

  /**
   * A fresh random key as URL-safe base64 with `=` padding (44 characters), as Python's `generate_key()`.
   *
   * @example
   * ```ts
   * import { Fernet } from '@mesh/crypto-core';
   * const key = Fernet.generateKey(); // e.g. 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4='
   * ```
   */
  static generateKey(backend: SymmetricBackend = defaultBackend()): string {
    const key = backend.randomBytes(FERNET_KEY_LENGTH);
    const text = base64UrlEncode(key) + '=';
    key.fill(0);
    return text;
  }

  /**
   * Encrypt `data` (a string is UTF-8 encoded) into a token stamped with the current time.
   *
   * @example
   * ```ts
   * import { Fernet } from '@mesh/crypto-core';
   * const f = new Fernet(Fernet.generateKey(), { clock: () => 499_162_800_000 });
   * f.encrypt('hello'); // token whose timestamp is 499162800
   * ```
   */
  encrypt(data: BytesLike, options: FernetEncryptOptions = {}): string {
    const state = stateOf(this);
    return seal(state, toBytes(data, 'data'), nowSeconds(state, options.now), givenIv(options.iv));
  }

  /**
   * Verify and decrypt a token. Errors: `ERR_TOKEN_MALFORMED` (not a Fernet token), `ERR_DECRYPTION_FAILED`
   * (wrong key, modified token, bad padding), `ERR_TOKEN_EXPIRED` (authentic, but older than `ttl` or more
   * than 60 s in the future; checked only when `ttl` is given).
   *
   * @example
   * ```ts
   * import { Fernet, utf8Decode } from '@mesh/crypto-core';
   * const f = new Fernet(Fernet.generateKey());
   * utf8Decode(f.decrypt(f.encrypt('hi'), { ttl: 300 })); // 'hi'
   * ```
   */
  decrypt(token: string | Uint8Array, options: FernetDecryptOptions = {}): Uint8Array {
    const state = stateOf(this);
    const data = parseToken(token);
    if (!verifyMac(state, data)) throw new DecryptionError();
    checkTime(state, readTimestamp(data), options);
    return openVerified(state, data);
  }

  /**
   * The token's timestamp in seconds, after verifying its HMAC (Python's `extract_timestamp`).
   *
   * @example
   * ```ts
   * import { Fernet } from '@mesh/crypto-core';
   * const f = new Fernet(Fernet.generateKey());
   * f.extractTimestamp(f.encrypt('x', { now: 1_700_000_000 })); // 1700000000
   * ```
   */
  extractTimestamp(token: string | Uint8Array): number {
    const state = stateOf(this);
    const data = parseToken(token);
    if (!verifyMac(state, data)) throw new DecryptionError();
    return readTimestamp(data);
  }

  /** Never reveal key material when serialised (the key lives outside the instance anyway). */
  toJSON(): string {
    return 'Fernet';
  }

  /** Never reveal key material when logged: `util.inspect` shows the class name only. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Fernet {}';
  }
}

/**
 * Several Fernet keys for rotation (Python's `MultiFernet`): encrypts with the first (primary), decrypts with
 * whichever verifies, trying the primary first, and `rotate`s old tokens to the primary.
 *
 * @example
 * ```ts
 * import { Fernet, MultiFernet } from '@mesh/crypto-core';
 * const oldKey = new Fernet(Fernet.generateKey());
 * const newKey = new Fernet(Fernet.generateKey());
 * const mf = new MultiFernet([newKey, oldKey]);
 * const rotated = mf.rotate(oldKey.encrypt('data')); // now under newKey, same timestamp
 * ```
 */
export class MultiFernet {
  readonly #fernets: readonly Fernet[];

  /** @param fernets primary first; at least one, else `ERR_INVALID_INPUT`. */
  constructor(fernets: readonly Fernet[]) {
    if (!Array.isArray(fernets) || fernets.length === 0 || !fernets.every((f) => states.has(f))) {
      throw new MeshCryptoError('ERR_INVALID_INPUT', 'MultiFernet needs at least one Fernet instance');
    }
    this.#fernets = [...fernets];
  }

  /**
   * Encrypt with the primary key.
   *
   * @example
   * ```ts
   * import { Fernet, MultiFernet } from '@mesh/crypto-core';
   * new MultiFernet([new Fernet(Fernet.generateKey())]).encrypt('hello');
   * ```
   */
  encrypt(data: BytesLike, options: FernetEncryptOptions = {}): string {
    return this.#fernets[0]!.encrypt(data, options);
  }

  /**
   * Decrypt with the first key whose HMAC verifies (primary first). Errors as {@link Fernet.decrypt}; when no
   * key verifies: `ERR_DECRYPTION_FAILED`.
   *
   * @example
   * ```ts
   * import { Fernet, MultiFernet } from '@mesh/crypto-core';
   * const a = new Fernet(Fernet.generateKey());
   * const b = new Fernet(Fernet.generateKey());
   * new MultiFernet([a, b]).decrypt(b.encrypt('x')); // bytes of 'x'
   * ```
   */
  decrypt(token: string | Uint8Array, options: FernetDecryptOptions = {}): Uint8Array {
    const data = parseToken(token);
    const state = this.#verifyingState(data);
    checkTime(state, readTimestamp(data), options);
    return openVerified(state, data);
  }

  /**
   * Re-encrypt a token under the primary key with a fresh IV, keeping its original timestamp (no TTL check,
   * as Python's `rotate`).
   *
   * @example
   * ```ts
   * import { Fernet, MultiFernet } from '@mesh/crypto-core';
   * const old = new Fernet(Fernet.generateKey());
   * const mf = new MultiFernet([new Fernet(Fernet.generateKey()), old]);
   * mf.rotate(old.encrypt('x'));
   * ```
   */
  rotate(token: string | Uint8Array): string {
    const data = parseToken(token);
    const plaintext = openVerified(this.#verifyingState(data), data);
    const primary = stateOf(this.#fernets[0]!);
    try {
      return seal(primary, plaintext, readTimestamp(data), undefined);
    } finally {
      plaintext.fill(0);
    }
  }

  /**
   * The timestamp of a token that one of the keys verifies.
   *
   * @example
   * ```ts
   * import { Fernet, MultiFernet } from '@mesh/crypto-core';
   * const f = new Fernet(Fernet.generateKey());
   * new MultiFernet([f]).extractTimestamp(f.encrypt('x', { now: 42 })); // 42
   * ```
   */
  extractTimestamp(token: string | Uint8Array): number {
    const data = parseToken(token);
    this.#verifyingState(data);
    return readTimestamp(data);
  }

  /** Never reveal key material when serialised: the number of keys only. */
  toJSON(): { keys: number } {
    return { keys: this.#fernets.length };
  }

  /** Never reveal key material when logged: the number of keys only. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `MultiFernet { keys: ${this.#fernets.length} }`;
  }

  #verifyingState(data: Uint8Array): FernetState {
    for (const f of this.#fernets) {
      const state = stateOf(f);
      if (verifyMac(state, data)) return state;
    }
    throw new DecryptionError();
  }
}
