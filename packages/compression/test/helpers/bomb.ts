/**
 * A real decompression bomb: one valid zlib stream of ~1 MiB that inflates to `inflatedBytes` of zeros.
 *
 * Built without ever holding the inflated data: after a full flush (zlib.h Z_FULL_FLUSH) the deflate state
 * is reset, so compressing the next MiB of zeros yields the very same block bytes. The stream is
 * zlib header | that block repeated | final empty block | Adler-32 of the zeros (RFC 1950 §2.2, §9).
 */
import { deflateRawSync, constants as z } from 'node:zlib';

const MiB = 1024 * 1024;

export function zlibBomb(inflatedBytes: number): Uint8Array {
  if (inflatedBytes % MiB !== 0) throw new Error('bomb size must be whole MiB');
  const count = inflatedBytes / MiB;
  const zeros = new Uint8Array(MiB);
  // One MiB of zeros compressed then full-flushed: a self-contained run of non-final blocks.
  const withFlush = deflateRawSync(zeros, { level: 9, finishFlush: z.Z_FULL_FLUSH });
  // A final, empty fixed-Huffman block: BFINAL=1, BTYPE=01, end-of-block code 0000000 (RFC 1951 §3.2.6).
  const finalBlock = Uint8Array.of(0x03, 0x00);
  // Adler-32 of n zero bytes: s1 stays 1, s2 = n mod 65521 (RFC 1950 §9).
  const s2 = inflatedBytes % 65521;
  const adler = ((s2 << 16) | 1) >>> 0;
  const out = new Uint8Array(2 + withFlush.length * count + finalBlock.length + 4);
  out.set([0x78, 0xda], 0); // CMF: deflate, 32 KiB window; FLG: level 9, FCHECK so that CMF*256+FLG % 31 == 0
  let at = 2;
  for (let i = 0; i < count; i++, at += withFlush.length) out.set(withFlush, at);
  out.set(finalBlock, at);
  at += finalBlock.length;
  new DataView(out.buffer).setUint32(at, adler);
  return out;
}
