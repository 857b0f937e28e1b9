/**
 * Every way of damaging a stream fails, with exactly the documented code, in both flavours; and nothing of a
 * segment is released before that segment authenticated.
 *
 * Codes (docs/FORMAT.md, Streaming (0x03), "Errors"): `ERR_DECRYPTION_FAILED` for everything wrong with the
 * bytes, a cut inside the header included; `ERR_KEY_NOT_FOUND` only when the key id names no key.
 */
import {
  aesGcmEncrypt,
  DECRYPTION_FAILED_MESSAGE,
  DecryptionError,
  isMeshError,
  randomBytes,
} from '@mesh/crypto-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { deriveStreamKey, encodeStreamHeader, SegmentNonce } from '../src/stream/format.js';
import {
  attemptDecrypt,
  chunk,
  concat,
  decryptWith,
  encryptWith,
  expectCode,
  type Flavour,
  makeKeyring,
  payload,
  pinnedKeyring,
  type TestKeyring,
} from './stream-fixtures.js';

const SEGMENT = 32;
const SEALED = SEGMENT + 16;
const HEADER = 34;
// Four full segments and a 10-byte last one.
const PLAIN_LENGTH = 4 * SEGMENT + 10;
const CONTEXT = 'orders->payments';
const FLAVOURS: Flavour[] = ['node', 'web'];

/** Splits a sealed stream into its header and segments. */
function split(sealed: Uint8Array): { header: Uint8Array; segments: Uint8Array[] } {
  const segments: Uint8Array[] = [];
  for (let off = HEADER; off < sealed.length; off += SEALED)
    segments.push(sealed.subarray(off, off + SEALED));
  return { header: sealed.subarray(0, HEADER), segments };
}

function expectFailure(result: { error: unknown }, code = 'ERR_DECRYPTION_FAILED'): void {
  expect(isMeshError(result.error), `expected a Mesh error, got ${String(result.error)}`).toBe(true);
  expect((result.error as { code: string }).code).toBe(code);
}

/** What may have been released before a failure: whole, authenticated segments of the original, in order. */
function expectReleasedPrefix(released: Uint8Array, plain: Uint8Array, maxSegments: number): void {
  expect(released.length % SEGMENT).toBe(0);
  expect(released.length).toBeLessThanOrEqual(maxSegments * SEGMENT);
  expect(Buffer.compare(released, plain.subarray(0, released.length))).toBe(0);
}

