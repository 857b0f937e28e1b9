/**
 * One-shot compression in the zlib format (RFC 1950 wrapping RFC 1951 deflate).
 *
 * @module
 */
import {
  assertBytes,
  assertEngine,
  assertLevel,
  assertMaxInflatedBytes,
  assertOptions,
} from './_validate.js';
import { defaultEngine } from './default-engine.js';
import type { CompressionEngine, CompressionLevel } from './engine.js';
import { configError } from './errors.js';

/** The level used when none is given: zlib's own default (Z_DEFAULT_COMPRESSION = 6). */
export const DEFAULT_COMPRESSION_LEVEL: CompressionLevel = 6;

/** Options of {@link compress}. */
export interface CompressOptions {
  /** 0 (store) to 9 (smallest); default {@link DEFAULT_COMPRESSION_LEVEL}. */
  level?: CompressionLevel;
  /** Default {@link defaultEngine} (node:zlib). */
  engine?: CompressionEngine;
}

/** Options of {@link decompress}. */
export interface DecompressOptions {
  /**
   * Required: the most bytes inflation may produce. Enforced while inflating: it stops at the first output
   * chunk past the limit and throws `ERR_COMPRESSION_LIMIT`. Output of exactly this size is accepted.
   */
  maxInflatedBytes: number;
  /** Default {@link defaultEngine} (node:zlib). */
  engine?: CompressionEngine;
}

/**
 * Compress `data` into one zlib stream.
 *
 * @throws `ERR_INVALID_INPUT` if `data` is not a `Uint8Array`; `ERR_CONFIG_INVALID` naming a bad option.
 * @example
 * ```ts
 * import { compress } from '@mesh/compression';
 * const json = new TextEncoder().encode(JSON.stringify({ orders: Array(100).fill({ sku: 'A-1', qty: 2 }) }));
 * const z = compress(json, { level: 9 }); // z.length < json.length
 * ```
 */
export function compress(data: Uint8Array, options?: CompressOptions): Uint8Array {
  assertBytes(data);
  assertOptions(options, 'options', ['level', 'engine']);
  const level = options?.level ?? DEFAULT_COMPRESSION_LEVEL;
  assertLevel(level, 'options.level');
  const engine = options?.engine ?? defaultEngine;
  assertEngine(engine, 'options.engine');
  return engine.deflate(data, level);
}

/**
 * Inflate exactly one zlib stream, producing at most `maxInflatedBytes`.
 *
 * @throws `ERR_COMPRESSION_LIMIT` when the output would pass the limit (nothing past it is kept);
 *   `ERR_COMPRESSED_DATA_INVALID` for corrupt, truncated, gzip, dictionary or trailing-byte input;
 *   `ERR_CONFIG_INVALID` naming a bad option; `ERR_INVALID_INPUT` if `data` is not a `Uint8Array`.
 * @example
 * ```ts
 * import { compress, decompress } from '@mesh/compression';
 * const z = compress(new TextEncoder().encode('hello hello hello'));
 * new TextDecoder().decode(decompress(z, { maxInflatedBytes: 1 << 20 })); // 'hello hello hello'
 * ```
 */
export function decompress(data: Uint8Array, options: DecompressOptions): Uint8Array {
  assertBytes(data);
  if (options === undefined) throw configError('options.maxInflatedBytes', 'is required');
  assertOptions(options, 'options', ['maxInflatedBytes', 'engine']);
  assertMaxInflatedBytes(options.maxInflatedBytes, 'options.maxInflatedBytes');
  const engine = options.engine ?? defaultEngine;
  assertEngine(engine, 'options.engine');
  return engine.inflate(data, options.maxInflatedBytes);
}
