/**
 * Internal: the errors both engines raise for the same conditions, and the output join, so that the two
 * engines are indistinguishable to callers (same code for the same input; the tests compare them).
 *
 * @module
 */
import { CompressionError } from './errors.js';

export function limitError(limit: number): CompressionError {
  return new CompressionError(
    'ERR_COMPRESSION_LIMIT',
    `inflated data exceeds maxInflatedBytes (${limit}); inflation stopped`,
  );
}

/** `reason` is zlib's own diagnosis ("incorrect header check", ...): it describes structure, never content. */
export function invalidData(reason: string, cause?: unknown): CompressionError {
  return new CompressionError(
    'ERR_COMPRESSED_DATA_INVALID',
    `compressed data is invalid: ${reason || 'zlib error'}`,
    cause === undefined ? undefined : { cause },
  );
}

export function truncatedData(cause?: unknown): CompressionError {
  return invalidData('unexpected end of stream (truncated)', cause);
}

export function trailingData(): CompressionError {
  return invalidData('bytes follow the end of the zlib stream');
}

/** True when `bytes` is the whole of its `ArrayBuffer`: nothing else is reachable through `.buffer`. */
export function ownsBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength;
}

/**
 * `bytes` as a plain `Uint8Array` that owns its whole buffer (the package's memory contract): the same memory
 * when it already does, else a copy into fresh memory. Engines write output chunks into larger buffers (node:zlib
 * slices one 64 KiB buffer into several chunks; pako hands out a view of a partly filled chunk), whose other
 * bytes must not be reachable from what a caller receives.
 */
export function owned(bytes: Uint8Array): Uint8Array {
  if (ownsBuffer(bytes)) {
    return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, 0, bytes.byteLength);
  }
  return new Uint8Array(bytes); // copies exactly the view's bytes into a buffer of their own
}

/** Join output chunks into one array that owns its buffer; a single owning chunk is returned as is. */
export function concatChunks(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return owned(chunks[0]!);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
