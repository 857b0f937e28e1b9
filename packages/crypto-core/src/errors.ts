/**
 * Errors shared by every Mesh Encryption package.
 *
 * docs/DESIGN.md §7: one shape (`name`, `code`, `cause`) and a `Symbol.for('mesh.error')` marker so that
 * {@link isMeshError} recognises errors from any package, even across duplicate installs.
 * Codes are part of the public API (semver contract); messages never carry key material or plaintext.
 *
 * @module
 */

/** Marker placed on every Mesh error; `Symbol.for` makes it the same symbol across module copies. */
export const MESH_ERROR: unique symbol = Symbol.for('mesh.error') as never;

/** Every stable error code a Mesh package may throw. */
export type MeshErrorCode =
  | 'ERR_DECRYPTION_FAILED'
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_KEY_NOT_FOUND'
  | 'ERR_KEY_STATE'
  | 'ERR_KEYSTORE_UNAVAILABLE'
  | 'ERR_KEYSTORE_CORRUPT'
  | 'ERR_KEY_DERIVATION'
  | 'ERR_PLAINTEXT_TOO_LARGE'
  | 'ERR_COMPRESSION_LIMIT'
  | 'ERR_COMPRESSED_DATA_INVALID'
  | 'ERR_CONFIG_INVALID'
  | 'ERR_UNSUPPORTED_ALGORITHM'
  | 'ERR_INVALID_INPUT';

/** The codes as a runtime list, for exhaustive tests and docs. */
export const MESH_ERROR_CODES: readonly MeshErrorCode[] = [
  'ERR_DECRYPTION_FAILED',
  'ERR_TOKEN_MALFORMED',
  'ERR_TOKEN_EXPIRED',
  'ERR_KEY_NOT_FOUND',
  'ERR_KEY_STATE',
  'ERR_KEYSTORE_UNAVAILABLE',
  'ERR_KEYSTORE_CORRUPT',
  'ERR_KEY_DERIVATION',
  'ERR_PLAINTEXT_TOO_LARGE',
  'ERR_COMPRESSION_LIMIT',
  'ERR_COMPRESSED_DATA_INVALID',
  'ERR_CONFIG_INVALID',
  'ERR_UNSUPPORTED_ALGORITHM',
  'ERR_INVALID_INPUT',
];

/** The shape every Mesh error has, whichever package threw it. */
export interface MeshError extends Error {
  readonly code: string;
  readonly cause?: unknown;
  readonly [MESH_ERROR]: true;
}

/**
 * The one message for every authentication or padding failure. It names the possible causes, so an operator
 * knows where to look, but never says which check failed (no oracle for a remote caller): the same text for
 * a wrong key, a wrong context (associated data, label) and altered bytes.
 */
export const DECRYPTION_FAILED_MESSAGE = 'decryption failed (wrong key or context, or the data was altered)';

/**
 * Base class of every error thrown by `@mesh/*` packages that depend on crypto-core.
 *
 * @example
 * ```ts
 * try { gcm.decrypt(key, nonce, data); }
 * catch (e) { if (isMeshError(e) && e.code === 'ERR_DECRYPTION_FAILED') reject(); }
 * ```
 */
export class MeshCryptoError extends Error implements MeshError {
  override readonly name: string = 'MeshCryptoError';
  readonly code: MeshErrorCode;
  readonly [MESH_ERROR] = true as const;

  constructor(code: MeshErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Thrown for every decryption failure: wrong key, bad tag, bad padding, bad MAC. One code, one message. */
export class DecryptionError extends MeshCryptoError {
  override readonly name = 'DecryptionError';
  constructor(options?: { cause?: unknown }) {
    super('ERR_DECRYPTION_FAILED', DECRYPTION_FAILED_MESSAGE, options);
  }
}

/** True for any error thrown by a Mesh package, recognised by its `Symbol.for('mesh.error')` marker. */
export function isMeshError(error: unknown): error is MeshError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[MESH_ERROR] === true &&
    typeof (error as { code?: unknown }).code === 'string'
  );
}

/**
 * Precondition helper in the style of the AWS Encryption SDK's `needs`:
 * throws a typed error naming the rule when `condition` is false.
 */
export function needs(condition: unknown, code: MeshErrorCode, message: string): asserts condition {
  if (!condition) throw new MeshCryptoError(code, message);
}
