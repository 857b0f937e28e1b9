/**
 * The padding rule on its own (src/padding.ts): the bucket arithmetic, ISO/IEC 7816-4 unpadding at every
 * alignment, and the validation of `padding` in the config (ERR_CONFIG_INVALID naming the field).
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/index.js';
import {
  type PaddingPolicy,
  paddedLength,
  stripPadding,
  unpaddedLength,
  writePadding,
} from '../src/padding.js';
import { syncCodeOf } from './support/setup.js';

const MULTIPLE_16: PaddingPolicy = { multipleOf: 16 };
const POW2: PaddingPolicy = { powerOfTwo: true, minBytes: 16, maxBytes: 64 };

describe('paddedLength', () => {
  it('multipleOf: the next multiple that also holds the 0x80 marker', () => {
    expect([0, 1, 14, 15, 16, 17, 31, 32].map((n) => paddedLength(MULTIPLE_16, n))).toEqual([
      16, 16, 16, 16, 32, 32, 32, 48,
    ]);
  });

  it('powerOfTwo: floor minBytes, powers of two up to maxBytes, then multiples of maxBytes', () => {
    const cases: [number, number][] = [
      [0, 16],
      [15, 16],
      [16, 32],
      [31, 32],
      [32, 64],
      [63, 64],
      [64, 128],
      [127, 128],
      [128, 192],
      [200, 256],
    ];
    expect(cases.map(([n]) => paddedLength(POW2, n))).toEqual(cases.map(([, b]) => b));
    // Defaults: 256 .. 1 MiB.
    const defaults = resolveConfig({ padding: { powerOfTwo: true } }).serviceConfig('x').padding!;
    expect(defaults).toEqual({ powerOfTwo: true, minBytes: 256, maxBytes: 1024 * 1024 });
    expect(paddedLength(defaults, 1)).toBe(256);
    expect(paddedLength(defaults, 300)).toBe(512);
    expect(paddedLength(defaults, 1024 * 1024)).toBe(2 * 1024 * 1024);
  });

  it('every length gets a bucket larger than itself, never smaller than a shorter length got', () => {
    for (const policy of [MULTIPLE_16, POW2, { multipleOf: 7 }]) {
      let previous = 0;
      for (let n = 0; n < 300; n++) {
        const b = paddedLength(policy, n);
        expect(b).toBeGreaterThan(n);
        expect(b).toBeGreaterThanOrEqual(previous);
        previous = b;
      }
    }
  });
});

describe('unpaddedLength / stripPadding', () => {
  it('finds the payload at every length and every byte alignment of the array', () => {
    const backing = new Uint8Array(200);
    for (let offset = 0; offset < 8; offset++) {
      for (const [length, padded] of [
        [0, 1],
        [0, 16],
        [5, 6],
        [5, 64],
        [63, 64],
        [10, 150],
      ] as const) {
        backing.fill(0x80); // stale bytes everywhere: writePadding must zero what it claims
        const view = backing.subarray(offset, offset + padded);
        for (let i = 0; i < length; i++) view[i] = (i % 251) + 1;
        writePadding(view, 0, length, padded);
        expect(unpaddedLength(view), `offset ${offset}, ${length} in ${padded}`).toBe(length);
      }
    }
  });

  it('a payload ending in 0x80 or in zeros keeps them (only the last 0x80 is the marker)', () => {
    const data = Uint8Array.from([1, 0x80, 0, 0, 0x80, 0, 0]);
    const padded = new Uint8Array(32);
    padded.set(data);
    writePadding(padded, 0, data.length, 32);
    expect([...stripPadding(padded)]).toEqual([...data]);
    expect(padded.every((b) => b === 0)).toBe(true); // wiped
  });

  it('no marker: empty, all zeros, or a last non-zero byte other than 0x80 is ERR_DECRYPTION_FAILED', () => {
    for (const bad of [
      new Uint8Array(0),
      new Uint8Array(64),
      Uint8Array.from([1, 2, 3]),
      Uint8Array.from([0x80, 0, 1, 0, 0]),
      Uint8Array.from([0x7f, 0, 0, 0, 0, 0, 0, 0, 0]),
    ]) {
      expect(syncCodeOf(() => unpaddedLength(bad))).toBe('ERR_DECRYPTION_FAILED');
      const copy = bad.slice();
      expect(syncCodeOf(() => stripPadding(copy))).toBe('ERR_DECRYPTION_FAILED');
      expect(copy.every((b) => b === 0)).toBe(true); // wiped on failure too
    }
  });

  it('stripPadding returns an array that owns its whole buffer', () => {
    const padded = new Uint8Array(64);
    padded.set([1, 2, 3]);
    writePadding(padded, 0, 3, 64);
    const out = stripPadding(padded);
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBe(3);
  });
});

describe('padding in the config', () => {
  const INVALID: [unknown, string][] = [
    [{ padding: true }, 'padding'],
    [{ padding: 256 }, 'padding'],
    [{ padding: {} }, 'padding'],
    [{ padding: { multipleOf: 1 } }, 'padding.multipleOf'],
    [{ padding: { multipleOf: 2 ** 25 } }, 'padding.multipleOf'],
    [{ padding: { multipleOf: 12.5 } }, 'padding.multipleOf'],
    [{ padding: { multipleOf: 16, minBytes: 32 } }, 'padding.minBytes'],
    [{ padding: { powerOfTwo: false } }, 'padding.powerOfTwo'],
    [{ padding: { powerOfTwo: true, minBytes: 100 } }, 'padding.minBytes'],
    [{ padding: { powerOfTwo: true, minBytes: 8 } }, 'padding.minBytes'],
    [{ padding: { powerOfTwo: true, minBytes: 512, maxBytes: 256 } }, 'padding.maxBytes'],
    [{ padding: { powerOfTwo: true, maxBytes: 2 ** 25 } }, 'padding.maxBytes'],
    [{ padding: { powerOfTwo: true, cap: 1024 } }, 'padding.cap'],
    [{ services: { payments: { padding: { multipleOf: 0 } } } }, 'services.payments.padding.multipleOf'],
    [{ services: { payments: { padding: 'power-of-two' } } }, 'services.payments.padding'],
  ];
  for (const [config, field] of INVALID) {
    it(`${JSON.stringify(config)} -> ERR_CONFIG_INVALID naming ${field}`, () => {
      let error: unknown;
      try {
        resolveConfig(config as never);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'ERR_CONFIG_INVALID' });
      expect((error as Error).message).toContain(`invalid config ${field}:`);
    });
  }

  it('off by default; the top level applies to every service; a service overrides it, false included', () => {
    expect(resolveConfig({}).serviceConfig('orders').padding).toBeUndefined();
    const config = resolveConfig({
      padding: { multipleOf: 256 },
      services: { audit: { padding: false }, search: { padding: { powerOfTwo: true, minBytes: 64 } } },
    });
    expect(config.serviceConfig('orders').padding).toEqual({ multipleOf: 256 });
    expect(config.serviceConfig('audit').padding).toBeUndefined();
    expect(config.serviceConfig('search').padding).toEqual({
      powerOfTwo: true,
      minBytes: 64,
      maxBytes: 1024 * 1024,
    });
    expect(
      resolveConfig({ services: { search: { padding: { multipleOf: 32 } } } }).serviceConfig('orders')
        .padding,
    ).toBeUndefined();
  });
});
