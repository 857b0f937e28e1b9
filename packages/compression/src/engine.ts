/**
 * The engine interface: one zlib implementation behind the four operations this package needs.
 *
 * Like jose's runtime interface file, portable code (compress, policy, streams) imports only this contract;
 * `pako-engine.ts` and `node-zlib-engine.ts` are the two implementations. Both produce byte-identical zlib
 * (RFC 1950) streams at every level and each inflates the other's output; the tests prove both.
 *
 * @module
 */
import type { Transform } from 'node:stream';

/** zlib compression level: 0 stores (no compression), 1 is fastest, 9 is smallest. */
export type CompressionLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

/** Names of the built-in engines. */
export type CompressionEngineName = 'pako' | 'node-zlib';

/**
 * A zlib implementation. Every method validates its own arguments, so an engine may be called directly, but
 * `compress`/`decompress`/`createCompressStream`/`createDecompressStream` are the intended entry points.
 *
 * Contract for implementers:
 * - `deflate` writes one complete zlib stream (RFC 1950: 2-byte header, deflate data, Adler-32).
 * - `inflate` accepts exactly one complete zlib stream (no gzip, no preset dictionary, no trailing bytes),
 *   throws `ERR_COMPRESSED_DATA_INVALID` otherwise, and throws `ERR_COMPRESSION_LIMIT` as soon as the output
 *   would pass `maxInflatedBytes`, having allocated at most one output chunk (64 KiB) past the limit.
 * - The streams obey the same rules, chunk by chunk, and fail with a `CompressionError`.
 *
 * @example
 * ```ts
 * import { pakoEngine, nodeZlibEngine } from '@mesh/compression';
 * const z = nodeZlibEngine.deflate(new TextEncoder().encode('hello'), 6);
 * pakoEngine.inflate(z, 1024); // Uint8Array of 'hello'
 * ```
 */
export interface CompressionEngine {
  readonly name: CompressionEngineName | (string & {});
  deflate(data: Uint8Array, level: CompressionLevel): Uint8Array;
  inflate(data: Uint8Array, maxInflatedBytes: number): Uint8Array;
  /** A Node `Transform`: bytes in, one zlib stream out (finished when the writable side ends). */
  createDeflateStream(level: CompressionLevel): Transform;
  /** A Node `Transform`: one zlib stream in, at most `maxInflatedBytes` out. */
  createInflateStream(maxInflatedBytes: number): Transform;
}
