/**
 * Segmenting encryptor: turns arbitrarily chunked plaintext into header || sealed segments.
 *
 * Synchronous and runtime-neutral; the Node and WHATWG adapters drive it. A segment can only be sealed once
 * it is known whether it is the last one (the flag is in its nonce), so a full segment waits until at least
 * one more byte arrives, or the input ends. Consequences: the last segment is never empty unless the whole
 * stream is, and memory stays at one segment of plaintext plus the caller's current chunk.
 *
 * @module
 */
import { aesGcmEncryptInto, MeshCryptoError, wipe } from '@mesh/crypto-core';
import { MAX_SEGMENT_INDEX, SEGMENT_TAG_LENGTH, SegmentNonce } from './format.js';

/** Receives each output chunk; the chunk is fresh and owned by the receiver. */
export type Emit = (bytes: Uint8Array) => void;

const EMPTY = new Uint8Array(0);

type BufferCtor = { allocUnsafeSlow(size: number): Uint8Array };
const NodeBuffer = (globalThis as { Buffer?: BufferCtor }).Buffer;

/**
 * An output array that the cipher overwrites completely: skip zero-filling where the runtime allows it
 * (Node's `allocUnsafeSlow`: unpooled, so no other data shares its `ArrayBuffer`).
 */
function allocate(size: number): Uint8Array {
  return NodeBuffer !== undefined ? NodeBuffer.allocUnsafeSlow(size) : new Uint8Array(size);
}

/** Seals one stream's segments under an already derived stream key. */
export class SegmentSealer {
  readonly #key: Uint8Array;
  readonly #nonce: SegmentNonce;
  readonly #segmentSize: number;
  /** One reused plaintext buffer: input chunks are copied in, never concatenated. */
  readonly #plain: Uint8Array;
  #fill = 0;
  #index = 0;
  #header: Uint8Array | undefined;
  #done = false;

  /**
   * @param streamKey the derived per-stream key (owned by the sealer, wiped on {@link dispose})
   * @param header the encoded stream header, written in front of segment 0
   */
  constructor(streamKey: Uint8Array, header: Uint8Array, noncePrefix: Uint8Array, segmentSize: number) {
    this.#key = streamKey;
    this.#header = header;
    this.#nonce = new SegmentNonce(noncePrefix);
    this.#segmentSize = segmentSize;
    this.#plain = new Uint8Array(segmentSize);
  }

  /** Consumes `chunk`, emitting every segment that is now known not to be the last. */
  write(chunk: Uint8Array, emit: Emit): void {
    const size = this.#segmentSize;
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      // A full buffer followed by at least one more byte: it is not the last segment.
      if (this.#fill === size) {
        this.#seal(this.#plain, false, emit);
        this.#fill = 0;
      }
      if (this.#fill === 0 && n - off > size) {
        // Whole segments inside a large chunk, with more bytes after them: seal in place, no copy.
        this.#seal(chunk.subarray(off, off + size), false, emit);
        off += size;
        continue;
      }
      const take = Math.min(size - this.#fill, n - off);
      this.#plain.set(chunk.subarray(off, off + take), this.#fill);
      this.#fill += take;
      off += take;
    }
  }

  /** Seals the buffered remainder as the last segment (empty only for an empty stream). */
  end(emit: Emit): void {
    this.#seal(this.#fill === 0 ? EMPTY : this.#plain.subarray(0, this.#fill), true, emit);
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

  #seal(plaintext: Uint8Array, last: boolean, emit: Emit): void {
    if (this.#done) throw new MeshCryptoError('ERR_INVALID_INPUT', 'write after the stream ended');
    if (this.#index > MAX_SEGMENT_INDEX) {
      throw new MeshCryptoError('ERR_PLAINTEXT_TOO_LARGE', 'stream exceeds 2^32 segments');
    }
    const header = this.#header;
    const headerLength = header === undefined ? 0 : header.length;
    // A fresh output per segment: it is handed to the consumer, who may hold it after we return.
    const out = allocate(headerLength + plaintext.length + SEGMENT_TAG_LENGTH);
    if (header !== undefined) {
      out.set(header, 0);
      this.#header = undefined;
    }
    aesGcmEncryptInto(this.#key, this.#nonce.set(this.#index, last), plaintext, undefined, out, headerLength);
    this.#index++;
    emit(out);
  }
}
