/**
 * Output allocation, and the rule every returned array obeys: it owns its whole `ArrayBuffer`.
 *
 * Node's `Buffer.allocUnsafe`/`Buffer.from` hand out slices of a shared 8 KiB pool; a slice's `.buffer` is
 * the whole pool, so `new Uint8Array(out.buffer)` would show other callers' plaintexts and keys. Nothing this
 * package returns is such a slice, or a view into a larger array of ours (a plaintext next to its padding).
 *
 * @module
 * @internal
 */

/**
 * Up to this size a zero-filled `new Uint8Array` is the cheapest unpooled array (measured with a 1 KiB GCM
 * seal: 1.17x the rate of a pooled `Buffer.allocUnsafe`, while `Buffer.allocUnsafeSlow` plus a plain view
 * was 0.91x); above it, skipping the zero-fill pays.
 */
const ZERO_FILL_MAX = 64 * 1024;

/**
 * A fresh, unpooled `Uint8Array` of `length` bytes that owns its whole buffer; uninitialised above 64 KiB.
 * Callers write every byte before the array escapes, or wipe it.
 */
export function allocUninit(length: number): Uint8Array {
  if (length <= ZERO_FILL_MAX || typeof Buffer === 'undefined') return new Uint8Array(length);
  // allocUnsafeSlow skips zero-filling and never slices the shared pool.
  const b = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** True when `bytes` is the whole of its `ArrayBuffer` (nothing else reachable through `.buffer`). */
export function ownsBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength;
}

/**
 * `bytes` as a plain `Uint8Array` that owns its buffer: the same memory when it already does (no copy),
 * else a copy into fresh, unpooled memory.
 */
export function owned(bytes: Uint8Array): Uint8Array {
  if (ownsBuffer(bytes)) {
    return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, 0, bytes.byteLength);
  }
  const out = allocUninit(bytes.length);
  out.set(bytes);
  return out;
}

/** A copy into fresh, unpooled memory (`Buffer#slice` would be a view, hence not `bytes.slice()`). */
export function copyOf(bytes: Uint8Array): Uint8Array {
  const out = allocUninit(bytes.length);
  out.set(bytes);
  return out;
}
