/**
 * Issue 3, "Must show": a small input that would inflate to 1 GiB is refused with ERR_COMPRESSION_LIMIT,
 * and memory stays within a few MiB of the configured limit.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CompressionError,
  createDecompressStream,
  decompress,
  nodeZlibEngine,
  pakoEngine,
} from '../src/index.js';
import { zlibBomb } from './helpers/bomb.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const LIMIT = 64 * MiB; // the default policy's maxInflatedBytes, for the fresh-process measurement
const IN_PROCESS_LIMIT = 16 * MiB; // same checks, less time, for the in-process runs
/** "A few MiB": allowance over the limit for the bomb itself, zlib's window, one chunk and allocator slack. */
const SLACK = 8 * MiB;

let bomb: Uint8Array;
let dir: string;

beforeAll(() => {
  bomb = zlibBomb(GiB);
  dir = mkdtempSync(join(tmpdir(), 'mesh-compression-bomb-'));
  writeFileSync(join(dir, 'bomb.z'), bomb);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('decompression bomb (1 GiB of zeros in ~1 MiB)', () => {
  it('is ~1 MiB and a valid zlib stream: the same construction at 4 MiB inflates to exactly 4 MiB of zeros', () => {
    expect(bomb.length).toBeLessThan(1.1 * MiB);
    const small = zlibBomb(4 * MiB);
    // The 1 GiB bomb is the small one's header, its 1 MiB block repeated 1024 times instead of 4, and the
    // final block; only the Adler-32 differs (it depends on the length).
    const block = (small.length - 2 - 2 - 4) / 4;
    expect(bomb.length).toBe(2 + block * 1024 + 2 + 4);
    expect(bomb.subarray(0, 2 + block)).toEqual(small.subarray(0, 2 + block));
    for (const engine of [pakoEngine, nodeZlibEngine]) {
      const out = decompress(small, { maxInflatedBytes: 4 * MiB, engine });
      expect(out.length).toBe(4 * MiB);
      expect(out.every((b) => b === 0)).toBe(true);
    }
  });

  for (const engine of [pakoEngine, nodeZlibEngine]) {
    it(`${engine.name}: one-shot decompress refuses it with ERR_COMPRESSION_LIMIT`, () => {
      const before = process.memoryUsage().arrayBuffers;
      let error: unknown;
      try {
        decompress(bomb, { maxInflatedBytes: IN_PROCESS_LIMIT, engine });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CompressionError);
      expect((error as CompressionError).code).toBe('ERR_COMPRESSION_LIMIT');
      // Allocated (live or not yet collected) external memory grew by at most the limit plus slack.
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(IN_PROCESS_LIMIT + SLACK);
    });

    it(`${engine.name}: in a fresh process, peak RSS stays within a few MiB of the limit`, () => {
      const child = fileURLToPath(new URL('./helpers/bomb-child.ts', import.meta.url));
      const out = execFileSync(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', child, join(dir, 'bomb.z'), engine.name, String(LIMIT)],
        { encoding: 'utf8', cwd: fileURLToPath(new URL('..', import.meta.url)) },
      );
      const m = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number | string>;
      expect(m.code).toBe('ERR_COMPRESSION_LIMIT');
      const peakGrowth = (m.maxRssAfter as number) - (m.rssBefore as number);
      const allocated = (m.arrayBuffersAfter as number) - (m.arrayBuffersBefore as number);
      console.info(
        `${engine.name}: limit ${LIMIT / MiB} MiB, peak RSS growth ${(peakGrowth / MiB).toFixed(1)} MiB, ` +
          `external allocation ${(allocated / MiB).toFixed(1)} MiB`,
      );
      expect(peakGrowth).toBeLessThan(LIMIT + SLACK);
      expect(allocated).toBeLessThan(LIMIT + SLACK);
      // The measurement is live: inflation really did allocate up to about the limit before stopping.
      expect(allocated).toBeGreaterThan(LIMIT - SLACK);
    });

    it(`${engine.name}: the decompress stream fails at the limit even when the reader keeps up`, async () => {
      let delivered = 0;
      const run = pipeline(
        Readable.from([bomb.subarray(0, 1000), bomb.subarray(1000)]),
        createDecompressStream({ maxInflatedBytes: IN_PROCESS_LIMIT, engine }),
        new Writable({
          write(chunk: Buffer, _encoding, callback) {
            delivered += chunk.length;
            callback();
          },
        }),
      );
      await expect(run).rejects.toMatchObject({ name: 'CompressionError', code: 'ERR_COMPRESSION_LIMIT' });
      expect(delivered).toBeLessThanOrEqual(IN_PROCESS_LIMIT);
    });
  }
});
