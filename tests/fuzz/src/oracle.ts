/**
 * The oracle: what a fuzz case may and may not do. A case may return, or throw a Mesh error (`isMeshError`)
 * whose `code` is one of the project's stable codes. Everything else is a {@link Violation}: a foreign or
 * untyped throw, an unknown code, a typed error that only wraps a bug (a `TypeError` in its cause chain, or
 * the facade's catch-all), a case slower than the time bound, a promise that never settles, a case that
 * allocates past the memory bound, heap growth across batches, or a wrong result.
 *
 * @module
 */
import { isMeshError, MESH_ERROR_CODES } from '@mesh/crypto-core';

/** The kinds of contract breach the runner reports. */
export type ViolationKind =
  | 'untyped-error'
  | 'unknown-code'
  | 'wrapped-bug'
  | 'slow-case'
  | 'hang'
  | 'memory'
  | 'heap-growth'
  | 'wrong-result'
  | 'crash';

/** A case broke the contract. Thrown inside the property, so fast-check shrinks and reports it. */
export class Violation extends Error {
  override readonly name = 'Violation';
  readonly kind: ViolationKind;
  constructor(kind: ViolationKind, message: string, options?: { cause?: unknown }) {
    super(`${kind}: ${message}`, options);
    this.kind = kind;
  }
}

const KNOWN_CODES: ReadonlySet<string> = new Set(MESH_ERROR_CODES);

/** Errors the JavaScript engine throws for a programming mistake (a property of undefined, a bad length). */
const ENGINE_ERROR_NAMES = new Set(['TypeError', 'RangeError', 'ReferenceError']);
/** Node's argument-validation codes: the library handed a Node API something it did not check first. */
const NODE_ARGUMENT_CODES = new Set(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE']);

/** One line naming an error and where it was thrown (first frames of its stack), for reports. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error thrown: ${typeof error} ${safeString(error)}`;
  const frames = (error.stack ?? '')
    .split('\n')
    .slice(1, 4)
    .map((l) => l.trim())
    .join(' | ');
  const code = (error as { code?: unknown }).code;
  return `${error.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${error.message}${frames ? ` @ ${frames}` : ''}`;
}

function safeString(value: unknown): string {
  try {
    return String(value).slice(0, 200);
  } catch {
    return '(unprintable)';
  }
}

/** The first error in `error`'s cause chain that marks a bug rather than bad input, if any. */
export function bugInCauseChain(error: unknown): unknown {
  let e: unknown = error;
  for (let depth = 0; depth < 16 && e !== undefined && e !== null; depth++) {
    if (e instanceof Error || (typeof e === 'object' && e !== null)) {
      const name = (e as { name?: unknown }).name;
      const code = (e as { code?: unknown }).code;
      if (typeof name === 'string' && ENGINE_ERROR_NAMES.has(name) && typeof code !== 'string') return e;
      if (typeof code === 'string' && NODE_ARGUMENT_CODES.has(code)) return e;
      e = (e as { cause?: unknown }).cause;
    } else {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The stable code of an allowed error, or a {@link Violation}. `extraCodes` are codes a target adds (the
 * CLI's own); they must be just as stable.
 */
export function typedCode(error: unknown, extraCodes?: ReadonlySet<string>): string {
  if (error instanceof Violation) throw error;
  if (!isMeshError(error)) {
    throw new Violation('untyped-error', `not a Mesh error: ${describeError(error)}`, { cause: error });
  }
  if (!KNOWN_CODES.has(error.code) && !extraCodes?.has(error.code)) {
    throw new Violation('unknown-code', `code ${JSON.stringify(error.code)}: ${describeError(error)}`, {
      cause: error,
    });
  }
  // @mesh/encryption wraps any foreign error in ERR_INVALID_INPUT 'operation failed' (toMeshError): the
  // contract holds for the caller, but a foreign error reaching that catch-all is a bug.
  const cause = (error as { cause?: unknown }).cause;
  if (error.message === 'operation failed' && cause !== undefined && !isMeshError(cause)) {
    throw new Violation('wrapped-bug', `catch-all wrapped a foreign error: ${describeError(cause)}`, {
      cause: error,
    });
  }
  const bug = bugInCauseChain(cause);
  if (bug !== undefined) {
    throw new Violation('wrapped-bug', `${error.code} wraps ${describeError(bug)}`, { cause: error });
  }
  return error.code;
}
