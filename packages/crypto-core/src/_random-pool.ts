/**
 * A pool of CSPRNG output for the public per-message values we generate: AES-GCM nonces and Fernet's CBC
 * IVs. Asking the CSPRNG for 12 or 16 bytes costs about 2 µs per call in Node (the call into OpenSSL, not
 * the randomness), as much as the AES-GCM of a 1 KiB message; drawing them from a block refilled 4 KiB at a
 * time costs a copy.
 *
 * Rules the pool keeps (tested in `test/random-pool.test.ts`):
 * - every byte of a refill is handed out at most once, in order; bytes too few for a request are
 *   discarded at the next refill, never reused;
 * - a handed-out byte is zeroed in the pool at once, so the pool never holds a value already in use;
 * - bytes are copied into the caller's array: nothing returned is a view of the pool (its `.buffer` stays
 *   private).
 * Keys never come from here (they use `randomBytes`, a fresh CSPRNG call each time): the pool is for values
 * that are public once used. The refill is the platform CSPRNG, `crypto.getRandomValues` (in Node,
 * node:crypto's, i.e. OpenSSL's DRBG), whichever backend does the cipher work: the forge backend's own
 * generator (forge's JavaScript PRNG) costs more per IV than Fernet's whole AES-CBC of 1 KiB.
 *
 * @module
 * @internal
 */

/** Bytes per refill: 341 GCM nonces or 256 Fernet IVs per CSPRNG call. */
export const RANDOM_POOL_BLOCK = 4096;

/** A refill source: fills the whole array with CSPRNG output. */
export type RandomFill = (block: Uint8Array) => void;

const webCryptoFill: RandomFill = (block) => {
  globalThis.crypto.getRandomValues(block);
};

/** A block of CSPRNG output handed out front to back, each byte once. */
export class RandomPool {
  /** False where the platform has no `crypto.getRandomValues` (callers then use a backend's CSPRNG). */
  readonly available: boolean;

  readonly #block: Uint8Array;
  readonly #refill: RandomFill;
  #at: number;

  constructor(blockSize: number = RANDOM_POOL_BLOCK, refill: RandomFill = webCryptoFill) {
    this.#block = new Uint8Array(blockSize);
    this.#refill = refill;
    this.#at = blockSize; // empty: the first request refills
    this.available = refill !== webCryptoFill || typeof globalThis.crypto?.getRandomValues === 'function';
  }

  /** Writes `length` fresh random bytes into `out[offset..offset+length)`. */
  fill(out: Uint8Array, offset: number, length: number): void {
    const block = this.#block;
    if (length > block.length) {
      this.#refill(out.subarray(offset, offset + length)); // larger than a block: straight from the CSPRNG
      return;
    }
    if (block.length - this.#at < length) {
      this.#refill(block);
      this.#at = 0;
    }
    const start = this.#at;
    this.#at = start + length;
    // A byte loop beats subarray + set for nonce-sized copies (no view object per call).
    for (let i = 0; i < length; i++) {
      out[offset + i] = block[start + i]!;
      block[start + i] = 0;
    }
  }
}

/** The process-wide pool behind {@link randomNonceInto}. */
export const noncePool = new RandomPool();
