/**
 * Property tests (fast-check): for random inputs the node and forge backends produce identical bytes and
 * open each other's output.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type GcmParams, gcmOpen, gcmOpenDetached, gcmSeal, gcmSealDetached } from '../src/_gcm.js';
import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  aesGcmDecrypt,
  aesGcmEncrypt,
  aesGcmOpenDetached,
  aesGcmSeal,
  Fernet,
  forgeBackend,
  hkdfSha256,
  hmacSha256,
  nodeBackend,
  pbkdf2Sha256,
} from '../src/index.js';
import { hex } from './helpers.js';

const node = nodeBackend;
const forge = forgeBackend;
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const RUNS = { numRuns: 60 };

describe('node and forge agree byte for byte', () => {
  it('AES-256-GCM (public API): same ciphertext and tag, each opens the other', () => {
    fc.assert(
      fc.property(
        bytes(32, 32),
        bytes(12, 12),
        bytes(0, 3000),
        fc.option(bytes(0, 300), { nil: undefined }),
        (key, nonce, pt, aad) => {
          const a = aesGcmEncrypt(key, nonce, pt, aad, node);
          const b = aesGcmEncrypt(key, nonce, pt, aad, forge);
          expect(hex(a)).toBe(hex(b));
          expect(hex(aesGcmDecrypt(key, nonce, a, aad, forge))).toBe(hex(pt));
          expect(hex(aesGcmDecrypt(key, nonce, b, aad, node))).toBe(hex(pt));
          // Detached: the same bytes apart, and each backend opens the other's parts.
          const dn = aesGcmSeal(key, nonce, pt, aad, node);
          const df = aesGcmSeal(key, nonce, pt, aad, forge);
          expect(hex(dn.ciphertext) + hex(dn.tag)).toBe(hex(a));
          expect(hex(df.ciphertext) + hex(df.tag)).toBe(hex(a));
          expect(hex(aesGcmOpenDetached(key, nonce, dn.ciphertext, dn.tag, aad, forge))).toBe(hex(pt));
          expect(hex(aesGcmOpenDetached(key, nonce, df.ciphertext, df.tag, aad, node))).toBe(hex(pt));
        },
      ),
      RUNS,
    );
  });

  it('AES-GCM with every key size and nonce lengths 1..128 bytes', () => {
    const params: GcmParams = { keyLengths: [16, 24, 32], nonceLength: undefined, tagLength: 16 };
    const key = fc.constantFrom(16, 24, 32).chain((n) => bytes(n, n));
    fc.assert(
      fc.property(key, bytes(1, 128), bytes(0, 500), bytes(0, 64), (k, nonce, pt, aad) => {
        const a = gcmSeal(params, k, nonce, pt, aad, node);
        expect(hex(gcmSeal(params, k, nonce, pt, aad, forge))).toBe(hex(a));
        expect(hex(gcmOpen(params, k, nonce, a, aad, forge))).toBe(hex(pt));
        const d = gcmSealDetached(params, k, nonce, pt, aad, forge);
        expect(hex(d.ciphertext) + hex(d.tag)).toBe(hex(a));
        expect(hex(gcmOpenDetached(params, k, nonce, d.ciphertext, d.tag, aad, node))).toBe(hex(pt));
      }),
      RUNS,
    );
  });

  it('AES-CBC/PKCS#7', () => {
    const key = fc.constantFrom(16, 24, 32).chain((n) => bytes(n, n));
    fc.assert(
      fc.property(key, bytes(16, 16), bytes(0, 2000), (k, iv, pt) => {
        const a = aesCbcEncrypt(k, iv, pt, node);
        expect(hex(aesCbcEncrypt(k, iv, pt, forge))).toBe(hex(a));
        expect(hex(aesCbcDecrypt(k, iv, a, forge))).toBe(hex(pt));
        expect(hex(aesCbcDecrypt(k, iv, a, node))).toBe(hex(pt));
      }),
      RUNS,
    );
  });

  it('HMAC-SHA256 (keys shorter and longer than the 64-byte block)', () => {
    fc.assert(
      fc.property(bytes(0, 200), bytes(0, 2000), (k, m) => {
        expect(hex(hmacSha256(k, m, forge))).toBe(hex(hmacSha256(k, m, node)));
      }),
      RUNS,
    );
  });

  it('HKDF-SHA256 (info up to 1100 bytes crosses node:crypto 1024-byte limit)', () => {
    fc.assert(
      fc.property(
        bytes(0, 80),
        bytes(0, 80),
        bytes(0, 1100),
        fc.integer({ min: 1, max: 8160 }),
        (ikm, salt, info, n) => {
          expect(hex(hkdfSha256(ikm, salt, info, n, forge))).toBe(hex(hkdfSha256(ikm, salt, info, n, node)));
        },
      ),
      RUNS,
    );
  });

  it('PBKDF2-HMAC-SHA256 (small iteration counts)', async () => {
    await fc.assert(
      fc.asyncProperty(
        bytes(0, 100),
        bytes(0, 40),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 100 }),
        async (pw, salt, it, n) => {
          const a = await pbkdf2Sha256(pw, salt, it, n, { backend: node });
          const b = await pbkdf2Sha256(pw, salt, it, n, { backend: forge });
          expect(hex(b)).toBe(hex(a));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('Fernet with a fixed IV and time: same token, each decrypts the other', () => {
    fc.assert(
      fc.property(
        bytes(32, 32),
        bytes(16, 16),
        fc.integer({ min: 0, max: 2 ** 40 }),
        bytes(0, 2000),
        (key, iv, now, pt) => {
          const fn = new Fernet(key, { backend: node });
          const ff = new Fernet(key, { backend: forge });
          const t = fn.encrypt(pt, { iv, now });
          expect(ff.encrypt(pt, { iv, now })).toBe(t);
          expect(hex(ff.decrypt(t))).toBe(hex(pt));
          expect(hex(fn.decrypt(ff.encrypt(pt)))).toBe(hex(pt));
          expect(ff.extractTimestamp(t)).toBe(now);
        },
      ),
      RUNS,
    );
  });
});