describe.each(FLAVOURS)('tampering with a stream (%s decryptor)', (flavour) => {
  let ring: TestKeyring;
  let plain: Uint8Array;
  let sealed: Uint8Array;
  const decrypt = (bytes: Uint8Array | Uint8Array[], options = { context: CONTEXT }) =>
    attemptDecrypt(flavour, ring.deps, Array.isArray(bytes) ? bytes : [bytes], options);

  beforeAll(async () => {
    ring = await makeKeyring();
    plain = payload(PLAIN_LENGTH, 42);
    sealed = await encryptWith('node', ring.deps, [plain], { segmentSize: SEGMENT, context: CONTEXT });
    expect(split(sealed).segments.length).toBe(5);
  });

  it('the untouched stream decrypts (control)', async () => {
    const { released, error } = await decrypt(sealed);
    expect(error).toBeUndefined();
    expect(Buffer.compare(released, plain)).toBe(0);
  });

  it('truncation at every byte, segment boundaries and inside the header included, fails', async () => {
    for (let cut = 0; cut < sealed.length; cut++) {
      const result = await decrypt(sealed.subarray(0, cut));
      expectFailure(result);
      // Only complete segments can have been opened (as "not last") and released; the cut still fails.
      const complete = Math.max(0, Math.floor((cut - HEADER) / SEALED));
      expectReleasedPrefix(result.released, plain, complete);
    }
  });

  it('truncation fails whatever the chunking of what is left', async () => {
    const boundary = HEADER + 3 * SEALED;
    for (const sizes of [[1], [7], [SEALED], [SEALED + 1], [1000]]) {
      expectFailure(await decrypt(chunk(sealed.subarray(0, boundary), sizes)));
    }
  });

  it('swapped segments fail (every pair)', async () => {
    const { header, segments } = split(sealed);
    for (let i = 0; i < segments.length; i++) {
      for (let j = i + 1; j < segments.length; j++) {
        // The last one is shorter: a swap with it moves bytes across boundaries, which must fail too.
        const swapped = segments.slice();
        [swapped[i], swapped[j]] = [swapped[j]!, swapped[i]!];
        const result = await decrypt(concat([header, ...swapped]));
        expectFailure(result);
        expectReleasedPrefix(result.released, plain, i);
      }
    }
  });

  it('a duplicated segment fails (each one), as does a dropped one', async () => {
    const { header, segments } = split(sealed);
    for (let i = 0; i < segments.length; i++) {
      const duplicated = [...segments.slice(0, i + 1), segments[i]!, ...segments.slice(i + 1)];
      expectFailure(await decrypt(concat([header, ...duplicated])));
      const dropped = [...segments.slice(0, i), ...segments.slice(i + 1)];
      expectFailure(await decrypt(concat([header, ...dropped])));
    }
  });

  it('appended bytes fail: one byte, a tag length, a copy of the last segment, a second stream', async () => {
    const { segments } = split(sealed);
    const tails = [
      new Uint8Array(1),
      randomBytes(16),
      segments.at(-1)!,
      sealed.subarray(HEADER, HEADER + SEALED),
      sealed,
    ];
    for (const tail of tails) {
      const result = await decrypt([sealed, tail]);
      expectFailure(result);
      expectReleasedPrefix(result.released, plain, 4);
    }
  });

  it('appending after a full last segment fails (plaintext a multiple of the segment size)', async () => {
    const even = payload(3 * SEGMENT, 5);
    const evenSealed = await encryptWith('web', ring.deps, [even], {
      segmentSize: SEGMENT,
      context: CONTEXT,
    });
    expect(evenSealed.length).toBe(HEADER + 3 * SEALED);
    expectFailure(await decrypt([evenSealed, new Uint8Array([0])]));
    expectFailure(await decrypt([evenSealed, evenSealed.subarray(HEADER + 2 * SEALED)]));
  });

  it('every header bit flip fails: ERR_DECRYPTION_FAILED, or ERR_KEY_NOT_FOUND for key id bits', async () => {
    for (let bit = 0; bit < HEADER * 8; bit++) {
      const flipped = sealed.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const byte = bit >> 3;
      const result = await decrypt(flipped);
      expectFailure(result, byte >= 3 && byte < 7 ? 'ERR_KEY_NOT_FOUND' : 'ERR_DECRYPTION_FAILED');
      expect(result.released.length).toBe(0);
    }
  });

  it('a flipped bit in any segment byte fails, releasing nothing of that segment', async () => {
    for (let pos = HEADER; pos < sealed.length; pos++) {
      const flipped = sealed.slice();
      flipped[pos]! ^= 1 << (pos % 8);
      const result = await decrypt(flipped);
      expectFailure(result);
      expectReleasedPrefix(result.released, plain, Math.floor((pos - HEADER) / SEALED));
    }
  });

  it('the wrong context fails; so does no context when one was used', async () => {
    expectFailure(await decrypt(sealed, { context: 'orders->billing' }));
    expectFailure(await decrypt(sealed, { context: '' }));
    const result = await attemptDecrypt(flavour, ring.deps, [sealed]);
    expectFailure(result);
  });

  it('the same key id with other key material fails', async () => {
    const impostor = pinnedKeyring(randomBytes(32), ring.primaryId);
    expectFailure(await attemptDecrypt(flavour, impostor.deps, [sealed], { context: CONTEXT }));
  });

  it('an empty last segment after real segments fails even though every tag verifies', async () => {
    // Built by hand: a correct encoder never writes it (the last segment is empty only in an empty stream).
    const own = await makeKeyring();
    const material = (await own.keys.getDecryptionKey(own.primaryId, 'aes-256-gcm')).material;
    const salt = randomBytes(16);
    const prefix = randomBytes(7);
    const header = encodeStreamHeader(own.primaryId, salt, prefix, SEGMENT);
    const key = deriveStreamKey(material, header, CONTEXT);
    const nonce = new SegmentNonce(prefix);
    const first = aesGcmEncrypt(key, nonce.set(0, false), plain.subarray(0, SEGMENT));
    const emptyLast = aesGcmEncrypt(key, nonce.set(1, true), new Uint8Array(0));
    const result = await attemptDecrypt(flavour, own.deps, [concat([header, first, emptyLast])], {
      context: CONTEXT,
    });
    expectFailure(result);
    // Control: the same construction with the data in a last segment is accepted.
    const lastOnly = aesGcmEncrypt(key, nonce.set(0, true), plain.subarray(0, SEGMENT));
    const ok = await decryptWith(flavour, own.deps, [concat([header, lastOnly])], { context: CONTEXT });
    expect(Buffer.compare(ok, plain.subarray(0, SEGMENT))).toBe(0);
  });

  it('rejects a header whose segment size is out of bounds, or with unknown flags', async () => {
    for (const size of [0, 15, 16 * 1024 * 1024 + 1, 0xffff_ffff]) {
      const bad = sealed.slice();
      new DataView(bad.buffer).setUint32(30, size);
      const result = await decrypt(bad);
      expectFailure(result);
      expect(result.error).toBeInstanceOf(DecryptionError);
      // The specific reason stays available for debugging, not in the message.
      expect((result.error as Error).message).toBe(DECRYPTION_FAILED_MESSAGE);
      expect(((result.error as Error).cause as { code?: string }).code).toBe('ERR_TOKEN_MALFORMED');
    }
  });

  it('empty input and non-stream input fail', async () => {
    expectFailure(await decrypt([]));
    expectFailure(await decrypt(payload(500, 9)));
  });
});

describe('error plumbing', () => {
  it('records one failure with the closed-set reason, and a success with byte counts', async () => {
    const ring = await makeKeyring();
    const plain = payload(1000, 3);
    const sealed = await encryptWith('node', ring.deps, chunk(plain, [100]), { segmentSize: 64 });
    const [op] = ring.metrics.of('recordOperation');
    expect(op?.slice(0, 3)).toEqual(['encrypt_stream', 'stream-aes-256-gcm', 'success']);
    expect(op?.slice(4)).toEqual([1000, sealed.length]);
    expect(op?.[3]).toBeGreaterThanOrEqual(0);

    await expectCode(
      decryptWith('web', ring.deps, [sealed.subarray(0, sealed.length - 1)]),
      'ERR_DECRYPTION_FAILED',
    );
    const ops = ring.metrics.of('recordOperation');
    expect(ops).toHaveLength(2);
    expect(ops[1]?.slice(0, 3)).toEqual(['decrypt_stream', 'stream-aes-256-gcm', 'failure']);
    expect(ring.metrics.of('recordFailure')).toEqual([['authentication']]);
  });

  it('a throwing metrics collector never fails a stream', async () => {
    const ring = await makeKeyring();
    ring.metrics.throwOnRecord = true;
    const plain = payload(5000, 4);
    const sealed = await encryptWith('web', ring.deps, [plain], { segmentSize: 100 });
    expect(Buffer.compare(await decryptWith('node', ring.deps, [sealed]), plain)).toBe(0);
    expect(ring.metrics.of('recordOperation').length).toBe(2);
  });
});
