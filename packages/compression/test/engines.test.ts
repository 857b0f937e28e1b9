import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compress, decompress, defaultEngine, nodeZlibEngine, pakoEngine } from '../src/index.js';
import { engineSuite, expectSameBytes, LEVELS } from './helpers/engine-suite.js';
import { realisticJson, realisticJsonArb } from './helpers/realistic-json.js';

engineSuite(pakoEngine);
engineSuite(nodeZlibEngine);

describe('engines agree', () => {
  it('node:zlib is the default engine (chosen by the README benchmark)', () => {
    expect(defaultEngine).toBe(nodeZlibEngine);
    expectSameBytes(compress(realisticJson(4096)), compress(realisticJson(4096), { engine: nodeZlibEngine }));
  });

  it.each(LEVELS)('level %i: both write identical bytes and each inflates the other', (level) => {
    fc.assert(
      fc.property(fc.oneof(realisticJsonArb, fc.uint8Array({ maxLength: 30_000 })), (data) => {
        const fromPako = compress(data, { level, engine: pakoEngine });
        const fromNode = compress(data, { level, engine: nodeZlibEngine });
        expectSameBytes(fromPako, fromNode);
        expectSameBytes(
          decompress(fromPako, { maxInflatedBytes: data.length, engine: nodeZlibEngine }),
          data,
        );
        expectSameBytes(decompress(fromNode, { maxInflatedBytes: data.length, engine: pakoEngine }), data);
      }),
      { numRuns: 10 },
    );
  });

  it('on arbitrary input both give the same outcome: same bytes, or the same error code', () => {
    const outcome = (engine: typeof pakoEngine, input: Uint8Array) => {
      try {
        return { ok: decompress(input, { maxInflatedBytes: 1 << 16, engine }) };
      } catch (error) {
        return { code: (error as { code?: string }).code };
      }
    };
    const valid = compress(realisticJson(3000), { level: 6 });
    const mutated = fc
      .tuple(fc.nat({ max: valid.length - 1 }), fc.uint8Array({ maxLength: 8 }))
      .map(([at, junk]) => {
        const copy = valid.slice();
        copy.set(junk.subarray(0, copy.length - at), at);
        return copy;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 512 }), mutated), (input) => {
        expect(outcome(pakoEngine, input)).toEqual(outcome(nodeZlibEngine, input));
      }),
      { numRuns: 400 },
    );
  });

  it('an independent peer (Python zlib) reads ours and we read its output', async () => {
    const { spawnSync } = await import('node:child_process');
    const json = realisticJson(50_000, 7);
    const ours = compress(json, { level: 9, engine: pakoEngine }); // same bytes as node-zlib (test above)
    // Python inflates our stream, checks it, and answers with its own level-1 stream of the same bytes.
    const py = spawnSync(
      'python3',
      [
        '-I',
        '-c',
        'import sys,zlib; d=zlib.decompress(sys.stdin.buffer.read()); sys.stdout.buffer.write(zlib.compress(d, 1))',
      ],
      { input: ours, maxBuffer: 1 << 24 },
    );
    if ((py.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      console.warn('SKIPPED: python3 is not installed');
      return;
    }
    expect(py.status).toBe(0);
    const theirs = new Uint8Array(py.stdout);
    expect(theirs).not.toEqual(ours);
    for (const engine of [pakoEngine, nodeZlibEngine]) {
      expectSameBytes(decompress(theirs, { maxInflatedBytes: json.length, engine }), json);
    }
  });
});
