/**
 * Segmenting decryptor: turns the arbitrarily chunked segments that follow a stream header back into
 * plaintext, releasing each segment's plaintext only after its tag verified.
 *
 * A full-size segment is opened as soon as it is complete, as "not last". If that verifies, its plaintext is
 * released at once: a segment sealed as "not last" can never end a valid stream, so should the input stop
 * right after it, the stream fails as truncated. If it does not verify, the segment is held: it may be the
 * last one (sealed with the last flag), which only the end of input can tell; one more byte makes it a
 * failure. A shorter segment can only be the last. Each position is thus checked under at most its two
 * possible nonces, and every cut, reorder, duplicate and append fails authentication.
 *
 * @module
 */
import { aesGcmDecrypt, DecryptionError, wipe } from '@mesh/crypto-core';
import { MAX_SEGMENT_INDEX, SEGMENT_TAG_LENGTH, SegmentNonce } from './format.js';
import type { Emit } from './sealer.js';

/** First allocation of the ciphertext buffer; it grows with data received, not with the claimed size. */
const INITIAL_CAPACITY = 65_536 + SEGMENT_TAG_LENGTH;

/** Opens one stream's segments under an already derived stream key. */
export class SegmentOpener {
  readonly #key: Uint8Array;
  readonly #nonce: SegmentNonce;
  /** Ciphertext length of a full segment: segment size plus tag. */
  readonly #sealedSize: number;
  /** Reused ciphertext buffer for segments that arrive split across chunks. */
  #buffer: Uint8Array;
  #fill = 0;
  /** Index of the next segment to open. */
  #index = 0;
  /** A full segment in `#buffer` failed as "not last": valid only if the input ends now. */
  #heldLast = false;
  #done = false;

  /** @param streamKey the derived per-stream key (owned by the opener, wiped on {@link dispose}) */
  constructor(streamKey: Uint8Array, noncePrefix: Uint8Array, segmentSize: number) {
    this.#key = streamKey;
    this.#nonce = new SegmentNonce(noncePrefix);
    this.#sealedSize = segmentSize + SEGMENT_TAG_LENGTH;
    // The segment size comes from a header that is not authenticated yet: do not allocate it all up front.
    this.#buffer = new Uint8Array(Math.min(this.#sealedSize, INITIAL_CAPACITY));
  }

  /** Consumes `chunk`, emitting the plaintext of every full segment that opens as "not last". */
  write(chunk: Uint8Array, emit: Emit): void {
    // Bytes after the last segment, or after a full segment that failed as "not last": not a sealed stream.
    if (this.#done || (this.#heldLast && chunk.length > 0)) throw new DecryptionError();
    const sealed = this.#sealedSize;
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      if (this.#heldLast) throw new DecryptionError();
      if (this.#fill === 0 && n - off >= sealed) {
        // A whole segment inside the chunk: open it in place, no copy.
        const segment = chunk.subarray(off, off + sealed);
        off += sealed;
        if (!this.#tryOpenFull(segment, emit)) {
          this.#reserve(sealed);
          this.#buffer.set(segment, 0);
          this.#fill = sealed;
          this.#heldLast = true;
        }
        continue;
      }
      const take = Math.min(sealed - this.#fill, n - off);
      this.#reserve(this.#fill + take);
      this.#buffer.set(chunk.subarray(off, off + take), this.#fill);
      this.#fill += take;
      off += take;
      if (this.#fill === sealed) {
        if (this.#tryOpenFull(this.#buffer, emit)) this.#fill = 0;
        else this.#heldLast = true;
      }
    }
  }

  /**
   * The input ended: what is buffered must be a segment sealed as last. Fails with `ERR_DECRYPTION_FAILED`
   * when the stream was cut: at a boundary nothing is buffered (the segment before opened as "not last"),
   * inside a segment its tag is wrong or missing.
   */
  end(emit: Emit): void {
    if (this.#done) throw new DecryptionError();
    // A last segment is a tag at least; it may be empty only when it is segment 0 (the empty stream).
    if (this.#fill < SEGMENT_TAG_LENGTH || (this.#fill === SEGMENT_TAG_LENGTH && this.#index !== 0)) {
      throw new DecryptionError();
    }
    this.#open(this.#buffer.subarray(0, this.#fill), true, emit);
    this.#fill = 0;
    this.#done = true;
    this.dispose();
  }

  /** True once the last segment opened. */
  get done(): boolean {
    return this.#done;
  }

  /** Wipes the stream key. Idempotent. */
  dispose(): void {
    wipe(this.#key);
  }

  /** Opens a full-size segment as "not last"; false (nothing released) when it does not verify as such. */
  #tryOpenFull(segment: Uint8Array, emit: Emit): boolean {
    try {
      this.#open(segment, false, emit);
      return true;
    } catch (error) {
      if (error instanceof DecryptionError) return false;
      throw error;
    }
  }

  #open(sealedSegment: Uint8Array, last: boolean, emit: Emit): void {
    // A valid stream never needs more than 2^32 segments (the sealer refuses to write them).
    if (this.#index > MAX_SEGMENT_INDEX) throw new DecryptionError();
    const plaintext = aesGcmDecrypt(this.#key, this.#nonce.set(this.#index, last), sealedSegment, undefined);
    this.#index++;
    if (plaintext.length > 0) emit(plaintext);
  }

  #reserve(length: number): void {
    if (length <= this.#buffer.length) return;
    const grown = new Uint8Array(Math.min(this.#sealedSize, Math.max(length, this.#buffer.length * 2)));
    grown.set(this.#buffer.subarray(0, this.#fill), 0);
    this.#buffer = grown;
  }
}
