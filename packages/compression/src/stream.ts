/**
 * Streaming (chunked) compression as Node `Transform` streams, for payloads too large to hold twice.
 *
 * The compressor turns any sequence of byte chunks into one zlib stream; the decompressor turns one zlib
 * stream, split anywhere, back into bytes, producing at most `maxInflatedBytes` in total. Errors are
 * `CompressionError`s with the same codes as the one-shot functions: `ERR_COMPRESSION_LIMIT` the moment the
 * output passes the limit, `ERR_COMPRESSED_DATA_INVALID` for corrupt input, for input that ends before the
 * zlib stream does (detected at the end of the writable side) and for bytes after its end.
 * Output chunks are at most 64 KiB. For a WHATWG `TransformStream`, wrap with `Duplex.toWeb(stream)`.
 *
 * @module
 */
import type { Transform } from 'node:stream';
import { assertEngine, assertLevel, assertMaxInflatedBytes, assertOptions } from './_validate.js';
import { type CompressOptions, DEFAULT_COMPRESSION_LEVEL, type DecompressOptions } from './compress.js';
import { defaultEngine } from './default-engine.js';
import { configError } from './errors.js';

/**
 * A `Transform` that compresses everything written to it into one zlib stream.
 *
 * @example
 * ```ts
 * import { createReadStream, createWriteStream } from 'node:fs';
 * import { pipeline } from 'node:stream/promises';
 * import { createCompressStream } from '@mesh/compression';
 * await pipeline(createReadStream('orders.json'), createCompressStream({ level: 6 }), createWriteStream('orders.z'));
 * ```
 */
export function createCompressStream(options?: CompressOptions): Transform {
  assertOptions(options, 'options', ['level', 'engine']);
  const level = options?.level ?? DEFAULT_COMPRESSION_LEVEL;
  assertLevel(level, 'options.level');
  const engine = options?.engine ?? defaultEngine;
  assertEngine(engine, 'options.engine');
  return engine.createDeflateStream(level);
}

/**
 * A `Transform` that inflates one zlib stream, failing with `ERR_COMPRESSION_LIMIT` once the output would
 * pass `maxInflatedBytes` (so a bomb costs at most the limit, not its inflated size).
 *
 * @example
 * ```ts
 * import { createReadStream, createWriteStream } from 'node:fs';
 * import { pipeline } from 'node:stream/promises';
 * import { createDecompressStream } from '@mesh/compression';
 * await pipeline(
 *   createReadStream('orders.z'),
 *   createDecompressStream({ maxInflatedBytes: 256 * 1024 * 1024 }),
 *   createWriteStream('orders.json'),
 * );
 * ```
 */
export function createDecompressStream(options: DecompressOptions): Transform {
  if (options === undefined) throw configError('options.maxInflatedBytes', 'is required');
  assertOptions(options, 'options', ['maxInflatedBytes', 'engine']);
  assertMaxInflatedBytes(options.maxInflatedBytes, 'options.maxInflatedBytes');
  const engine = options.engine ?? defaultEngine;
  assertEngine(engine, 'options.engine');
  return engine.createInflateStream(options.maxInflatedBytes);
}
