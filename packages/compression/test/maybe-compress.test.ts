import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CompressionPolicy,
  compress,
  DEFAULT_COMPRESSION_POLICY,
  decompress,
  maybeCompress,
  nodeZlibEngine,
  pakoEngine,
  validatePolicy,
} from '../src/index.js';
import { expectSameBytes, thrown } from './helpers/engine-suite.js';
import { realisticJson, realisticJsonArb } from './helpers/realistic-json.js';

const policy = DEFAULT_COMPRESSION_POLICY;
const read = (r: { compressed: boolean; data: Uint8Array }, p: CompressionPolicy = policy) =>
  r.compressed ? decompress(r.data, { maxInflatedBytes: p.maxInflatedBytes }) : r.data;

describe('maybeCompress under the default policy', () => {
  it('stores random (incompressible) bytes uncompressed, as the same object', () => {
    for (const size of [1024, 4096, 65_536, 1 << 20]) {
      const random = new Uint8Array(randomBytes(size));
      const out = maybeCompress(random, policy);
      expect(out.compressed).toBe(false);
      expect(out.data).toBe(random);
    }
  });

  it('compresses realistic JSON above the threshold, and it reads back', () => {
    for (const size of [1024, 4096, 65_536, 1 << 20]) {
      const json = realisticJson(size, size);
      const out = maybeCompress(json, policy);
      expect(out.compressed).toBe(true);
      expect(out.data.length).toBeLessThanOrEqual(Math.floor(json.length * 0.9));
      expectSameBytes(out.data, compress(json, { level: 6 }));
      expectSameBytes(read(out), json);
    }
  });

  it('leaves JSON below the threshold alone', () => {
    const json = realisticJson(1023);
    expect(maybeCompress(json, policy)).toEqual({ compressed: false, data: json });
  });

  it('whatever it decides, reading back gives the input (both engines)', () => {
    fc.assert(
      fc.property(fc.oneof(realisticJsonArb, fc.uint8Array({ maxLength: 5000 })), (data) => {
        for (const engine of [pakoEngine, nodeZlibEngine]) {
          const out = maybeCompress(data, policy, { engine });
          expectSameBytes(read(out), data);
          if (out.compressed) expect(out.data.length).toBeLessThanOrEqual(Math.floor(data.length * 0.9));
          else expect(out.data).toBe(data);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('maybeCompress follows each policy field', () => {
  const json = realisticJson(8192);

  it('enabled: false never compresses', () => {
    expect(maybeCompress(json, validatePolicy({ enabled: false })).compressed).toBe(false);
  });

  it('level 0 never compresses (stored blocks only grow)', () => {
    expect(maybeCompress(json, validatePolicy({ level: 0 })).compressed).toBe(false);
  });

  it('thresholdBytes is inclusive: length == threshold compresses, one less does not', () => {
    const p = validatePolicy({ thresholdBytes: json.length });
    expect(maybeCompress(json, p).compressed).toBe(true);
    expect(maybeCompress(json.subarray(1), p).compressed).toBe(false);
  });

  it('minSavingsRatio: kept exactly when the saving reaches the ratio', () => {
    const size = compress(json, { level: 6 }).length;
    const saving = 1 - size / json.length;
    expect(maybeCompress(json, validatePolicy({ minSavingsRatio: saving - 0.001 })).compressed).toBe(true);
    expect(maybeCompress(json, validatePolicy({ minSavingsRatio: saving + 0.001 })).compressed).toBe(false);
  });

  it('a payload above maxInflatedBytes is stored (a reader with the same policy could not inflate it)', () => {
    expect(maybeCompress(json, validatePolicy({ maxInflatedBytes: json.length - 1 })).compressed).toBe(false);
    expect(maybeCompress(json, validatePolicy({ maxInflatedBytes: json.length })).compressed).toBe(true);
  });

  it('level changes the output', () => {
    const fast = maybeCompress(json, validatePolicy({ level: 1 }));
    const best = maybeCompress(json, validatePolicy({ level: 9 }));
    expectSameBytes(fast.data, compress(json, { level: 1 }));
    expectSameBytes(best.data, compress(json, { level: 9 }));
    expect(best.data.length).toBeLessThan(fast.data.length);
  });

  it('a plain-object policy is validated (a bad field is named)', () => {
    const e = thrown(() => maybeCompress(json, { ...policy, level: 12 } as unknown as CompressionPolicy));
    expect(e.code).toBe('ERR_CONFIG_INVALID');
    expect(e.message).toMatch(/^policy\.level /);
  });
});
