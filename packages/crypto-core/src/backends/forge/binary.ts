/**
 * Conversions between `Uint8Array` and forge's "binary strings" (one char per byte, 0..255).
 * Pure JavaScript (no Buffer) so the forge backend runs where Node's APIs do not.
 *
 * @module
 * @internal
 */

/** Bytes per `String.fromCharCode.apply` call: well below engines' argument-count limits. */
const APPLY_CHUNK = 8192;

/** Bytes to a forge binary string. */
export function toBinary(bytes: Uint8Array): string {
  if (bytes.length <= APPLY_CHUNK) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += APPLY_CHUNK) {
    parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + APPLY_CHUNK) as unknown as number[]));
  }
  return parts.join('');
}

/** Write a forge binary string into `out` at `offset`; returns the offset just past it. */
export function writeBinary(binary: string, out: Uint8Array, offset: number): number {
  for (let i = 0; i < binary.length; i++) out[offset + i] = binary.charCodeAt(i);
  return offset + binary.length;
}

/** A forge binary string to new bytes. */
export function fromBinary(binary: string): Uint8Array {
  const out = new Uint8Array(binary.length);
  writeBinary(binary, out, 0);
  return out;
}
