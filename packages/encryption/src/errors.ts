/**
 * Errors of the facade, and the mapping from any failure to a stable code and a metrics reason.
 *
 * docs/DESIGN.md §7: codes are public API; messages never carry key material, plaintext or caller context.
 * Every failure leaving the facade is a {@link MeshError} (`isMeshError(e) === true`): foreign exceptions
 * (a bug, a TypeError from a runtime) are wrapped, never passed through raw.
 *
 * @module
 */
import { isMeshError, MeshCryptoError, type MeshError, type MeshErrorCode } from '@mesh/crypto-core';

/**
 * The error class the facade throws for its own checks (format, input types, configuration).
 * Errors from lower layers (`DecryptionError`, `KeyError`, compression limits) pass through unchanged:
 * they already carry their stable `code`.
 *
 * @example
 * ```ts
 * try { await enc.decrypt(blob); }
 * catch (e) { if (isMeshError(e) && e.code === 'ERR_TOKEN_MALFORMED') return badRequest(); }
 * ```
 */
export class EncryptionError extends MeshCryptoError {
  override readonly name: string = 'EncryptionError';
}

/** Input is not a well-formed envelope or token (too short, bad base64url, impossible lengths, unknown flags). */
export function malformed(message: string, cause?: unknown): EncryptionError {
  return new EncryptionError('ERR_TOKEN_MALFORMED', message, cause === undefined ? undefined : { cause });
}

/** The envelope names a version or algorithm this call does not handle. */
export function unsupported(message: string): EncryptionError {
  return new EncryptionError('ERR_UNSUPPORTED_ALGORITHM', message);
}

/** An argument has the wrong type or shape (a number where bytes were expected, an empty context ...). */
export function invalidInput(message: string): EncryptionError {
  return new EncryptionError('ERR_INVALID_INPUT', message);
}

/** A configuration value is invalid; `field` is the dotted path of the offending setting. */
export function configInvalid(field: string, message: string, cause?: unknown): EncryptionError {
  return new EncryptionError(
    'ERR_CONFIG_INVALID',
    `invalid config ${field}: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Make sure whatever escapes the facade is a Mesh error with a stable code. A foreign error (which should
 * not happen) becomes `ERR_INVALID_INPUT` with the original kept as `cause` for debugging.
 */
export function toMeshError(error: unknown): MeshError {
  if (isMeshError(error)) return error;
  return new EncryptionError('ERR_INVALID_INPUT', 'operation failed', { cause: error });
}

/** Re-exported for `switch (err.code)` narrowing in user code. */
export type { MeshErrorCode };
