/**
 * The native engine: Node's built-in zlib (C zlib 1.3 in Node 20), 2-4x faster than pako on this machine
 * (see README "Benchmark"), hence the default on Node.
 *
 * Bomb guard: one-shot inflation passes `maxOutputLength`, which Node checks after every 64 KiB output chunk
 * and aborts with `ERR_BUFFER_TOO_LARGE` (mapped to `ERR_COMPRESSION_LIMIT`); the stream counts each chunk
 * zlib pushes and destroys itself at the limit, and zlib streams honour backpressure, so a slow reader never
 * makes it inflate ahead.
 *
 * @module
 */
import type { TransformCallback } from 'node:stream';
import { Deflate, deflateSync, Inflate, inflateSync, type ZlibOptions } from 'node:zlib';
import { assertBytes, assertLevel, assertMaxInflatedBytes, INFLATE_CHUNK_BYTES } from './_validate.js';
import { invalidData, limitError, owned, trailingData, truncatedData } from './_zlib-errors.js';
import type { CompressionEngine, CompressionLevel } from './engine.js';
import { isCompressionError } from './errors.js';

/** Node's zlib failures, by the `code` Node attaches (node:zlib "Errors"), mapped to this package's codes. */
function fromNodeError(error: unknown, limit: number): unknown {
  if (isCompressionError(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = (error as { message?: unknown } | null)?.message;
  switch (code) {
    case 'ERR_BUFFER_TOO_LARGE':
      return limitError(limit);
    case 'Z_BUF_ERROR':
      return truncatedData(error);
    case 'Z_DATA_ERROR':
    case 'Z_NEED_DICT':
    case 'Z_STREAM_ERROR':
      return invalidData(typeof message === 'string' ? message : String(code), error);
    default:
      return error;
  }
}

function inflate(data: Uint8Array, maxInflatedBytes: number): Uint8Array {
  assertBytes(data);
  assertMaxInflatedBytes(maxInflatedBytes);
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    // maxOutputLength must be >= 1 in Node; a limit of 0 is enforced by the length check below.
    result = inflateSync(data, {
      info: true,
      maxOutputLength: Math.max(maxInflatedBytes, 1),
      chunkSize: INFLATE_CHUNK_BYTES,
    }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
  } catch (error) {
    throw fromNodeError(error, maxInflatedBytes);
  }
  // Node stops at the end of the zlib stream and ignores what follows; RFC 1950 has nothing after Adler-32.
  if (result.engine.bytesWritten !== data.length) throw trailingData();
  if (result.buffer.length > maxInflatedBytes) throw limitError(maxInflatedBytes);
  return owned(result.buffer);
}

function deflate(data: Uint8Array, level: CompressionLevel): Uint8Array {
  assertBytes(data);
  assertLevel(level);
  return owned(deflateSync(data, { level }));
}

/** node:zlib's Deflate, emitting every chunk in memory of its own (see {@link owned}). */
class NodeDeflateStream extends Deflate {
  constructor(options: ZlibOptions) {
    super(options);
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    return super.push(chunk === null ? null : owned(chunk as Uint8Array), encoding);
  }
}

class NodeInflateStream extends Inflate {
  readonly #limit: number;
  #inflated = 0;
  #flushing = false;

  constructor(limit: number) {
    super({ chunkSize: INFLATE_CHUNK_BYTES });
    this.#limit = limit;
  }

  // zlib calls push() once per output chunk; counting here stops inflation at the first chunk past the limit.
  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (this.destroyed) return false;
    if (chunk === null) {
      // Before our flush, Node ends the readable side only when zlib reached the end of the stream but left
      // input unconsumed (node:zlib processCallback): bytes after the Adler-32 trailer, which RFC 1950 forbids.
      if (!this.#flushing) {
        this.destroy(trailingData());
        return false;
      }
    } else {
      this.#inflated += (chunk as Uint8Array).length;
      if (this.#inflated > this.#limit) {
        this.destroy(limitError(this.#limit));
        return false;
      }
    }
    // node:zlib cuts several chunks out of one 64 KiB output buffer: each chunk goes out in memory of its own.
    return super.push(chunk === null ? null : owned(chunk as Uint8Array), encoding);
  }

  override _transform(chunk: Uint8Array, encoding: BufferEncoding, callback: TransformCallback): void {
    if (!(chunk instanceof Uint8Array)) {
      callback(invalidData('stream chunks must be bytes'));
      return;
    }
    super._transform(chunk, encoding, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.#flushing = true;
    super._flush(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    super._destroy(error === null ? null : (fromNodeError(error, this.#limit) as Error), callback);
  }
}

/**
 * The node:zlib engine (native, the default on Node).
 *
 * @example
 * ```ts
 * import { compress, decompress, nodeZlibEngine } from '@mesh/compression';
 * const z = compress(new Uint8Array(1000), { engine: nodeZlibEngine, level: 1 });
 * decompress(z, { maxInflatedBytes: 1000, engine: nodeZlibEngine }).length; // 1000
 * ```
 */
export const nodeZlibEngine: CompressionEngine = Object.freeze({
  name: 'node-zlib',
  deflate,
  inflate,
  createDeflateStream(level: CompressionLevel) {
    assertLevel(level);
    return new NodeDeflateStream({ level, chunkSize: INFLATE_CHUNK_BYTES });
  },
  createInflateStream(maxInflatedBytes: number) {
    assertMaxInflatedBytes(maxInflatedBytes);
    return new NodeInflateStream(maxInflatedBytes);
  },
});
