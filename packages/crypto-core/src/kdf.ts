/**
 * Key derivation: HKDF-SHA256 (RFC 5869) for subkeys, PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) for passwords.
 *
 * @module
 */
import { assertBytes, isIntegerIn } from './_assert.js';
import { defaultBackend } from './backends/default.js';
import type { SymmetricBackend } from './backends/types.js';
import { type BytesLike, toBytes } from './bytes.js';
import { MeshCryptoError } from './errors.js';

/** Longest HKDF-SHA256 output: 255 * HashLen (RFC 5869 §2.3). */
export const HKDF_SHA256_MAX_LENGTH = 255 * 32;
/** Default PBKDF2 iteration count: OWASP 2023 for PBKDF2-HMAC-SHA256. */
export const DEFAULT_PBKDF2_ITERATIONS = 600_000;
/**
 * Default cap on iterations accepted from stored or received parameters (bounds attacker-chosen work: about
 * 5 s of one core on node). The one source of this ceiling: PKCS#8 files, keyring KEK parameters and the
 * facade's `pbkdf2Iterations` use it too.
 */
export const MAX_PBKDF2_ITERATIONS = 10_000_000;
/**
 * Fewest iterations accepted from stored or received parameters (NIST SP 800-132 §5.2: at least 1,000):
 * encrypted PKCS#8 files, keyring KEK parameters, password-key parameters. A file or document cannot talk a
 * reader down to a near-free derivation. {@link pbkdf2Sha256} itself, a primitive, accepts any count from 1
 * (the RFC test vectors use 1 and 2).
 */
export const MIN_ACCEPTED_PBKDF2_ITERATIONS = 1_000;
/** Longest PBKDF2 output we derive (bytes); keys need 32-64, the bound keeps work and memory finite. */
export const MAX_PBKDF2_LENGTH = 1024;

/**
 * HKDF-SHA256 extract-then-expand (RFC 5869 §2.2-2.3). An empty `salt` means HashLen zero bytes (§2.2).
 * `length` must be 1..8160, else `ERR_KEY_DERIVATION`.
 *
 * @example
 * ```ts
 * import { hkdfSha256, randomBytes } from '@mesh/crypto-core';
 * const master = randomBytes(32);
 * const ordersKey = hkdfSha256(master, new Uint8Array(0), 'service:orders', 32);
 * ```
 */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: BytesLike,
  info: BytesLike,
  length: number,
  backend: SymmetricBackend = defaultBackend(),
): Uint8Array {
  assertBytes('ikm', ikm);
  if (!isIntegerIn(length, 1, HKDF_SHA256_MAX_LENGTH)) {
    throw new MeshCryptoError(
      'ERR_KEY_DERIVATION',
      `length must be an integer in [1, ${HKDF_SHA256_MAX_LENGTH}]`,
    );
  }
  return backend.hkdfSha256(ikm, toBytes(salt, 'salt'), toBytes(info, 'info'), length);
}

/** Options of {@link pbkdf2Sha256}. */
export interface Pbkdf2Options {
  /** Backend to derive with; `node` (thread pool) by default. */
  readonly backend?: SymmetricBackend;
  /** Highest iteration count accepted (default {@link MAX_PBKDF2_ITERATIONS}). */
  readonly maxIterations?: number;
}

/**
 * PBKDF2-HMAC-SHA256 (RFC 8018 §5.2), asynchronous: the node backend runs on libuv's thread pool, the forge
 * backend yields to the event loop every few milliseconds. A string password is UTF-8 encoded.
 * Iterations outside `1..maxIterations` or a length outside `1..1024` reject with `ERR_KEY_DERIVATION`.
 *
 * @example
 * ```ts
 * import { DEFAULT_PBKDF2_ITERATIONS, pbkdf2Sha256, randomBytes } from '@mesh/crypto-core';
 * const salt = randomBytes(16);
 * const key = await pbkdf2Sha256('correct horse', salt, DEFAULT_PBKDF2_ITERATIONS, 32);
 * ```
 */
export async function pbkdf2Sha256(
  password: BytesLike,
  salt: BytesLike,
  iterations: number,
  length: number,
  options: Pbkdf2Options = {},
): Promise<Uint8Array> {
  const maxIterations = options.maxIterations ?? MAX_PBKDF2_ITERATIONS;
  if (!isIntegerIn(iterations, 1, maxIterations)) {
    throw new MeshCryptoError('ERR_KEY_DERIVATION', `iterations must be an integer in [1, ${maxIterations}]`);
  }
  if (!isIntegerIn(length, 1, MAX_PBKDF2_LENGTH)) {
    throw new MeshCryptoError('ERR_KEY_DERIVATION', `length must be an integer in [1, ${MAX_PBKDF2_LENGTH}]`);
  }
  const saltBytes = toBytes(salt, 'salt');
  const passwordBytes = toBytes(password, 'password');
  const backend = options.backend ?? defaultBackend();
  try {
    return await backend.pbkdf2Sha256(passwordBytes, saltBytes, iterations, length);
  } catch (cause) {
    throw new MeshCryptoError('ERR_KEY_DERIVATION', 'PBKDF2 derivation failed', { cause });
  } finally {
    // The UTF-8 copy of a string password is ours to clear; caller-owned bytes are left alone.
    if (typeof password === 'string') passwordBytes.fill(0);
  }
}
