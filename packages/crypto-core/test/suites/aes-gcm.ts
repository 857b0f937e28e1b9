/** AES-GCM suite, run once per backend: every Wycheproof vector the backend supports, plus API checks. */
import { aesGcmVectors, eachTest } from '@mesh/test-vectors';
import { describe, expect, it } from 'vitest';
import { type GcmParams, gcmOpen, gcmOpenDetached, gcmSeal, gcmSealDetached } from '../../src/_gcm.js';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  aesGcmEncryptInto,
  aesGcmOpenDetached,
  aesGcmSeal,
  type SymmetricBackend,
} from '../../src/index.js';
import { expectCode, hex, reportVectors, unhex } from '../helpers.js';

const FILE = 'aes_gcm_test.json';
/** Every key and nonce size the vectors use (the public API is fixed to 32/12). */
const VECTOR_PARAMS: GcmParams = { keyLengths: [16, 24, 32], nonceLength: undefined, tagLength: 16 };

export function aesGcmSuite(backend: SymmetricBackend): void {
  describe(`AES-GCM on ${backend.name}`, () => {
    it(`passes every applicable Wycheproof vector in ${FILE}`, () => {
      const file = aesGcmVectors();
      const all = eachTest(file);
      expect(all.length).toBe(file.numberOfTests);
      const supported = (ivBits: number) => ivBits / 8 <= backend.gcmMaxNonceLength;
      const applicable = all.filter(({ group }) => supported(group.ivSize)).length;
      let ran = 0;
      for (const { group, test } of all) {
        const key = unhex(test.key);
        const iv = unhex(test.iv);
        const aad = unhex(test.aad);
        const msg = unhex(test.msg);
        const sealed = unhex(test.ct + test.tag);
        const label = `tcId ${test.tcId}`;
        expect(group.tagSize, label).toBe(128);
        if (!supported(group.ivSize)) {
          // Not applicable on this backend: it must refuse with a typed error, never produce output.
          expectCode(() => gcmSeal(VECTOR_PARAMS, key, iv, msg, aad, backend), 'ERR_UNSUPPORTED_ALGORITHM');
          expectCode(
            () => gcmSealDetached(VECTOR_PARAMS, key, iv, msg, aad, backend),
            'ERR_UNSUPPORTED_ALGORITHM',
          );
          continue;
        }
        ran++;
        const publicApi = key.length === 32 && iv.length === 12;
        if (test.result === 'valid') {
          const ours = publicApi
            ? aesGcmEncrypt(key, iv, msg, aad, backend)
            : gcmSeal(VECTOR_PARAMS, key, iv, msg, aad, backend);
          expect(hex(ours), label).toBe(test.ct + test.tag);
          const opened = publicApi
            ? aesGcmDecrypt(key, iv, sealed, aad, backend)
            : gcmOpen(VECTOR_PARAMS, key, iv, sealed, aad, backend);
          expect(hex(opened), label).toBe(test.msg);
          // The detached entry points: same bytes, ciphertext and tag apart.
          const detached = publicApi
            ? aesGcmSeal(key, iv, msg, aad, backend)
            : gcmSealDetached(VECTOR_PARAMS, key, iv, msg, aad, backend);
          expect(hex(detached.ciphertext), label).toBe(test.ct);
          expect(hex(detached.tag), label).toBe(test.tag);
          const ct = unhex(test.ct);
          const tag = unhex(test.tag);
          const openedDetached = publicApi
            ? aesGcmOpenDetached(key, iv, ct, tag, aad, backend)
            : gcmOpenDetached(VECTOR_PARAMS, key, iv, ct, tag, aad, backend);
          expect(hex(openedDetached), label).toBe(test.msg);
        } else if (iv.length === 0) {
          // SP 800-38D §5.2.1.1: an empty IV is not allowed; refused before any work.
          expectCode(() => gcmSeal(VECTOR_PARAMS, key, iv, msg, aad, backend), 'ERR_INVALID_INPUT');
          expectCode(() => gcmOpen(VECTOR_PARAMS, key, iv, sealed, aad, backend), 'ERR_INVALID_INPUT');
          expectCode(() => gcmSealDetached(VECTOR_PARAMS, key, iv, msg, aad, backend), 'ERR_INVALID_INPUT');
          expectCode(
            () => gcmOpenDetached(VECTOR_PARAMS, key, iv, unhex(test.ct), unhex(test.tag), aad, backend),
            'ERR_INVALID_INPUT',
          );
        } else {
          expect(test.result, label).toBe('invalid');
          expectCode(
            () =>
              publicApi
                ? aesGcmDecrypt(key, iv, sealed, aad, backend)
                : gcmOpen(VECTOR_PARAMS, key, iv, sealed, aad, backend),
            'ERR_DECRYPTION_FAILED',
          );
          const ct = unhex(test.ct);
          const tag = unhex(test.tag);
          expectCode(
            () =>
              publicApi
                ? aesGcmOpenDetached(key, iv, ct, tag, aad, backend)
                : gcmOpenDetached(VECTOR_PARAMS, key, iv, ct, tag, aad, backend),
            'ERR_DECRYPTION_FAILED',
          );
        }
      }
      const skipped = all.length - applicable;
      reportVectors(
        FILE,
        backend.name,
        ran,
        applicable,
        skipped
          ? `${skipped} with nonces over ${backend.gcmMaxNonceLength} bytes refused with ERR_UNSUPPORTED_ALGORITHM`
          : '',
      );
    });

    it('encrypts into a caller buffer at an offset, leaving the rest untouched', () => {
      const file = aesGcmVectors();
      const cases = eachTest(file).filter(
        ({ group, test }) => group.keySize === 256 && group.ivSize === 96 && test.result === 'valid',
      );
      expect(cases.length).toBeGreaterThan(10);
      for (const { test } of cases) {
        const msg = unhex(test.msg);
        const out = new Uint8Array(7 + msg.length + 16 + 5).fill(0xa5);
        const end = aesGcmEncryptInto(unhex(test.key), unhex(test.iv), msg, unhex(test.aad), out, 7, backend);
        expect(end).toBe(7 + msg.length + 16);
        expect(hex(out.subarray(7, end))).toBe(test.ct + test.tag);
        expect([...out.subarray(0, 7), ...out.subarray(end)].every((b) => b === 0xa5)).toBe(true);
      }
    });

    it('encrypts in place and with a shifted overlap', () => {
      const key = new Uint8Array(32).fill(7);
      const nonce = new Uint8Array(12).fill(9);
      const msg = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff);
      const expected = hex(aesGcmEncrypt(key, nonce, msg, undefined, backend));
      const inPlace = new Uint8Array(msg.length + 16);
      inPlace.set(msg);
      aesGcmEncryptInto(key, nonce, inPlace.subarray(0, msg.length), undefined, inPlace, 0, backend);
      expect(hex(inPlace)).toBe(expected);
      const shifted = new Uint8Array(msg.length + 16 + 3);
      shifted.set(msg);
      aesGcmEncryptInto(key, nonce, shifted.subarray(0, msg.length), undefined, shifted, 3, backend);
      expect(hex(shifted.subarray(3))).toBe(expected);
      // A one-update message, with `out` itself a view at an offset into a larger buffer: in place at
      // outOffset, and shifted either way.
      const small = msg.subarray(0, 1000);
      const smallExpected = hex(aesGcmEncrypt(key, nonce, small, undefined, backend));
      for (const shift of [0, 3, -3]) {
        const whole = new Uint8Array(11 + small.length + 16 + 6);
        const out = whole.subarray(5);
        const outOffset = 4;
        const at = outOffset + shift;
        out.set(small, at);
        const end = aesGcmEncryptInto(
          key,
          nonce,
          out.subarray(at, at + small.length),
          undefined,
          out,
          outOffset,
          backend,
        );
        expect(hex(out.subarray(outOffset, end)), `shift ${shift}`).toBe(smallExpected);
      }
    });

    it('round-trips sizes around the 64 KiB chunk boundary', () => {
      const key = new Uint8Array(32).fill(1);
      const nonce = new Uint8Array(12).fill(2);
      for (const n of [0, 1, 15, 16, 17, 65_535, 65_536, 65_537, 3 * 65_536 + 5]) {
        const msg = new Uint8Array(n).map((_, i) => i & 0xff);
        const sealed = aesGcmEncrypt(key, nonce, msg, 'ctx', backend);
        expect(sealed.length).toBe(n + 16);
        expect(hex(aesGcmDecrypt(key, nonce, sealed, 'ctx', backend))).toBe(hex(msg));
        const { ciphertext, tag } = aesGcmSeal(key, nonce, msg, 'ctx', backend);
        expect(hex(ciphertext) + hex(tag)).toBe(hex(sealed));
        expect(hex(aesGcmOpenDetached(key, nonce, ciphertext, tag, 'ctx', backend))).toBe(hex(msg));
        // Views into one array (how a stream hands them over) open the same.
        const ct = sealed.subarray(0, n);
        expect(hex(aesGcmOpenDetached(key, nonce, ct, sealed.subarray(n), 'ctx', backend))).toBe(hex(msg));
      }
    });

    it('detached seal: two arrays that each own their memory, nothing else behind .buffer', () => {
      const key = new Uint8Array(32).fill(3);
      const nonce = new Uint8Array(12).fill(4);
      for (const n of [0, 1, 100, 65_536, 65_537, 200_000]) {
        const { ciphertext, tag } = aesGcmSeal(key, nonce, new Uint8Array(n).fill(5), undefined, backend);
        expect(ciphertext.length).toBe(n);
        expect(tag.length).toBe(16);
        for (const a of [ciphertext, tag]) {
          expect(Object.getPrototypeOf(a)).toBe(Uint8Array.prototype);
          expect(a.byteOffset).toBe(0);
          expect(a.buffer.byteLength).toBe(a.length);
        }
        expect(ciphertext.buffer).not.toBe(tag.buffer);
      }
    });

    it('detached open: every flipped bit, a wrong tag length or a swapped part fails with the one error', () => {
      const key = new Uint8Array(32).fill(6);
      const nonce = new Uint8Array(12).fill(7);
      const { ciphertext, tag } = aesGcmSeal(key, nonce, 'attack at dawn', 'aad', backend);
      for (let bit = 0; bit < (ciphertext.length + 16) * 8; bit++) {
        const ct = ciphertext.slice();
        const t = tag.slice();
        const i = bit >> 3;
        if (i < ct.length) ct[i]! ^= 1 << (bit & 7);
        else t[i - ct.length]! ^= 1 << (bit & 7);
        expectCode(() => aesGcmOpenDetached(key, nonce, ct, t, 'aad', backend), 'ERR_DECRYPTION_FAILED');
      }
      expectCode(
        () => aesGcmOpenDetached(key, nonce, ciphertext, tag.subarray(0, 12), 'aad', backend),
        'ERR_DECRYPTION_FAILED',
      );
      expectCode(
        () => aesGcmOpenDetached(key, nonce, ciphertext, new Uint8Array(17), 'aad', backend),
        'ERR_DECRYPTION_FAILED',
      );
      expectCode(
        () => aesGcmOpenDetached(key, nonce, tag, ciphertext, 'aad', backend),
        'ERR_DECRYPTION_FAILED',
      );
      expectCode(
        () => aesGcmOpenDetached(key, nonce, ciphertext, tag, 'aae', backend),
        'ERR_DECRYPTION_FAILED',
      );
      expectCode(
        () => aesGcmOpenDetached(key, nonce, ciphertext, 'tag' as unknown as Uint8Array, 'aad', backend),
        'ERR_INVALID_INPUT',
      );
      expectCode(
        () => aesGcmOpenDetached(key, new Uint8Array(11), ciphertext, tag, 'aad', backend),
        'ERR_INVALID_INPUT',
      );
      expectCode(() => aesGcmSeal(new Uint8Array(31), nonce, 'x', undefined, backend), 'ERR_INVALID_INPUT');
      expect(new TextDecoder().decode(aesGcmOpenDetached(key, nonce, ciphertext, tag, 'aad', backend))).toBe(
        'attack at dawn',
      );
    });

    it('refuses bad lengths with ERR_INVALID_INPUT and short input with ERR_DECRYPTION_FAILED', () => {
      const key = new Uint8Array(32);
      const nonce = new Uint8Array(12);
      expectCode(
        () => aesGcmEncrypt(new Uint8Array(16), nonce, 'x', undefined, backend),
        'ERR_INVALID_INPUT',
      );
      expectCode(() => aesGcmEncrypt(key, new Uint8Array(16), 'x', undefined, backend), 'ERR_INVALID_INPUT');
      expectCode(
        () => aesGcmEncrypt('k' as unknown as Uint8Array, nonce, 'x', undefined, backend),
        'ERR_INVALID_INPUT',
      );
      expectCode(
        () => aesGcmEncryptInto(key, nonce, 'abc', undefined, new Uint8Array(18), 0, backend),
        'ERR_INVALID_INPUT',
      );
      expectCode(
        () => aesGcmEncryptInto(key, nonce, 'abc', undefined, new Uint8Array(40), -1, backend),
        'ERR_INVALID_INPUT',
      );
      expectCode(
        () => aesGcmDecrypt(key, nonce, new Uint8Array(15), undefined, backend),
        'ERR_DECRYPTION_FAILED',
      );
      const sealed = aesGcmEncrypt(key, nonce, 'abc', 'aad', backend);
      expectCode(() => aesGcmDecrypt(key, nonce, sealed, undefined, backend), 'ERR_DECRYPTION_FAILED');
      expectCode(() => aesGcmDecrypt(key, nonce, sealed, 'aae', backend), 'ERR_DECRYPTION_FAILED');
    });
  });
}
