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
import { aesGcmOpenDetached, DecryptionError, wipe } from '@mesh/crypto-core';
import { stripPadding } from '../padding.js';
import { MAX_SEGMENT_INDEX, SEGMENT_TAG_LENGTH, SegmentNonce } from './format.js';
import type { Emit } from './sealer.js';

/** First allocation of the ciphertext buffer; it grows with data received, not with the claimed size. */
const INITIAL_CAPACITY = 65_536 + SEGMENT_TAG_LENGTH;

/**
 * Most caller chunks one segment may reference before its bytes are copied into the opener's own buffer
 * instead (a sealer fed directly sends two per segment: ciphertext, then tag; a file read in 64 KiB pieces
 * spans two or three). Tiny chunks thus never pile up as thousands of references.
 */
const MAX_PARTS = 4;

/** Opens one stream's segments under an already derived stream key. */
export class SegmentOpener {
  readonly #key: Uint8Array;
  readonly #nonce: SegmentNonce;
  /** Ciphertext length of a full segment: segment size plus tag. */
  readonly #sealedSize: number;
  /**
   * The current segment's bytes received so far (`#fill` in all), as views of the caller's chunks, kept
   * rather than copied: a segment that arrives as a ciphertext chunk and a tag chunk (what the sealer emits)
   * is opened straight from them. Empty while `#copied` holds the segment instead.
   */
  #parts: Uint8Array[] = [];
  /** Reused buffer for segments whose bytes had to be copied together; `#copied` says it is in use. */
  #buffer: Uint8Array;
  #copied = false;
  #fill = 0;
  /** Index of the next segment to open. */
  #index = 0;
  /** A full segment received failed as "not last": valid only if the input ends now. */
  #heldLast = false;
  /** Header flag bit1: the last segment's plaintext ends in padding, never released. */
  readonly #padded: boolean;
  #done = false;

  /**
   * @param streamKey the derived per-stream key (owned by the opener, wiped on {@link dispose})
   * @param padded the header's flag bit1: strip the last segment's padding before releasing it
   */
  constructor(streamKey: Uint8Array, noncePrefix: Uint8Array, segmentSize: number, padded = false) {
    this.#key = streamKey;
    this.#padded = padded;
    this.#nonce = new SegmentNonce(noncePrefix);
    this.#sealedSize = segmentSize + SEGMENT_TAG_LENGTH;
    // The segment size comes from a header that is not authenticated yet: do not allocate it all up front.
    this.#buffer = new Uint8Array(Math.min(this.#sealedSize, INITIAL_CAPACITY));
  }

  /**
   * Consumes `chunk`, emitting the plaintext of every full segment that opens as "not last". Views of
   * `chunk` may be kept until the segment they belong to completes: as with any Node or WHATWG stream, a
   * chunk must not be modified once written.
   */
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
        this.#parts.push(chunk.subarray(off, off + sealed));
        this.#fill = sealed;
        off += sealed;
        this.#completeFull(emit);
        continue;
      }
      const take = Math.min(sealed - this.#fill, n - off);
      this.#add(chunk.subarray(off, off + take));
      off += take;
      if (this.#fill === sealed) this.#completeFull(emit);
    }
  }

  /**
   * The input ended: what is held must be a segment sealed as last. Fails with `ERR_DECRYPTION_FAILED`
   * when the stream was cut: at a boundary nothing is held (the segment before opened as "not last"),
   * inside a segment its tag is wrong or missing.
   */
  end(emit: Emit): void {
    if (this.#done) throw new DecryptionError();
    // A last segment is a tag at least; it may be empty only when it is segment 0 (the empty stream).
    if (this.#fill < SEGMENT_TAG_LENGTH || (this.#fill === SEGMENT_TAG_LENGTH && this.#index !== 0)) {
      throw new DecryptionError();
    }
    this.#open(true, emit);
    this.#reset();
    this.#done = true;
    this.dispose();
  }

  /** True once the last segment opened. */
  get done(): boolean {
    return this.#done;
  }

  /** Wipes the stream key and drops the references to received chunks. Idempotent. */
  dispose(): void {
    wipe(this.#key);
    this.#parts = [];
  }

  /**
   * Appends a piece of the current segment, kept as a view when the segment has few pieces and either the
   * piece completes it (opened at once, nothing retained) or it is most of its own buffer (so that a small
   * tail kept until the next write does not pin a large caller chunk); copied otherwise.
   */
  #add(piece: Uint8Array): void {
    if (!this.#copied) {
      const completes = this.#fill + piece.length === this.#sealedSize;
      if (this.#parts.length < MAX_PARTS && (completes || piece.byteLength * 2 >= piece.buffer.byteLength)) {
        this.#parts.push(piece);
        this.#fill += piece.length;
        return;
      }
      this.#flatten();
    }
    this.#reserve(this.#fill + piece.length);
    this.#buffer.set(piece, this.#fill);
    this.#fill += piece.length;
  }

  /** Copies the referenced pieces into `#buffer`; from then on this segment's bytes are copied there. */
  #flatten(): void {
    this.#reserve(this.#fill);
    let o = 0;
    for (const p of this.#parts) {
      this.#buffer.set(p, o);
      o += p.length;
    }
    this.#parts = [];
    this.#copied = true;
  }

  /** A full-size segment is complete: open it as "not last"; if that fails, hold it (see the module doc). */
  #completeFull(emit: Emit): void {
    let opened: boolean;
    try {
      this.#open(false, emit);
      opened = true;
    } catch (error) {
      if (!(error instanceof DecryptionError)) throw error;
      opened = false;
    }
    if (opened) this.#reset();
    else this.#heldLast = true; // its pieces stay where they are until the input ends
  }

  /** Opens the `#fill` bytes held as segment `#index`, with or without the last flag. */
  #open(last: boolean, emit: Emit): void {
    // A valid stream never needs more than 2^32 segments (the sealer refuses to write them).
    if (this.#index > MAX_SEGMENT_INDEX) throw new DecryptionError();
    const ctLength = this.#fill - SEGMENT_TAG_LENGTH;
    const ciphertext = this.#range(0, ctLength);
    const tag = this.#range(ctLength, this.#fill);
    let plaintext = aesGcmOpenDetached(this.#key, this.#nonce.set(this.#index, last), ciphertext, tag);
    this.#index++;
    // Only the last segment carries padding (every earlier one is all data), and it is released only here,
    // after its tag verified as last: the padding bytes never reach the consumer. No marker: a forgery.
    if (last && this.#padded) plaintext = stripPadding(plaintext);
    if (plaintext.length > 0) emit(plaintext);
  }

  /**
   * Bytes `[start, end)` of the current segment as one array: a view when one piece holds them all (the
   * common case), else the pieces are copied together first.
   */
  #range(start: number, end: number): Uint8Array {
    if (!this.#copied) {
      let o = 0;
      for (const p of this.#parts) {
        if (start >= o && end <= o + p.length) return p.subarray(start - o, end - o);
        o += p.length;
      }
      this.#flatten();
    }
    return this.#buffer.subarray(start, end);
  }

  /** Forgets the segment just opened (the buffer is reused, references are dropped). */
  #reset(): void {
    this.#parts = [];
    this.#copied = false;
    this.#fill = 0;
  }

  #reserve(length: number): void {
    if (length <= this.#buffer.length) return;
    const grown = new Uint8Array(Math.min(this.#sealedSize, Math.max(length, this.#buffer.length * 2)));
    if (this.#copied) grown.set(this.#buffer.subarray(0, this.#fill), 0);
    this.#buffer = grown;
  }
}
