/**
 * The portable engine: pako 3 (a pure-JavaScript port of zlib 1.3), usable where node:zlib is not.
 *
 * The bomb guard lives in pako's `onData` hook: pako inflates into 64 KiB output chunks and hands each one
 * to `onData` before allocating the next, so throwing there stops inflation with at most one chunk allocated
 * past the limit (issue 3: "stop at the limit, never allocate past it").
 *
 * @module
 */
import { Transform, type TransformCallback } from 'node:stream';
import { Deflate, Inflate, type ZStream } from 'pako';
import { assertBytes, assertLevel, assertMaxInflatedBytes, INFLATE_CHUNK_BYTES } from './_validate.js';
import { concatChunks, invalidData, limitError, owned, trailingData, truncatedData } from './_zlib-errors.js';
import type { CompressionEngine, CompressionLevel } from './engine.js';
import { CompressionError } from './errors.js';

/** zlib format only: an explicit windowBits of 15 turns off pako's gzip auto-detection (RFC 1950 §2.2). */
const ZLIB_WINDOW_BITS = 15;

/** pako status codes (zlib.h) this module reads. */
const Z_OK = 0;
const Z_BUF_ERROR = -5;

/**
 * One pako inflater with the limit enforced in `onData`. `emit` receives each output chunk; pako never
 * writes to it again, so it may be retained, but the last one may be a view of a partly filled buffer.
 */
class LimitedInflater {
  readonly #limit: number;
  readonly #inflator: Inflate;
  #strm: ZStream | undefined;
  #total = 0;

  constructor(limit: number, emit: (chunk: Uint8Array) => void) {
    this.#limit = limit;
    this.#inflator = new Inflate({ windowBits: ZLIB_WINDOW_BITS, chunkSize: INFLATE_CHUNK_BYTES });
    this.#inflator.onStart = (strm) => {
      this.#strm = strm;
    };
    this.#inflator.onData = (chunk) => {
      this.#total += chunk.length;
      if (this.#total > this.#limit) throw limitError(this.#limit);
      emit(chunk);
    };
  }

  get ended(): boolean {
    return this.#inflator.ended;
  }

  /** Feed input; `last` tells zlib no more input follows (a stream that has not ended is then truncated). */
  push(data: Uint8Array, last: boolean): void {
    if (this.#inflator.ended) {
      // RFC 1950 §2.2: the Adler-32 trailer ends the stream; anything after it is not part of it.
      if (data.length > 0) throw trailingData();
      return;
    }
    this.#inflator.push(data, last);
    // Z_BUF_ERROR after Z_FINISH: the input ran out before the stream's end (zlib.h, inflate()).
    if (this.#inflator.err === Z_BUF_ERROR) throw truncatedData();
    if (this.#inflator.err !== Z_OK) throw invalidData(this.#inflator.msg);
    if (this.#inflator.ended) {
      if ((this.#strm?.avail_in ?? 0) > 0) throw trailingData();
    } else if (last) {
      throw truncatedData();
    }
  }
}

function inflate(data: Uint8Array, maxInflatedBytes: number): Uint8Array {
  assertBytes(data);
  assertMaxInflatedBytes(maxInflatedBytes);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const inflater = new LimitedInflater(maxInflatedBytes, (chunk) => {
    chunks.push(chunk);
    total += chunk.length;
  });
  inflater.push(data, true);
  return concatChunks(chunks, total);
}

function deflate(data: Uint8Array, level: CompressionLevel): Uint8Array {
  assertBytes(data);
  assertLevel(level);
  const deflator = new Deflate({
    level,
    windowBits: ZLIB_WINDOW_BITS,
    chunkSize: deflateChunkSize(data.length),
  });
  const chunks: Uint8Array[] = [];
  let total = 0;
  deflator.onData = (chunk) => {
    chunks.push(chunk);
    total += chunk.length;
  };
  deflator.push(data, true);
  // pako's deflate only fails on bad options or a broken onData handler, both ruled out above.
  if (deflator.err !== Z_OK)
    throw new CompressionError('ERR_CONFIG_INVALID', `deflate failed: ${deflator.msg}`);
  return concatChunks(chunks, total);
}

/**
 * Small inputs get one output chunk that fits even a stored (level 0) stream, so no join is needed; large
 * ones use 64 KiB chunks so a 1 MiB input does not reserve 1 MiB of output it will not fill.
 */
function deflateChunkSize(inputLength: number): number {
  // deflateBound-style slack: stored blocks cost 5 bytes per 64 KiB, plus the 6-byte header and trailer.
  return Math.min(inputLength + (inputLength >>> 10) + 64, INFLATE_CHUNK_BYTES);
}

class PakoDeflateStream extends Transform {
  readonly #deflator: Deflate;

  constructor(level: CompressionLevel) {
    super();
    this.#deflator = new Deflate({ level, windowBits: ZLIB_WINDOW_BITS, chunkSize: INFLATE_CHUNK_BYTES });
    this.#deflator.onData = (chunk) => {
      this.push(owned(chunk)); // pako's last chunk is a view of a partly filled output buffer
    };
  }

  override _transform(chunk: Uint8Array, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#run(chunk, false, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.#run(new Uint8Array(0), true, callback);
  }

  #run(chunk: Uint8Array, last: boolean, callback: TransformCallback): void {
    try {
      assertBytes(chunk, 'chunk');
      this.#deflator.push(chunk, last);
      if (this.#deflator.err !== Z_OK) throw new CompressionError('ERR_CONFIG_INVALID', this.#deflator.msg);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

class PakoInflateStream extends Transform {
  readonly #inflater: LimitedInflater;

  constructor(maxInflatedBytes: number) {
    super();
    this.#inflater = new LimitedInflater(maxInflatedBytes, (chunk) => {
      this.push(owned(chunk)); // pako's last chunk is a view of a partly filled output buffer
    });
  }

  override _transform(chunk: Uint8Array, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      assertBytes(chunk, 'chunk');
      this.#inflater.push(chunk, false);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    callback(this.#inflater.ended ? null : truncatedData());
  }
}

/**
 * The pako engine (portable, pure JavaScript).
 *
 * @example
 * ```ts
 * import { compress, decompress, pakoEngine } from '@mesh/compression';
 * const z = compress(new Uint8Array(1000), { engine: pakoEngine });
 * decompress(z, { maxInflatedBytes: 1000, engine: pakoEngine }).length; // 1000
 * ```
 */
export const pakoEngine: CompressionEngine = Object.freeze({
  name: 'pako',
  deflate,
  inflate,
  createDeflateStream(level: CompressionLevel): Transform {
    assertLevel(level);
    return new PakoDeflateStream(level);
  },
  createInflateStream(maxInflatedBytes: number): Transform {
    assertMaxInflatedBytes(maxInflatedBytes);
    return new PakoInflateStream(maxInflatedBytes);
  },
});
