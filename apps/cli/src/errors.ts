/**
 * How meshcrypt fails: one line on stderr, `meshcrypt: <CODE>: <message>`, and an exit code that scripts can
 * branch on. The codes of the library (`ERR_DECRYPTION_FAILED`, ...) pass through unchanged; the CLI adds its
 * own for what only a command line can get wrong (arguments, files, keyrings that are or are not there).
 *
 * @module
 */
import { isMeshError, type MeshErrorCode } from '@mesh/crypto-core';

/** Exit codes: the stable part of the interface scripts rely on. */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** The data or the keys are wrong: decryption failure, corrupt or foreign input, expired token, I/O failed. */
  DATA: 1,
  /** The command line is wrong: arguments, or a file or keyring it names that is missing, unreadable or present. */
  USAGE: 2,
} as const;

/** Exit status of a failed command. */
export type FailureExit = typeof EXIT.DATA | typeof EXIT.USAGE;

/** Error codes of the CLI itself (the library's codes are documented in `@mesh/encryption`). */
export type CliErrorCode =
  | 'ERR_USAGE'
  | 'ERR_FILE_NOT_FOUND'
  | 'ERR_FILE_ACCESS'
  | 'ERR_FILE_EXISTS'
  | 'ERR_OUTPUT'
  | 'ERR_KEYRING_NOT_FOUND'
  | 'ERR_KEYRING_EXISTS'
  | 'ERR_INPUT_TOO_LARGE'
  | 'ERR_ROTATION_TIMEOUT'
  | 'ERR_INTERRUPTED'
  | 'ERR_INTERNAL';

/** An error raised by the CLI, carrying its code and exit status. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode | MeshErrorCode;
  readonly exitCode: FailureExit;

  constructor(
    code: CliErrorCode | MeshErrorCode,
    message: string,
    exitCode: FailureExit,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** A usage error (exit 2): bad or missing arguments. */
export function usage(message: string): CliError {
  return new CliError('ERR_USAGE', message, EXIT.USAGE);
}

/** What is printed and returned for a failure. */
export interface Failure {
  readonly code: string;
  readonly message: string;
  readonly exitCode: FailureExit;
}

/** Library codes that mean the invocation was wrong rather than the data (unset KEK variable, bad KEK file). */
const USAGE_LIBRARY_CODES = new Set(['ERR_CONFIG_INVALID']);

/** Errno codes of a file named on the command line, as CLI codes. */
export function fileError(path: string, error: unknown, purpose: string): CliError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new CliError('ERR_FILE_NOT_FOUND', `${purpose} ${path} does not exist`, EXIT.USAGE, {
      cause: error,
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new CliError('ERR_FILE_ACCESS', `${purpose} ${path}: permission denied`, EXIT.USAGE, {
      cause: error,
    });
  }
  if (code === 'EISDIR') {
    return new CliError('ERR_FILE_ACCESS', `${purpose} ${path} is a directory`, EXIT.USAGE, { cause: error });
  }
  return new CliError('ERR_FILE_ACCESS', `${purpose} ${path}: ${code ?? 'cannot be read'}`, EXIT.USAGE, {
    cause: error,
  });
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').trim();
}

/**
 * The failure for any thrown value. Mesh errors keep their code and message (the library never puts key
 * material or plaintext in them); a Mesh error's own cause is added when it is a Mesh error too, because it
 * names what the local operator got wrong (a KEK of the wrong kind, the field of a damaged header). Anything
 * else is `ERR_INTERNAL` with its message only: never a stack trace.
 */
export function describeFailure(error: unknown): Failure {
  if (error instanceof CliError) {
    return { code: error.code, message: oneLine(error.message), exitCode: error.exitCode };
  }
  if (isMeshError(error)) {
    const cause = error.cause;
    const detail = isMeshError(cause) && cause.message !== error.message ? ` (${cause.message})` : '';
    return {
      code: error.code,
      message: oneLine(error.message + detail),
      exitCode: USAGE_LIBRARY_CODES.has(error.code) ? EXIT.USAGE : EXIT.DATA,
    };
  }
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'EPIPE') return { code: 'ERR_OUTPUT', message: 'output closed before the end', exitCode: 1 };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'ERR_INTERNAL', message: oneLine(message || 'unexpected failure'), exitCode: EXIT.DATA };
}
