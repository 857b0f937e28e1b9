/**
 * Input checks shared by the public wrappers (noble's `utils.ts` role, aws-encryption-sdk's `needs`).
 * Messages name the parameter and its length, never its content: no key material in errors.
 *
 * @module
 * @internal
 */
import { MeshCryptoError } from './errors.js';

/** Throws `ERR_INVALID_INPUT` unless `value` is a `Uint8Array` (Buffers included) of an allowed length. */
export function assertBytes(name: string, value: unknown, ...lengths: number[]): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new MeshCryptoError('ERR_INVALID_INPUT', `${name} must be a Uint8Array`);
  }
  if (lengths.length > 0 && !lengths.includes(value.length)) {
    throw new MeshCryptoError(
      'ERR_INVALID_INPUT',
      `${name} must be ${lengths.join(' or ')} bytes long, got ${value.length}`,
    );
  }
}

/** Throws `ERR_INVALID_INPUT` unless `value` is `undefined` or a `Uint8Array`. */
export function assertOptionalBytes(name: string, value: unknown): asserts value is Uint8Array | undefined {
  if (value !== undefined) assertBytes(name, value);
}

/** True for a safe integer within `[min, max]`. */
export function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}
