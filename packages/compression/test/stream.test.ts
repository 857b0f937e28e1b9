import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CompressionEngine,
  compress,
  createCompressStream,
  createDecompressStream,
  nodeZlibEngine,
  pakoEngine,
} from '../src/index.js';
import { expectSameBytes, LEVELS, thrown } from './helpers/engine-suite.js';
import { realisticJson, realisticJsonArb } from './helpers/realistic-json.js';

/** Split `data` at the given cut points (sorted, deduplicated), as a stream would deliver it. */
function split(data: Uint8Array, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const at of [...points, data.length]) {
    parts.push(Buffer.from(data.subarray(from, at)));
    from = at;
  }
  return parts;
}

async function through(parts: Uint8Array[], transform: NodeJS.ReadWriteStream): Promise<Uint8Array> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(parts),
    transform,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return new Uint8Array(Buffer.concat(out));
}

for (const engine of [pakoEngine, nodeZlibEngine] as CompressionEngine[]) {
  describe(`streams, engine ${engine.name}`, () => {
    it('compress stream output equals one-shot compress, however the input is split (levels 0-9)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(realisticJsonArb, fc.uint8Array({ maxLength: 20_000 })),
          fc.array(fc.nat(), { maxLength: 6 }),
          fc.constantFrom(...LEVELS),
          async (data, cuts, level) => {
            const streamed = await through(split(data, cuts), createCompressStream({ level, engine }));
            expectSameBytes(streamed, compress(data, { level, engine }));
          },
        ),
        { numRuns: 40 },
      );
    });

    it('decompress stream restores the input, however the zlib stream is split', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(realisticJsonArb, fc.uint8Array({ maxLength: 20_000 })),
          fc.array(fc.nat(), { maxLength: 8 }),
          async (data, cuts) => {
            const z = compress(data, { engine });
            const back = await through(
              split(z, cuts),
              createDecompressStream({ maxInflatedBytes: data.length, engine }),
            );
            expectSameBytes(back, data);
          },
        ),
        { numRuns: 40 },
      );
    });

    it('1 MiB of JSON through both streams in 64 KiB pieces', async () => {
      const json = realisticJson(1 << 20, 3);
      const pieces = split(
        json,
        Array.from({ length: 16 }, (_, i) => i * 65_536),
      );
      const z = await through(pieces, createCompressStream({ engine }));
      expect(z.length).toBeLessThan(json.length / 3);
      expectSameBytes(
        await through([z], createDecompressStream({ maxInflatedBytes: 1 << 20, engine })),
        json,
      );
    });

    it('limit: exactly maxInflatedBytes passes, one byte less fails with ERR_COMPRESSION_LIMIT', async () => {
      const json = realisticJson(200_000);
      const z = compress(json, { engine });
      expect(
        (await through([z], createDecompressStream({ maxInflatedBytes: json.length, engine }))).length,
      ).toBe(json.length);
      await expect(
        through(split(z, [7, 100]), createDecompressStream({ maxInflatedBytes: json.length - 1, engine })),
      ).rejects.toMatchObject({ name: 'CompressionError', code: 'ERR_COMPRESSION_LIMIT' });
    });

    it('every truncation fails with ERR_COMPRESSED_DATA_INVALID', async () => {
      const z = compress(realisticJson(3000), { engine });
      for (let cut = 0; cut < z.length; cut += 7) {
        await expect(
          through([z.subarray(0, cut)], createDecompressStream({ maxInflatedBytes: 1 << 20, engine })),
        ).rejects.toMatchObject({ name: 'CompressionError', code: 'ERR_COMPRESSED_DATA_INVALID' });
      }
    });

    it('bytes after the end fail, in the same chunk or a later one', async () => {
      const z = compress(realisticJson(3000), { engine });
      const joined = Buffer.concat([z, Buffer.from([0])]);
      for (const parts of [[joined], [z, Buffer.from([1, 2])], split(joined, [5])]) {
        await expect(
          through(parts, createDecompressStream({ maxInflatedBytes: 1 << 20, engine })),
        ).rejects.toMatchObject({ name: 'CompressionError', code: 'ERR_COMPRESSED_DATA_INVALID' });
      }
    });

    it('random bytes fail with a typed error, never hang', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ maxLength: 1024 }),
          fc.array(fc.nat(), { maxLength: 3 }),
          async (data, cuts) => {
            const run = through(
              split(data, cuts),
              createDecompressStream({ maxInflatedBytes: 1 << 16, engine }),
            );
            await expect(run).rejects.toMatchObject({ name: 'CompressionError' });
          },
        ),
        { numRuns: 60 },
      );
    });
  });
}

describe('stream options are validated up front', () => {
  it('names the bad field', () => {
    expect(thrown(() => createCompressStream({ level: 10 as never })).message).toMatch(/^options\.level /);
    expect(thrown(() => createDecompressStream({} as never)).message).toMatch(/^options\.maxInflatedBytes /);
    expect(thrown(() => createDecompressStream(undefined as never)).message).toMatch(
      /^options\.maxInflatedBytes /,
    );
    expect(
      thrown(() => createDecompressStream({ maxInflatedBytes: 1, engine: {} as never })).message,
    ).toMatch(/^options\.engine /);
  });
});
