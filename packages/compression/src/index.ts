/**
 * `@mesh/compression`: zlib (RFC 1950) compression with per-service policies and a decompression-bomb guard
 * enforced while inflating. Two engines behind one interface: node:zlib (default) and pako (portable).
 *
 * @module
 */

export { MAX_INFLATED_BYTES_CEILING } from './_validate.js';
export type { CompressOptions, DecompressOptions } from './compress.js';
export { compress, DEFAULT_COMPRESSION_LEVEL, decompress } from './compress.js';
export { defaultEngine } from './default-engine.js';
export type { CompressionEngine, CompressionEngineName, CompressionLevel } from './engine.js';
export type { CompressionErrorCode } from './errors.js';
export { COMPRESSION_ERROR_CODES, CompressionError, isCompressionError } from './errors.js';
export type { MaybeCompressResult } from './maybe-compress.js';
export { maybeCompress } from './maybe-compress.js';
export { nodeZlibEngine } from './node-zlib-engine.js';
export { pakoEngine } from './pako-engine.js';
export type { CompressionPolicy } from './policy.js';
export { DEFAULT_COMPRESSION_POLICY, validatePolicy } from './policy.js';
export type { CompressionPolicyConfig } from './resolver.js';
export { CONTEXT_ROUTE_SEPARATOR, CompressionPolicyResolver } from './resolver.js';
export { createCompressStream, createDecompressStream } from './stream.js';
