/**
 * Internal validators shared by every entry point (noble's `utils.ts` role). Each throws
 * `ERR_CONFIG_INVALID` naming the offending field, or `ERR_INVALID_INPUT` for the data argument.
 * Messages show numbers (they are configuration, never payload) and only the type of anything else.
 *
 * @module
 */
import type { CompressionEngine, CompressionLevel } from './engine.js';
import { CompressionError, configError } from './errors.js';

/**
 * The largest `maxInflatedBytes` accepted: 4 GiB, the largest single buffer Node 20 can allocate
 * (`buffer.constants.MAX_LENGTH` on 64-bit), so a limit above it could never be honoured by a one-shot inflate.
 */
export const MAX_INFLATED_BYTES_CEILING = 2 ** 32;

/** Output chunk both engines inflate into: bounds how far past the limit a single step can allocate. */
export const INFLATE_CHUNK_BYTES = 64 * 1024;

export function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

export function assertBytes(data: unknown, field = 'data'): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new CompressionError('ERR_INVALID_INPUT', `${field} must be a Uint8Array (got ${describe(data)})`);
  }
}

export function assertLevel(level: unknown, field = 'level'): asserts level is CompressionLevel {
  if (!Number.isInteger(level) || (level as number) < 0 || (level as number) > 9) {
    throw configError(field, `must be an integer from 0 to 9 (got ${describe(level)})`);
  }
}

export function assertMaxInflatedBytes(limit: unknown, field = 'maxInflatedBytes'): asserts limit is number {
  if (
    !Number.isSafeInteger(limit) ||
    (limit as number) < 0 ||
    (limit as number) > MAX_INFLATED_BYTES_CEILING
  ) {
    throw configError(
      field,
      `must be an integer from 0 to ${MAX_INFLATED_BYTES_CEILING} (got ${describe(limit)})`,
    );
  }
}

export function assertEngine(engine: unknown, field = 'engine'): asserts engine is CompressionEngine {
  const e = engine as Partial<Record<keyof CompressionEngine, unknown>> | null;
  if (
    typeof e !== 'object' ||
    e === null ||
    typeof e.name !== 'string' ||
    typeof e.deflate !== 'function' ||
    typeof e.inflate !== 'function' ||
    typeof e.createDeflateStream !== 'function' ||
    typeof e.createInflateStream !== 'function'
  ) {
    throw configError(field, 'must be a CompressionEngine (pakoEngine, nodeZlibEngine or your own)');
  }
}

/** Options objects: reject non-objects and misspelt keys, so `{ maxInflatedByte: 1 }` never means "no limit". */
export function assertOptions(options: unknown, field: string, allowed: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw configError(field, `must be an object (got ${describe(options)})`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key))
      throw configError(`${field}.${key}`, `is not a known option (${allowed.join(', ')})`);
  }
}
