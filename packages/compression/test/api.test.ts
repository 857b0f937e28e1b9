import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import {
  COMPRESSION_ERROR_CODES,
  CompressionError,
  compress,
  decompress,
  isCompressionError,
  nodeZlibEngine,
  pakoEngine,
} from '../src/index.js';
import { thrown } from './helpers/engine-suite.js';

/** crypto-core's isMeshError, restated: this package must satisfy it without depending on crypto-core. */
function isMeshError(e: unknown): boolean {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as Record<symbol, unknown>)[Symbol.for('mesh.error')] === true &&
    typeof (e as { code?: unknown }).code === 'string'
  );
}

describe('CompressionError', () => {
  it('has the shared Mesh error shape', () => {
    const cause = new Error('inner');
    const e = new CompressionError('ERR_COMPRESSION_LIMIT', 'too big', { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('CompressionError');
    expect(e.code).toBe('ERR_COMPRESSION_LIMIT');
    expect(e.cause).toBe(cause);
    expect(isMeshError(e)).toBe(true);
    expect(isCompressionError(e)).toBe(true);
    expect(CompressionError.LIMIT).toBe('ERR_COMPRESSION_LIMIT');
  });

  it('isCompressionError recognises a look-alike from a duplicate install, and rejects others', () => {
    const foreign = Object.assign(new Error('x'), {
      name: 'CompressionError',
      code: 'ERR_COMPRESSED_DATA_INVALID',
      [Symbol.for('mesh.error')]: true,
    });
    expect(isCompressionError(foreign)).toBe(true);
    expect(isCompressionError(new Error('x'))).toBe(false);
    expect(isCompressionError({ ...foreign, code: 'ERR_OTHER' })).toBe(false);
    expect(isCompressionError(null)).toBe(false);
  });

  it('lists exactly the codes it throws', () => {
    expect([...COMPRESSION_ERROR_CODES].sort()).toEqual(
      [
        'ERR_COMPRESSED_DATA_INVALID',
        'ERR_COMPRESSION_LIMIT',
        'ERR_CONFIG_INVALID',
        'ERR_INVALID_INPUT',
      ].sort(),
    );
  });

  it('zlib failures keep their cause (node engine) and messages hold no payload bytes', () => {
    const secret = new TextEncoder().encode('SECRET-TOKEN-1234 '.repeat(20));
    const z = compress(secret, { engine: nodeZlibEngine });
    for (const engine of [pakoEngine, nodeZlibEngine]) {
      for (const bad of [
        z.subarray(0, z.length - 5),
        Uint8Array.of(...z.subarray(0, 10), 0xff, 0xff, 0xff),
      ]) {
        const e = thrown(() => decompress(bad, { maxInflatedBytes: 1 << 20, engine }));
        expect(e.code).toBe('ERR_COMPRESSED_DATA_INVALID');
        expect(e.message).not.toContain('SECRET');
      }
      const limit = thrown(() => decompress(z, { maxInflatedBytes: 10, engine }));
      expect(limit.message).not.toContain('SECRET');
    }
  });
});

describe('argument validation', () => {
  it('data must be a Uint8Array: ERR_INVALID_INPUT', () => {
    for (const bad of ['text', null, undefined, [1, 2], new ArrayBuffer(4)]) {
      expect(thrown(() => compress(bad as never)).code).toBe('ERR_INVALID_INPUT');
      expect(thrown(() => decompress(bad as never, { maxInflatedBytes: 1 })).code).toBe('ERR_INVALID_INPUT');
      expect(thrown(() => pakoEngine.inflate(bad as never, 1)).code).toBe('ERR_INVALID_INPUT');
    }
  });

  it('options are checked and named: level, maxInflatedBytes (required), engine, unknown keys', () => {
    const data = new Uint8Array(10);
    const cases: [() => unknown, RegExp][] = [
      [
        () => compress(data, { level: 10 as never }),
        /^options\.level must be an integer from 0 to 9 \(got 10\)/,
      ],
      [() => compress(data, { level: -1 as never }), /^options\.level /],
      [() => compress(data, { engine: { name: 'x' } as never }), /^options\.engine /],
      [() => compress(data, { levle: 1 } as never), /^options\.levle is not a known option/],
      [() => compress(data, 5 as never), /^options must be an object/],
      [() => decompress(data, undefined as never), /^options\.maxInflatedBytes is required/],
      [() => decompress(data, {} as never), /^options\.maxInflatedBytes /],
      [() => decompress(data, { maxInflatedBytes: Number.NaN }), /^options\.maxInflatedBytes /],
      [() => decompress(data, { maxInflatedBytes: -1 }), /^options\.maxInflatedBytes /],
      [() => decompress(data, { maxInflatedBytes: 2 ** 33 }), /^options\.maxInflatedBytes /],
      [
        () => decompress(data, { maxInflatedBytes: 1, maxInflatedByte: 1 } as never),
        /^options\.maxInflatedByte /,
      ],
      [() => nodeZlibEngine.inflate(data, Number.POSITIVE_INFINITY), /^maxInflatedBytes /],
      [() => pakoEngine.deflate(data, 11 as never), /^level /],
    ];
    for (const [fn, message] of cases) {
      const e = thrown(fn);
      expect(e.code).toBe('ERR_CONFIG_INVALID');
      expect(e.message).toMatch(message);
    }
  });

  it('the public surface is exactly the documented one', () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        'COMPRESSION_ERROR_CODES',
        'CONTEXT_ROUTE_SEPARATOR',
        'CompressionError',
        'CompressionPolicyResolver',
        'DEFAULT_COMPRESSION_LEVEL',
        'DEFAULT_COMPRESSION_POLICY',
        'MAX_INFLATED_BYTES_CEILING',
        'compress',
        'createCompressStream',
        'createDecompressStream',
        'decompress',
        'defaultEngine',
        'isCompressionError',
        'maybeCompress',
        'nodeZlibEngine',
        'pakoEngine',
        'validatePolicy',
      ].sort(),
    );
  });
});
