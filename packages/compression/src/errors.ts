/**
 * Errors thrown by `@mesh/compression`.
 *
 * docs/DESIGN.md §7: every Mesh package's errors share one shape (`name`, `code`, `cause`) and the
 * `Symbol.for('mesh.error')` marker, so crypto-core's `isMeshError(e)` recognises them without this package
 * depending on crypto-core. Codes are part of the public API (semver contract). Messages never carry payload
 * bytes: only sizes, field names and zlib's own diagnosis of the stream structure.
 *
 * @module
 */

/** The marker every Mesh error carries; `Symbol.for` makes it one symbol across duplicate installs. */
const MESH_ERROR: unique symbol = Symbol.for('mesh.error') as never;

/** Every code {@link CompressionError} can carry. */
export type CompressionErrorCode =
  /** Inflating would exceed `maxInflatedBytes` (a decompression bomb or simply too large). */
  | 'ERR_COMPRESSION_LIMIT'
  /** The input is not one complete, valid zlib (RFC 1950) stream: corrupt, truncated, trailing bytes, random. */
  | 'ERR_COMPRESSED_DATA_INVALID'
  /** A policy, option or engine is invalid; the message names the field. */
  | 'ERR_CONFIG_INVALID'
  /** The data argument is not a `Uint8Array`. */
  | 'ERR_INVALID_INPUT';

/** The codes as a runtime list (exhaustive tests, docs). */
export const COMPRESSION_ERROR_CODES: readonly CompressionErrorCode[] = Object.freeze([
  'ERR_COMPRESSION_LIMIT',
  'ERR_COMPRESSED_DATA_INVALID',
  'ERR_CONFIG_INVALID',
  'ERR_INVALID_INPUT',
]);

/**
 * The one error class of this package. Switch on `code`, never on the message.
 *
 * @example
 * ```ts
 * import { decompress, CompressionError } from '@mesh/compression';
 *
 * try {
 *   decompress(untrusted, { maxInflatedBytes: 1 << 20 });
 * } catch (e) {
 *   if (e instanceof CompressionError && e.code === 'ERR_COMPRESSION_LIMIT') console.warn('too large');
 *   else throw e;
 * }
 * ```
 */
export class CompressionError extends Error {
  /** Same value as the instance `code` type, for `err.code === CompressionError.LIMIT`-style checks. */
  static readonly LIMIT = 'ERR_COMPRESSION_LIMIT' as const;
  static readonly DATA_INVALID = 'ERR_COMPRESSED_DATA_INVALID' as const;
  static readonly CONFIG_INVALID = 'ERR_CONFIG_INVALID' as const;
  static readonly INVALID_INPUT = 'ERR_INVALID_INPUT' as const;

  override readonly name = 'CompressionError';
  readonly code: CompressionErrorCode;
  readonly [MESH_ERROR] = true as const;

  constructor(code: CompressionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * True when `error` is a {@link CompressionError}, also one thrown by a duplicate copy of this package.
 *
 * @example
 * ```ts
 * import { isCompressionError } from '@mesh/compression';
 * const limited = (e: unknown) => isCompressionError(e) && e.code === 'ERR_COMPRESSION_LIMIT';
 * ```
 */
export function isCompressionError(error: unknown): error is CompressionError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[MESH_ERROR] === true &&
    (error as { name?: unknown }).name === 'CompressionError' &&
    COMPRESSION_ERROR_CODES.includes((error as { code?: unknown }).code as CompressionErrorCode)
  );
}

/** Internal: throw `ERR_CONFIG_INVALID` naming `field`. */
export function configError(field: string, rule: string): CompressionError {
  return new CompressionError('ERR_CONFIG_INVALID', `${field} ${rule}`);
}
