/**
 * Streaming encryption (envelope v1, algorithm 0x03): any size in constant memory, every cut, reorder,
 * duplicate and append detected. Node `Transform` and WHATWG `TransformStream` flavours share one engine and
 * one byte format (docs/FORMAT.md, "Streaming (0x03)").
 *
 * @module
 */
export { createNodeDecryptStream, createNodeEncryptStream } from './node.js';
export type { StreamDeps, StreamOptions } from './session.js';
export { createWebDecryptStream, createWebEncryptStream } from './web.js';
