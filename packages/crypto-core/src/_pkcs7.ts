/**
 * PKCS#7 padding check (RFC 5652 §6.3) shared by both backends' CBC decryption.
 *
 * @module
 * @internal
 */

/**
 * Length of the PKCS#7 padding at the end of `block` (its 16-byte last block), or 0 when invalid. Branch-free
 * over the block's bytes, so the time taken does not depend on where the padding breaks (a padding oracle
 * leaks through timing as well as through errors). forge's own `unpad` accepts any count up to 64 without
 * checking the padding bytes, which Wycheproof's invalid-padding vectors catch.
 */
export function pkcs7PaddingLength(block: Uint8Array): number {
  const n = block[15]!;
  let bad = ((n - 1) >>> 31) | ((16 - n) >>> 31); // n == 0 or n > 16
  for (let i = 0; i < 16; i++) {
    // For positions inside the padding (i >= 16 - n) the byte must equal n.
    const inPad = ((15 - i - n) >>> 31) & 1;
    bad |= inPad & (((block[i]! ^ n) + 255) >>> 8); // 1 iff the byte differs from n
  }
  return bad ? 0 : n;
}
