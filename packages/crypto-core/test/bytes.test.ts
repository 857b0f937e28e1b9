import { describe, expect, it } from 'vitest';
import {
  base64UrlDecode,
  base64UrlEncode,
  concatBytes,
  constantTimeEqual,
  forgeBackend,
  getBackend,
  MAX_RANDOM_BYTES,
  nodeBackend,
  randomBytes,
  randomUint32,
  toBytes,
  utf8Decode,
  utf8Encode,
  wipe,
} from '../src/index.js';
import { BACKENDS, expectCode, hex } from './helpers.js';

describe('bytes', () => {
  it('base64url round-trips every length 0..64 and matches RFC 4648 §10 vectors', () => {
    const rfc: Array<[string, string]> = [
      ['', ''],
      ['f', 'Zg'],
      ['fo', 'Zm8'],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg'],
      ['fooba', 'Zm9vYmE'],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, enc] of rfc) {
      expect(base64UrlEncode(utf8Encode(plain))).toBe(enc);
      expect(utf8Decode(base64UrlDecode(enc))).toBe(plain);
      expect(utf8Decode(base64UrlDecode(enc + '='.repeat((4 - (enc.length % 4)) % 4)))).toBe(plain);
    }
    expect(base64UrlEncode(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe('-_-_');
    for (let n = 0; n <= 64; n++) {
      const b = randomBytes(n);
      expect(hex(base64UrlDecode(base64UrlEncode(b)))).toBe(hex(b));
    }
  });

  it('base64url decoding is strict: alphabet, padding, canonical spare bits', () => {
    for (const bad of [
      'Zg=',
      'Zg===',
      'Z',
      'Zm9v=',
      'Zh',
      'Zm9',
      'Zm+v',
      'Zm/v',
      'Zm9v\n',
      ' Zm9v',
      'Z=g=',
      '=',
    ]) {
      expectCode(() => base64UrlDecode(bad), 'ERR_INVALID_INPUT');
    }
    expect(hex(base64UrlDecode('Zm8='))).toBe('666f');
  });

  it('constantTimeEqual compares content and length', () => {
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
    for (let i = 0; i < 32; i++) {
      const a = new Uint8Array(32);
      const b = new Uint8Array(32);
      b[i] = 0x80;
      expect(constantTimeEqual(a, b)).toBe(false);
    }
  });

  it('utf8Decode is fatal on invalid UTF-8 and keeps a BOM', () => {
    expectCode(() => utf8Decode(new Uint8Array([0xc3, 0x28])), 'ERR_INVALID_INPUT');
    expectCode(() => utf8Decode(new Uint8Array([0xed, 0xa0, 0x80])), 'ERR_INVALID_INPUT'); // lone surrogate
    expect(utf8Decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))).toBe('\uFEFFA');
  });

  it('concatBytes, toBytes, wipe', () => {
    expect(hex(concatBytes(new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3])))).toBe('010203');
    const b = new Uint8Array([9]);
    expect(toBytes(b)).toBe(b);
    expect(hex(toBytes('é'))).toBe('c3a9');
    expectCode(() => toBytes(5 as unknown as string), 'ERR_INVALID_INPUT');
    const secret = new Uint8Array([1, 2, 3]);
    wipe(secret);
    expect(hex(secret)).toBe('000000');
  });

  it('randomBytes: requested length, distinct draws, own memory, bounded', () => {
    for (const backend of BACKENDS) {
      const a = randomBytes(32, backend);
      const b = randomBytes(32, backend);
      expect(a.length).toBe(32);
      expect(hex(a)).not.toBe(hex(b));
      expect(a.buffer.byteLength).toBe(32); // not a slice of a shared pool
      expect(randomBytes(0, backend).length).toBe(0);
    }
    expectCode(() => randomBytes(-1), 'ERR_INVALID_INPUT');
    expectCode(() => randomBytes(MAX_RANDOM_BYTES + 1), 'ERR_INVALID_INPUT');
    expectCode(() => randomBytes(1.5), 'ERR_INVALID_INPUT');
    const ids = new Set(Array.from({ length: 64 }, () => randomUint32()));
    expect(ids.size).toBeGreaterThan(60);
    for (const id of ids) expect(Number.isInteger(id) && id >= 0 && id <= 0xffffffff).toBe(true);
  });

  it('getBackend returns the named backends', () => {
    expect(getBackend()).toBe(nodeBackend);
    expect(getBackend('node').name).toBe('node');
    expect(getBackend('forge')).toBe(forgeBackend);
    expectCode(() => getBackend('wasm' as 'node'), 'ERR_UNSUPPORTED_ALGORITHM');
  });
});
