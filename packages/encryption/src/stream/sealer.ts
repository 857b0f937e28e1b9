/**
 * Segmenting encryptor: turns arbitrarily chunked plaintext into header || sealed segments.
 *
 * Synchronous and runtime-neutral; the Node and WHATWG adapters drive it. Whether a segment is the last one
 * (the flag is in its nonce) is known only when one more byte arrives or the input ends, so each full
 * segment is sealed at once as "not last" and held back until then; if the input ends instead, it is sealed
 * again as last. Consequences: the last segment is never empty unless the whole stream is; full segments are
 * sealed straight from the caller's chunk (no copy); memory stays at one segment of plaintext, one held
 * segment of ciphertext and the caller's current chunk.
 *
 * Each segment goes out as two chunks, its ciphertext then its tag (the bytes on the wire are the same as one
 * `ciphertext || tag` chunk): both are node:crypto's own output buffers, handed on without a copy.
 *
 * @module
 */
import { type AesGcmSealed, aesGcmOpenDetached, aesGcmSeal, MeshCryptoError, wipe } from '@mesh/crypto-core';
import { type PaddingPolicy, paddedLength, writePadding } from '../padding.js';
import { MAX_SEGMENT_INDEX, SegmentNonce } from './format.js';

/** Receives each output chunk; the chunk is fresh and owned by the receiver. */
export type Emit = (bytes: Uint8Array) => void;

const EMPTY = new Uint8Array(0);

/** Seals one stream's segments under an already derived stream key. */
export class SegmentSealer {
  readonly #key: Uint8Array;
  readonly #nonce: SegmentNonce;
  readonly #segmentSize: number;
  readonly #header: Uint8Array;
  /** Padding of the last segment (the header says so: flag bit1), or none. */
  readonly #padding: PaddingPolicy | undefined;
  /** One reused plaintext buffer for partial segments: chunks are copied in, never concatenated. */
  readonly #plain: Uint8Array;
  #fill = 0;
  /** Index of the next segment to seal. */
  #index = 0;
  /**
   * The latest full segment, already sealed as "not last" but held back: only the next byte (or the end of
   * input) tells whether it really is not the last. Holding ciphertext, not the caller's chunk, lets full
   * segments be sealed straight from the chunk without copying it.
   */
  #pending: AesGcmSealed | undefined;
  #headerSent = false;
  #done = false;

  /**
   * @param streamKey the derived per-stream key (owned by the sealer, wiped on {@link dispose})
   * @param header the encoded stream header, emitted (as is, not copied) before segment 0
   * @param padding pad the last segment to this policy's bucket, capped at the segment size (header flag bit1)
   */
  constructor(
    streamKey: Uint8Array,
    header: Uint8Array,
    noncePrefix: Uint8Array,
    segmentSize: number,
    padding?: PaddingPolicy,
  ) {
    this.#key = streamKey;
    this.#header = header;
    this.#padding = padding;
    this.#nonce = new SegmentNonce(noncePrefix);
    this.#segmentSize = segmentSize;
    this.#plain = new Uint8Array(segmentSize);
  }

  /** Consumes `chunk`, emitting every segment that is now known not to be the last. */
  write(chunk: Uint8Array, emit: Emit): void {
    if (this.#done) throw new MeshCryptoError('ERR_INVALID_INPUT', 'write after the stream ended');
    this.#sendHeader(emit);
    const size = this.#segmentSize;
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      // More bytes follow the held segment: it is not the last one, release it.
      if (this.#pending !== undefined) {
        const ready = this.#pending;
        this.#pending = undefined;
        emitSegment(ready, emit);
      }
      if (this.#fill === 0 && n - off >= size) {
        // A whole segment inside the caller's chunk: seal it in place, synchronously, no copy.
        this.#pending = this.#seal(chunk.subarray(off, off + size), false);
        off += size;
        continue;
      }
      const take = Math.min(size - this.#fill, n - off);
      this.#plain.set(chunk.subarray(off, off + take), this.#fill);
      this.#fill += take;
      off += take;
      if (this.#fill === size) {
        this.#pending = this.#seal(this.#plain, false);
        this.#fill = 0;
      }
    }
  }

  /**
   * Seals the remainder as the last segment (empty only for an empty unpadded stream; padded, never empty)
   * and emits what is held.
   */
  end(emit: Emit): void {
    if (this.#done) throw new MeshCryptoError('ERR_INVALID_INPUT', 'stream already ended');
    this.#sendHeader(emit);
    const pending = this.#pending;
    this.#pending = undefined;
    if (this.#padding !== undefined) {
      // The padding follows the data: a held full segment was not the last after all, and the last one is
      // the remainder (0 to size - 1 bytes), its 0x80 marker and zeros up to its bucket, at most one segment.
      if (pending !== undefined) emitSegment(pending, emit);
      const padded = Math.min(this.#segmentSize, paddedLength(this.#padding, this.#fill));
      writePadding(this.#plain, 0, this.#fill, padded);
      emitSegment(this.#seal(this.#plain.subarray(0, padded), true), emit);
    } else if (pending !== undefined && this.#fill === 0) {
      // The held segment was the last after all (the input is a multiple of the segment size): recover its
      // plaintext and seal it again under its index with the last flag. Costs two GCM passes, once a stream.
      this.#index--;
      const nonce = this.#nonce.set(this.#index, false);
      const plaintext = aesGcmOpenDetached(this.#key, nonce, pending.ciphertext, pending.tag);
      emitSegment(this.#seal(plaintext, true), emit);
      wipe(plaintext);
    } else {
      if (pending !== undefined) emitSegment(pending, emit);
      emitSegment(this.#seal(this.#fill === 0 ? EMPTY : this.#plain.subarray(0, this.#fill), true), emit);
    }
    this.#fill = 0;
    this.#done = true;
    this.dispose();
  }

  /** True once the last segment has been emitted. */
  get done(): boolean {
    return this.#done;
  }

  /** Wipes the stream key and the buffered plaintext. Idempotent. */
  dispose(): void {
    wipe(this.#key);
    wipe(this.#plain);
  }

  /**
   * The header goes out as a chunk of its own, before anything else: then the later chunks alternate between
   * a segment's ciphertext and its tag, which a decryptor fed directly opens without reassembling.
   */
  #sendHeader(emit: Emit): void {
    if (this.#headerSent) return;
    this.#headerSent = true;
    emit(this.#header);
  }

  /**
   * Seals segment `#index`. Ciphertext and tag are fresh arrays, node:crypto's own outputs (profiled: copying
   * them into a second fresh array cost about half as much as the AES work itself); they are handed to the
   * consumer, who may hold them after we return.
   */
  #seal(plaintext: Uint8Array, last: boolean): AesGcmSealed {
    if (this.#index > MAX_SEGMENT_INDEX) {
      throw new MeshCryptoError('ERR_PLAINTEXT_TOO_LARGE', 'stream exceeds 2^32 segments');
    }
    const sealed = aesGcmSeal(this.#key, this.#nonce.set(this.#index, last), plaintext);
    this.#index++;
    return sealed;
  }
}

/** A segment on the wire is `ciphertext || tag`: emitted as two chunks, never joined (an empty one is skipped). */
function emitSegment(sealed: AesGcmSealed, emit: Emit): void {
  if (sealed.ciphertext.length > 0) emit(sealed.ciphertext);
  emit(sealed.tag);
}
