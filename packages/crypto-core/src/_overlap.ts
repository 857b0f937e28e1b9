/**
 * Overlap test for "encrypt into" entry points.
 *
 * @module
 * @internal
 */

/** True when `a` and `b` share memory and `b` does not start exactly where `a` starts. */
export function overlapsShifted(a: Uint8Array, b: Uint8Array): boolean {
  if (a.buffer !== b.buffer || a.length === 0 || b.length === 0) return false;
  const overlap = a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
  return overlap && a.byteOffset !== b.byteOffset;
}

/** True when `a` and `b` share any byte of memory. */
export function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  if (a.buffer !== b.buffer || a.length === 0 || b.length === 0) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
