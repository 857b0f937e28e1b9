/**
 * The engine without stream plumbing: `SegmentSealer` emits each segment as a ciphertext chunk and a tag
 * chunk, and `SegmentOpener` opens segments whether those parts arrive apart (kept by reference), inside one
 * chunk (views) or cut anywhere (copied together), with every tampering check intact.
 */
import { aesGcmEncrypt, randomBytes } from '@mesh/crypto-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SEGMENT_TAG_LENGTH, SegmentNonce } from '../src/stream/format.js';
import { SegmentOpener } from '../src/stream/opener.js';
import { SegmentSealer } from '../src/stream/sealer.js';
import { concat, payload } from './stream-fixtures.js';

const HEADER = new Uint8Array(34).fill(0x5a); // the engine emits it as given; the opener starts after it

interface Sealed {
  key: Uint8Array;
  prefix: Uint8Array;
  /** What the sealer emitted after the header, chunk by chunk. */
  chunks: Uint8Array[];
}

function seal(data: Uint8Array, segmentSize: number, writes: readonly Uint8Array[] = [data]): Sealed {
  const key = randomBytes(32);
  const prefix = randomBytes(7);
  const sealer = new SegmentSealer(key.slice(), HEADER, prefix, segmentSize);
  const chunks: Uint8Array[] = [];
  const emit = (b: Uint8Array) => chunks.push(b);
  for (const w of writes) sealer.write(w, emit);
  sealer.end(emit);
  expect(chunks[0]).toBe(HEADER);
  return { key, prefix, chunks: chunks.slice(1) };
}

/** Feeds `chunks` to a fresh opener; returns the emitted plaintext or the error thrown. */
function open(s: Sealed, segmentSize: number, chunks: readonly Uint8Array[]): Uint8Array | Error {
  const opener = new SegmentOpener(s.key.slice(), s.prefix, segmentSize);
  const out: Uint8Array[] = [];
  const emit = (b: Uint8Array) => out.push(b);
  try {
    for (const c of chunks) opener.write(c, emit);
    opener.end(emit);
  } catch (error) {
    return error as Error;
  }
  return concat(out);
}

function expectFailure(result: Uint8Array | Error): void {
  expect(result).toBeInstanceOf(Error);
  expect((result as { code?: string }).code).toBe('ERR_DECRYPTION_FAILED');
}

/** Cuts `data` at `sizes` (cycled); `own`: each piece copied into its own buffer, else views of `data`. */
function rechunk(data: Uint8Array, sizes: readonly number[], own: boolean): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0, i = 0; off < data.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    const piece = data.subarray(off, off + n);
    out.push(own ? piece.slice() : piece);
    off += n;
  }
  return out;
}

