/**
 * Property tests: whatever the payload size, segment size and chunking, the stream decrypts to the same bytes,
 * the ciphertext (for a fixed salt and nonce prefix) does not depend on the chunking, and the Node and WHATWG
 * flavours produce and read the same bytes.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createNodeDecryptStream,
  createNodeEncryptStream,
  createWebDecryptStream,
  createWebEncryptStream,
} from '../src/stream/index.js';
import {
  chunk,
  decryptWith,
  encryptWith,
  type Flavour,
  makeKeyring,
  payload,
  runNode,
  runWeb,
  sealedLength,
  type TestKeyring,
} from './stream-fixtures.js';

const MAX_PAYLOAD = 300 * 1024;

const caseArb = fc.record({
  length: fc.oneof(
    fc.integer({ min: 0, max: MAX_PAYLOAD }),
    fc.integer({ min: 0, max: 80 }),
    fc.constantFrom(0, 1, 15, 16, 17, 65_535, 65_536, 65_537, 131_072),
  ),
  seed: fc.integer({ min: 0, max: 2 ** 31 }),
  segmentSize: fc.oneof(fc.integer({ min: 16, max: 70_000 }), fc.constantFrom(16, 17, 64, 4096, 65_536)),
  // Two chunkings of the same payload: how the caller splits writes must not matter.
  chunksA: fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 12 }),
  chunksB: fc.array(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 200_000 })), {
    minLength: 1,
    maxLength: 12,
  }),
  salt: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  noncePrefix: fc.uint8Array({ minLength: 7, maxLength: 7 }),
  context: fc.string({ maxLength: 40 }),
});

// The smallest segment sizes on the largest payloads make ~19k GCM calls per stream: keep runs lean.
const RUNS = 30;

describe('streaming round trip (property)', () => {
  let ring: TestKeyring;
  beforeAll(async () => {
    ring = await makeKeyring();
  });

  it('decrypts to the input for any size, segment size and chunking; ciphertext independent of chunking', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const data = payload(c.length, c.seed);
        const options = { segmentSize: c.segmentSize, context: c.context };
        const hooks = { salt: c.salt, noncePrefix: c.noncePrefix };
        const sealedNode = await encryptWith('node', ring.deps, chunk(data, c.chunksA), options, hooks);
        const sealedWeb = await encryptWith('web', ring.deps, chunk(data, c.chunksB), options, hooks);
        expect(sealedNode.length).toBe(sealedLength(c.length, c.segmentSize));
        expect(Buffer.compare(sealedNode, sealedWeb)).toBe(0);
        // Each flavour reads the other's output, under yet another chunking of the ciphertext.
        const viaWeb = await decryptWith('web', ring.deps, chunk(sealedNode, c.chunksA), {
          context: c.context,
        });
        const viaNode = await decryptWith('node', ring.deps, chunk(sealedWeb, c.chunksB), {
          context: c.context,
        });
        expect(Buffer.compare(viaWeb, data)).toBe(0);
        expect(Buffer.compare(viaNode, data)).toBe(0);
      }),
      { numRuns: RUNS },
    );
  });

  it('a plaintext that is a multiple of the segment size ends in a full last segment, whatever the chunking', async () => {
    const segmentSize = 64;
    const hooks = { salt: new Uint8Array(16).fill(1), noncePrefix: new Uint8Array(7).fill(2) };
    for (const k of [1, 2, 5]) {
      const data = payload(k * segmentSize, k);
      // Chunks equal to the segment (sealed straight from the chunk and held), smaller, and larger ones.
      const outputs = await Promise.all(
        [[segmentSize], [1], [segmentSize + 1], [segmentSize * 3], [10_000]].map((sizes) =>
          encryptWith('node', ring.deps, chunk(data, sizes), { segmentSize }, hooks),
        ),
      );
      for (const sealed of outputs) {
        expect(sealed.length).toBe(34 + k * (segmentSize + 16));
        expect(Buffer.compare(sealed, outputs[0]!)).toBe(0);
      }
      expect(Buffer.compare(await decryptWith('web', ring.deps, [outputs[0]!]), data)).toBe(0);
    }
  });

  it('fresh salt and prefix per stream: two encryptions of the same input differ, both decrypt', async () => {
    const data = payload(100_000, 7);
    const a = await runNode(createNodeEncryptStream(ring.deps), [data]);
    const b = await runNode(createNodeEncryptStream(ring.deps), [data]);
    expect(Buffer.compare(a.subarray(0, 7), b.subarray(0, 7))).toBe(0); // same version, alg, flags, key id
    expect(Buffer.compare(a.subarray(7, 30), b.subarray(7, 30))).not.toBe(0); // salt and prefix differ
    expect(Buffer.compare(a.subarray(34), b.subarray(34))).not.toBe(0);
    expect(Buffer.compare(await runNode(createNodeDecryptStream(ring.deps), [a]), data)).toBe(0);
    expect(Buffer.compare(await runWeb(createWebDecryptStream(ring.deps), [b]), data)).toBe(0);
  });

  it('writes the documented header: version 1, algorithm 3, flags 0, key id, default segment size 65536', async () => {
    const sealed = await runWeb(createWebEncryptStream(ring.deps), [payload(10)]);
    const view = new DataView(sealed.buffer, sealed.byteOffset);
    expect([sealed[0], sealed[1], sealed[2]]).toEqual([1, 3, 0]);
    expect(view.getUint32(3)).toBe(ring.primaryId);
    expect(view.getUint32(30)).toBe(65_536);
    expect(sealed.length).toBe(sealedLength(10, 65_536));
  });

  it.each<[Flavour, Flavour]>([
    ['node', 'web'],
    ['web', 'node'],
  ])('an empty stream (%s -> %s) is a header and one bare tag, and decrypts to nothing', async (e, d) => {
    const sealed = await encryptWith(e, ring.deps, [], { segmentSize: 16 });
    expect(sealed.length).toBe(34 + 16);
    expect((await decryptWith(d, ring.deps, [sealed])).length).toBe(0);
  });

  it('reserves exactly one key use per stream, however many segments', async () => {
    const local = await makeKeyring();
    const before = local.encryptions();
    await encryptWith('node', local.deps, chunk(payload(50_000), [1000]), { segmentSize: 100 });
    expect(local.encryptions()).toBe(before + 1);
    await encryptWith('web', local.deps, [], { segmentSize: 100 });
    expect(local.encryptions()).toBe(before + 2);
    expect(local.metrics.of('recordKeyUse')).toEqual([[local.primaryId], [local.primaryId]]);
    // Decrypting is not a use of the key's encryption budget.
    await decryptWith('node', local.deps, [await encryptWith('node', local.deps, [payload(10)])]);
    expect(local.metrics.of('recordKeyUse')).toHaveLength(3);
    expect(local.encryptions()).toBe(before + 3);
  });

  it('a stream sealed before a rotation still opens after it; new streams use the new primary', async () => {
    const local = await makeKeyring();
    const plain = payload(70_000, 11);
    const before = await encryptWith('node', local.deps, [plain], { context: 'r' });
    await local.keys.rotate({ algorithm: 'aes-256-gcm' });
    const after = await encryptWith('web', local.deps, [plain], { context: 'r' });
    const idOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(3);
    expect(idOf(before)).toBe(local.primaryId);
    expect(idOf(after)).not.toBe(local.primaryId);
    for (const sealed of [before, after]) {
      expect(Buffer.compare(await decryptWith('web', local.deps, [sealed], { context: 'r' }), plain)).toBe(0);
    }
  });
});
