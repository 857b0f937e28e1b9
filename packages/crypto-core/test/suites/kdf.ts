/** HKDF-SHA256 and PBKDF2-HMAC-SHA256 suites, run once per backend. */
import {
  eachTest,
  hkdfSha256Vectors,
  pbkdf2HmacSha256Vectors,
  rfcHkdfSha256Vectors,
  rfcPbkdf2Sha256Vectors,
} from '@mesh/test-vectors';
import { describe, expect, it } from 'vitest';
import { hkdfSha256, hmacSha256, pbkdf2Sha256, type SymmetricBackend } from '../../src/index.js';
import { expectCode, expectRejectCode, hex, reportVectors, unhex } from '../helpers.js';

const HKDF_FILE = 'hkdf_sha256_test.json';
const PBKDF2_FILE = 'pbkdf2_hmacsha256_test.json';

export function hkdfSuite(backend: SymmetricBackend): void {
  describe(`HKDF-SHA256 on ${backend.name}`, () => {
    it(`passes every Wycheproof vector in ${HKDF_FILE}`, () => {
      const file = hkdfSha256Vectors();
      const all = eachTest(file);
      expect(all.length).toBe(file.numberOfTests);
      let ran = 0;
      for (const { test } of all) {
        const label = `tcId ${test.tcId}`;
        const derive = () =>
          hkdfSha256(unhex(test.ikm), unhex(test.salt), unhex(test.info), test.size, backend);
        ran++;
        if (test.result === 'valid') expect(hex(derive()), label).toBe(test.okm);
        else expectCode(derive, 'ERR_KEY_DERIVATION');
      }
      reportVectors(HKDF_FILE, backend.name, ran, file.numberOfTests);
    });

    it('passes the RFC 5869 Appendix A vectors, PRK included', () => {
      const { vectors } = rfcHkdfSha256Vectors();
      for (const v of vectors) {
        // HKDF-Extract (§2.2) is HMAC(salt, IKM): check the intermediate too.
        expect(hex(hmacSha256(unhex(v.salt), unhex(v.ikm), backend))).toBe(v.prk);
        expect(hex(hkdfSha256(unhex(v.ikm), unhex(v.salt), unhex(v.info), v.L, backend))).toBe(v.okm);
      }
      reportVectors('rfc/hkdf_sha256.json', backend.name, vectors.length, 3);
    });

    it('handles info longer than 1024 bytes and refuses lengths outside 1..8160', () => {
      const okm = hkdfSha256(new Uint8Array(32).fill(1), 'salt', new Uint8Array(1500).fill(2), 100, backend);
      expect(okm.length).toBe(100);
      for (const bad of [0, -1, 8161, 1.5, Number.NaN]) {
        expectCode(() => hkdfSha256(new Uint8Array(32), '', '', bad, backend), 'ERR_KEY_DERIVATION');
      }
    });
  });
}

export function pbkdf2Suite(backend: SymmetricBackend): void {
  describe(`PBKDF2-HMAC-SHA256 on ${backend.name}`, () => {
    it(`passes every Wycheproof vector in ${PBKDF2_FILE}`, async () => {
      const file = pbkdf2HmacSha256Vectors();
      const all = eachTest(file);
      expect(all.length).toBe(file.numberOfTests);
      const started = performance.now();
      let ran = 0;
      for (const { test } of all) {
        expect(test.result).toBe('valid');
        const dk = await pbkdf2Sha256(
          unhex(test.password),
          unhex(test.salt),
          test.iterationCount,
          test.dkLen,
          {
            backend,
          },
        );
        expect(hex(dk), `tcId ${test.tcId}`).toBe(test.dk);
        ran++;
      }
      console.log(`PBKDF2 vectors on ${backend.name}: ${Math.round(performance.now() - started)} ms`);
      reportVectors(PBKDF2_FILE, backend.name, ran, file.numberOfTests);
    });

    it('passes the RFC 7914 §11 vectors (string password and salt)', async () => {
      const { vectors } = rfcPbkdf2Sha256Vectors();
      for (const v of vectors) {
        const dk = await pbkdf2Sha256(v.password_ascii, v.salt_ascii, v.iterations, v.dkLen, { backend });
        expect(hex(dk)).toBe(v.dk);
      }
      reportVectors('rfc/pbkdf2_hmac_sha256.json', backend.name, vectors.length, 2);
    });

    it('bounds iterations and length with ERR_KEY_DERIVATION', async () => {
      const salt = new Uint8Array(16);
      await expectRejectCode(pbkdf2Sha256('pw', salt, 0, 32, { backend }), 'ERR_KEY_DERIVATION');
      await expectRejectCode(pbkdf2Sha256('pw', salt, 10_000_001, 32, { backend }), 'ERR_KEY_DERIVATION');
      await expectRejectCode(
        pbkdf2Sha256('pw', salt, 1001, 32, { backend, maxIterations: 1000 }),
        'ERR_KEY_DERIVATION',
      );
      await expectRejectCode(pbkdf2Sha256('pw', salt, 1, 0, { backend }), 'ERR_KEY_DERIVATION');
      await expectRejectCode(pbkdf2Sha256('pw', salt, 1, 1025, { backend }), 'ERR_KEY_DERIVATION');
      await expectRejectCode(pbkdf2Sha256('pw', salt, 2.5, 32, { backend }), 'ERR_KEY_DERIVATION');
    });
  });
}