describe('segment engine: ciphertext and tag as separate chunks', () => {
  it('emits each segment as its ciphertext then its tag, each owning its memory; bytes as one GCM seal', () => {
    const segmentSize = 100;
    const data = payload(250, 3);
    const s = seal(data, segmentSize);
    expect(s.chunks.map((c) => c.length)).toEqual([100, 16, 100, 16, 50, 16]);
    for (const c of s.chunks) expect(c.buffer.byteLength).toBe(c.length);
    // Segment 1 is exactly AES-256-GCM of its plaintext under the segment nonce: the wire format is unchanged.
    const nonce = new SegmentNonce(s.prefix).set(1, false);
    const expected = aesGcmEncrypt(s.key, nonce, data.subarray(100, 200));
    expect(Buffer.compare(concat([s.chunks[2]!, s.chunks[3]!]), expected)).toBe(0);
    expect(open(s, segmentSize, s.chunks)).toEqual(data);
  });

  it('an empty stream is one bare tag chunk', () => {
    const s = seal(new Uint8Array(0), 64);
    expect(s.chunks.map((c) => c.length)).toEqual([SEGMENT_TAG_LENGTH]);
    expect(open(s, 64, s.chunks)).toEqual(new Uint8Array(0));
  });

  it('opens any chunking of the same bytes: as emitted, views of one array, own copies, mixed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5000 }),
        fc.constantFrom(16, 17, 100, 1000),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 3000 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (length, segmentSize, sizes, seed) => {
          const data = payload(length, seed);
          const s = seal(data, segmentSize, rechunk(data, sizes, false));
          const wire = concat(s.chunks);
          expect(wire.length).toBe(length + Math.max(1, Math.ceil(length / segmentSize)) * 16);
          expect(open(s, segmentSize, s.chunks)).toEqual(data);
          expect(open(s, segmentSize, [wire])).toEqual(data);
          expect(open(s, segmentSize, rechunk(wire, sizes, false))).toEqual(data);
          expect(open(s, segmentSize, rechunk(wire, sizes, true))).toEqual(data);
          // Emitted chunks split further: pieces of one segment arrive as many owned arrays.
          const split = s.chunks.flatMap((c) => rechunk(c, sizes, true));
          expect(open(s, segmentSize, split)).toEqual(data);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a last segment of full size arrives as ciphertext and tag: held, then opened as last at the end', () => {
    const segmentSize = 64;
    for (const k of [1, 3]) {
      const data = payload(k * segmentSize, k);
      const s = seal(data, segmentSize);
      expect(s.chunks.length).toBe(2 * k);
      expect(open(s, segmentSize, s.chunks)).toEqual(data);
      // Anything after it, even one byte, is an append.
      expectFailure(open(s, segmentSize, [...s.chunks, new Uint8Array(1)]));
      expectFailure(open(s, segmentSize, [...s.chunks, ...s.chunks.slice(-2)]));
    }
  });

  it('truncation, reordering and a lost tag fail when the parts arrive apart', () => {
    const segmentSize = 64;
    const data = payload(64 * 3 + 10, 9);
    const s = seal(data, segmentSize);
    const c = s.chunks; // ct0 t0 ct1 t1 ct2 t2 ct3 t3
    expect(c.length).toBe(8);
    for (let cut = 0; cut < c.length; cut++) expectFailure(open(s, segmentSize, c.slice(0, cut)));
    expectFailure(open(s, segmentSize, [c[2]!, c[3]!, c[0]!, c[1]!, ...c.slice(4)])); // swapped segments
    expectFailure(open(s, segmentSize, [c[0]!, c[3]!, c[2]!, c[1]!, ...c.slice(4)])); // swapped tags
    expectFailure(open(s, segmentSize, [c[0]!, ...c.slice(2)])); // a tag dropped
    expectFailure(open(s, segmentSize, [...c.slice(0, 4), ...c.slice(2)])); // a duplicated segment
    const flipped = c.map((x) => x.slice());
    flipped[5]![3]! ^= 1; // a tag bit
    expectFailure(open(s, segmentSize, flipped));
    expect(open(s, segmentSize, c)).toEqual(data);
  });

  it('releases no plaintext of a segment before its tag arrived', () => {
    const segmentSize = 100;
    const data = payload(300, 4);
    const s = seal(data, segmentSize);
    const opener = new SegmentOpener(s.key.slice(), s.prefix, segmentSize);
    const out: Uint8Array[] = [];
    opener.write(s.chunks[0]!, (b) => out.push(b)); // ciphertext of segment 0, no tag yet
    expect(out.length).toBe(0);
    opener.write(s.chunks[1]!, (b) => out.push(b));
    expect(out.map((b) => b.length)).toEqual([100]);
  });

  it('keeps references to the parts of a segment rather than copying them (chunks are not to be modified)', () => {
    // Pins the zero-copy path: the ciphertext chunk is read when its tag arrives, not when it is written.
    const segmentSize = 100;
    const data = payload(250, 5);
    const s = seal(data, segmentSize);
    const chunks = s.chunks.map((c) => c.slice());
    const opener = new SegmentOpener(s.key.slice(), s.prefix, segmentSize);
    opener.write(chunks[0]!, () => {});
    chunks[0]![0]! ^= 1; // modified after being written, before the tag arrived
    expect(() => opener.write(chunks[1]!, () => {})).not.toThrow(); // not yet known: held as possibly last
    expect(() => opener.write(chunks[2]!, () => {})).toThrow(/./);
    // Unmodified, the same chunks open.
    expect(open(s, segmentSize, s.chunks)).toEqual(data);
  });
});
