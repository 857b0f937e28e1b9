/**
 * The decompression bound at its boundary, on both engines: output of exactly `maxInflatedBytes` is returned,
 * one byte more is `ERR_COMPRESSION_LIMIT`; the bound itself may be 0 to `MAX_INFLATED_BYTES_CEILING` (4 GiB),
 * one more is `ERR_CONFIG_INVALID`. The streaming form is tested the same way in `stream.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import {
  compress,
  DEFAULT_COMPRESSION_POLICY,
  decompress,
  isCompressionError,
  MAX_INFLATED_BYTES_CEILING,
  nodeZlibEngine,
  pakoEngine,
  validatePolicy,
} from '../src/index.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    expect(isCompressionError(e), `untyped error: ${String(e)}`).toBe(true);
    return (e as { code: string }).code;
  }
}

describe('maxInflatedBytes', () => {
  for (const engine of [nodeZlibEngine, pakoEngine]) {
    it(`${engine.name}: inflates exactly maxInflatedBytes and refuses one byte more`, () => {
      for (const size of [0, 1, 100_000, 200_000]) {
        const z = compress(new Uint8Array(size).fill(0x61));
        expect(decompress(z, { maxInflatedBytes: size, engine }).length, String(size)).toBe(size);
        if (size > 0) {
          expect(
            codeOf(() => decompress(z, { maxInflatedBytes: size - 1, engine })),
            String(size),
          ).toBe('ERR_COMPRESSION_LIMIT');
        }
      }
    });
  }

  it(`accepts a bound of 0 to MAX_INFLATED_BYTES_CEILING (${MAX_INFLATED_BYTES_CEILING}) and refuses one more`, () => {
    const z = compress(new Uint8Array(10));
    expect(decompress(z, { maxInflatedBytes: MAX_INFLATED_BYTES_CEILING }).length).toBe(10);
    expect(codeOf(() => decompress(z, { maxInflatedBytes: MAX_INFLATED_BYTES_CEILING + 1 }))).toBe(
      'ERR_CONFIG_INVALID',
    );
    expect(validatePolicy({ maxInflatedBytes: MAX_INFLATED_BYTES_CEILING }).maxInflatedBytes).toBe(
      MAX_INFLATED_BYTES_CEILING,
    );
    expect(codeOf(() => validatePolicy({ maxInflatedBytes: MAX_INFLATED_BYTES_CEILING + 1 }))).toBe(
      'ERR_CONFIG_INVALID',
    );
    expect(codeOf(() => decompress(z, { maxInflatedBytes: -1 }))).toBe('ERR_CONFIG_INVALID');
    expect(DEFAULT_COMPRESSION_POLICY.maxInflatedBytes).toBe(64 * 1024 * 1024);
  });
});
