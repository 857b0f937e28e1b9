/** AES-CBC/PKCS#7 suite, run once per backend. */
import { aesCbcPkcs5Vectors, eachTest } from '@mesh/test-vectors';
import { describe, expect, it } from 'vitest';
import { aesCbcDecrypt, aesCbcEncrypt, type SymmetricBackend } from '../../src/index.js';
import { expectCode, hex, reportVectors, unhex } from '../helpers.js';

const FILE = 'aes_cbc_pkcs5_test.json';

export function aesCbcSuite(backend: SymmetricBackend): void {
  describe(`AES-CBC-PKCS7 on ${backend.name}`, () => {
    it(`passes every Wycheproof vector in ${FILE}`, () => {
      const file = aesCbcPkcs5Vectors();
      const all = eachTest(file);
      expect(all.length).toBe(file.numberOfTests);
      let ran = 0;
      for (const { group, test } of all) {
        const key = unhex(test.key);
        const iv = unhex(test.iv);
        const ct = unhex(test.ct);
        const label = `tcId ${test.tcId}`;
        expect(key.length * 8, label).toBe(group.keySize);
        ran++;
        if (test.result === 'valid') {
          expect(hex(aesCbcEncrypt(key, iv, unhex(test.msg), backend)), label).toBe(test.ct);
          expect(hex(aesCbcDecrypt(key, iv, ct, backend)), label).toBe(test.msg);
        } else {
          expect(test.result, label).toBe('invalid');
          expectCode(() => aesCbcDecrypt(key, iv, ct, backend), 'ERR_DECRYPTION_FAILED');
        }
      }
      reportVectors(FILE, backend.name, ran, file.numberOfTests);
    });

    it('rejects every malformed PKCS#7 padding and accepts every well-formed one', () => {
      // Encrypt raw blocks ending in each possible final byte and check exactly which decrypt.
      const key = new Uint8Array(16).fill(3);
      const iv = new Uint8Array(16).fill(4);
      for (let n = 0; n <= 255; n++) {
        const block = new Uint8Array(16).fill(n);
        // Full-block padding of 16 under CBC: encrypt `block` followed by a padding block, drop the padding.
        const ct = aesCbcEncrypt(key, iv, block, backend).subarray(0, 16);
        const valid = n >= 1 && n <= 16;
        if (valid) expect(aesCbcDecrypt(key, iv, ct, backend).length).toBe(16 - n);
        else expectCode(() => aesCbcDecrypt(key, iv, ct, backend), 'ERR_DECRYPTION_FAILED');
      }
      // Right count, wrong filler byte.
      const bad = new Uint8Array(16).fill(4);
      bad[13] = 5;
      const ct = aesCbcEncrypt(key, iv, bad, backend).subarray(0, 16);
      expectCode(() => aesCbcDecrypt(key, iv, ct, backend), 'ERR_DECRYPTION_FAILED');
    });

    it('round-trips sizes around block and 64 KiB boundaries; the padding room behind the view is zeroed', () => {
      const key = new Uint8Array(32).fill(8);
      const iv = new Uint8Array(16).fill(9);
      for (const n of [0, 1, 15, 16, 17, 65_519, 65_535, 65_536, 65_537, 200_001]) {
        const msg = new Uint8Array(n).map((_, i) => (i * 7) & 0xff);
        const ct = aesCbcEncrypt(key, iv, msg, backend);
        expect(ct.length).toBe((Math.floor(n / 16) + 1) * 16);
        const plain = aesCbcDecrypt(key, iv, ct, backend);
        expect(hex(plain)).toBe(hex(msg));
        const behind = new Uint8Array(plain.buffer, plain.byteOffset + plain.length);
        expect(behind.every((b) => b === 0)).toBe(true);
      }
    });

    it('refuses bad lengths', () => {
      expectCode(
        () => aesCbcEncrypt(new Uint8Array(15), new Uint8Array(16), 'x', backend),
        'ERR_INVALID_INPUT',
      );
      expectCode(
        () => aesCbcEncrypt(new Uint8Array(16), new Uint8Array(12), 'x', backend),
        'ERR_INVALID_INPUT',
      );
      const k = new Uint8Array(16);
      expectCode(
        () => aesCbcDecrypt(k, new Uint8Array(16), new Uint8Array(0), backend),
        'ERR_DECRYPTION_FAILED',
      );
      expectCode(
        () => aesCbcDecrypt(k, new Uint8Array(16), new Uint8Array(17), backend),
        'ERR_DECRYPTION_FAILED',
      );
    });
  });
}
