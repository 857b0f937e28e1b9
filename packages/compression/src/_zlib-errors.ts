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

/** Join output chunks; a single chunk is returned as is (both engines hand out fresh, unshared chunks). */
export function concatChunks(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
