/**
 * The memory contract: every array this package returns or emits owns its whole `ArrayBuffer` (byteOffset 0,
 * `buffer.byteLength === length`), so `.buffer` never exposes a neighbouring chunk, another call's output or
 * Node's shared Buffer pool. Covers every public function and stream that returns bytes, on both engines,
 * with a canary payload compressed just before.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  type CompressionEngine,
  compress,
  createCompressStream,
  createDecompressStream,
  DEFAULT_COMPRESSION_POLICY,
  decompress,
  maybeCompress,
  nodeZlibEngine,
  pakoEngine,
} from '../src/index.js';

const CANARY = new TextEncoder().encode('CANARY-plaintext-5b1e-do-not-leak-'.repeat(4));
const ENGINES: readonly CompressionEngine[] = [nodeZlibEngine, pakoEngine];

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function expectOwned(name: string, bytes: Uint8Array, canary: Uint8Array | null = CANARY): void {
  expect(bytes, name).toBeInstanceOf(Uint8Array);
  expect(bytes.byteOffset, `${name}: byteOffset`).toBe(0);
  expect(bytes.buffer.byteLength, `${name}: buffer.byteLength`).toBe(bytes.length);
  if (canary !== null) {
    expect(indexOf(new Uint8Array(bytes.buffer), canary), `${name}: canary in backing store`).toBe(-1);
  }
}

/** Text that compresses well, `n` bytes. */
function json(n: number): Uint8Array {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `{"id":${i},"sku":"SKU-${i % 97}","qty":${(i * 7) % 13}},`;
  return new TextEncoder().encode(s.slice(0, n));
}

async function chunksOf(stream: NodeJS.ReadWriteStream, input: readonly Uint8Array[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Uint8Array) => out.push(c));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  Readable.from(input).pipe(stream as unknown as NodeJS.WritableStream);
  await done;
  return out;
}

describe.each(ENGINES)('$name engine: returned bytes own their buffer', (engine) => {
  // Sizes: tiny, one output chunk (small and most of it), several 64 KiB output chunks.
  const sizes = [0, 100, 5000, 40_000, 200_000];

  it('compress / decompress and the engine methods', () => {
    compress(CANARY, { engine }); // a canary payload just went through the same engine
    for (const n of sizes) {
      const data = json(n);
      const z = compress(data, { engine, level: 6 });
      expectOwned(`compress ${n}`, z);
      expectOwned(`engine.deflate ${n}`, engine.deflate(data, 1));
      expectOwned(`decompress ${n}`, decompress(z, { maxInflatedBytes: n, engine }));
      expectOwned(`engine.inflate ${n}`, engine.inflate(z, n));
    }
  });

  it('maybeCompress (when it compresses)', () => {
    const data = json(5000);
    const out = maybeCompress(data, DEFAULT_COMPRESSION_POLICY, { engine });
    expect(out.compressed).toBe(true);
    expectOwned('maybeCompress.data', out.data);
  });

  it('stream chunks', async () => {
    const data = json(300_000);
    const pieces = [data.subarray(0, 10), data.subarray(10, 70_000), data.subarray(70_000)];
    const zChunks = await chunksOf(createCompressStream({ engine }), pieces);
    for (const [i, c] of zChunks.entries()) expectOwned(`compress stream chunk ${i}`, c);
    const z = compress(data, { engine });
    const plainChunks = await chunksOf(createDecompressStream({ maxInflatedBytes: data.length, engine }), [
      z.subarray(0, 7),
      z.subarray(7),
    ]);
    for (const [i, c] of plainChunks.entries()) expectOwned(`decompress stream chunk ${i}`, c);
    const small = await chunksOf(engine.createDeflateStream(6), [json(50)]);
    for (const [i, c] of small.entries()) expectOwned(`engine deflate stream chunk ${i}`, c);
    const smallPlain = await chunksOf(engine.createInflateStream(50), [compress(json(50), { engine })]);
    for (const [i, c] of smallPlain.entries()) expectOwned(`engine inflate stream chunk ${i}`, c);
  });
});
