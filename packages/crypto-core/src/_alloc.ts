/**
 * Output allocation for buffers that are about to be overwritten completely.
 *
 * `Buffer.allocUnsafeSlow` skips zero-filling and never hands out a slice of Node's shared pool (whose
 * `.buffer` would expose other data). Callers must write every byte before the array escapes, or wipe it.
 *
 * @module
 * @internal
 */

/** A fresh, unpooled, uninitialised `Uint8Array` of `length` bytes (zeroed where Buffer is absent). */
export function allocUninit(length: number): Uint8Array {
  if (typeof Buffer === 'undefined') return new Uint8Array(length);
  const b = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
