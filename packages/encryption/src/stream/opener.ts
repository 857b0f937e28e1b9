/**
 * Segmenting decryptor: turns the arbitrarily chunked segments that follow a stream header back into
 * plaintext, releasing each segment's plaintext only after its tag verified.
 *
 * Only the end of input says which segment is the last, so a full segment waits until one more byte arrives
 * (then it must open as "not last") or the input ends (then it must open as "last"). That rule alone makes
 * every cut, reorder, duplicate and append fail authentication; nothing is trial-decrypted.
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
  #buffer: Uint8Array;
  #fill = 0;
  #index = 0;
  #done = false;

  /** @param streamKey the derived per-stream key (owned by the opener, wiped on {@link dispose}) */
  constructor(streamKey: Uint8Array, noncePrefix: Uint8Array, segmentSize: number) {
    this.#key = streamKey;
    this.#nonce = new SegmentNonce(noncePrefix);
    this.#sealedSize = segmentSize + SEGMENT_TAG_LENGTH;
    // The segment size comes from a header that is not authenticated yet: do not allocate it all up front.
    this.#buffer = new Uint8Array(Math.min(this.#sealedSize, INITIAL_CAPACITY));
  }

  /** Consumes `chunk`, emitting the plaintext of every segment now known not to be the last. */
  write(chunk: Uint8Array, emit: Emit): void {
    // Anything after the last segment: the stream is not the one that was sealed.
    if (this.#done) throw new DecryptionError();
    const sealed = this.#sealedSize;
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      if (this.#fill === sealed) {
        this.#open(this.#buffer, false, emit);
        this.#fill = 0;
      }
      if (this.#fill === 0 && n - off > sealed) {
        this.#open(chunk.subarray(off, off + sealed), false, emit);
        off += sealed;
        continue;
      }
      const take = Math.min(sealed - this.#fill, n - off);
      this.#reserve(this.#fill + take);
      this.#buffer.set(chunk.subarray(off, off + take), this.#fill);
      this.#fill += take;
      off += take;
    }
  }

  /**
   * The input ended: the buffered bytes must be a segment sealed as last. Fails with `ERR_DECRYPTION_FAILED`
   * when the stream was cut (at a boundary the buffered segment was sealed as "not last"; inside one, its
   * tag is wrong or missing).
   */
  end(emit: Emit): void {
    if (this.#done) throw new DecryptionError();
    // A last segment is a tag at least; it may be empty only when it is segment 0 (the empty stream).
    if (this.#fill < SEGMENT_TAG_LENGTH || (this.#fill === SEGMENT_TAG_LENGTH && this.#index !== 0)) {
      throw new DecryptionError();
    }
    this.#open(this.#buffer.subarray(0, this.#fill), true, emit);
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
