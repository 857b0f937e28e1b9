/** HMAC-SHA256 and SHA-256 suite, run once per backend. */
import { eachTest, hmacSha256Vectors } from '@mesh/test-vectors';
import { describe, expect, it } from 'vitest';
import { hmacSha256, hmacSha256Verify, type SymmetricBackend, sha256 } from '../../src/index.js';
import { expectCode, hex, reportVectors, unhex } from '../helpers.js';

const FILE = 'hmac_sha256_test.json';

export function hmacSuite(backend: SymmetricBackend): void {
  describe(`HMAC-SHA256 on ${backend.name}`, () => {
    it(`passes every Wycheproof vector in ${FILE}, truncated tags included`, () => {
      const file = hmacSha256Vectors();
      const all = eachTest(file);
      expect(all.length).toBe(file.numberOfTests);
      let ran = 0;
      let truncated = 0;
      for (const { group, test } of all) {
        const key = unhex(test.key);
        const msg = unhex(test.msg);
        const tag = unhex(test.tag);
        const label = `tcId ${test.tcId}`;
        expect(tag.length * 8, label).toBe(group.tagSize);
        if (group.tagSize < 256) truncated++;
        const prefix = hex(hmacSha256(key, msg, backend).subarray(0, group.tagSize / 8));
        ran++;
        if (test.result === 'valid') {
          expect(prefix, label).toBe(test.tag);
          expect(hmacSha256Verify(key, msg, tag, backend), label).toBe(true);
        } else {
          expect(test.result, label).toBe('invalid');
          expect(prefix, label).not.toBe(test.tag);
          expect(hmacSha256Verify(key, msg, tag, backend), label).toBe(false);
        }
      }
      expect(truncated).toBeGreaterThan(0);
      reportVectors(FILE, backend.name, ran, file.numberOfTests, `${truncated} with 128-bit truncated tags`);
    });

    it('computes SHA-256 (FIPS 180-4 examples) and refuses out-of-range tag lengths', () => {
      expect(hex(sha256('abc', backend))).toBe(
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      );
      expect(hex(sha256('', backend))).toBe(
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      );
      expectCode(
        () => hmacSha256Verify(new Uint8Array(1), 'm', new Uint8Array(15), backend),
        'ERR_INVALID_INPUT',
      );
      expectCode(
        () => hmacSha256Verify(new Uint8Array(1), 'm', new Uint8Array(33), backend),
        'ERR_INVALID_INPUT',
      );
    });
  });
}
