/**
 * Property tests (fast-check) for the ChaCha20-Poly1305 family: for random keys, nonces, messages and AAD
 * the sodium and noble backends produce identical bytes and open each other's output; every single-bit flip
 * of nonce, ciphertext, tag or AAD fails with ERR_DECRYPTION_FAILED on both.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ChaChaParams, chachaOpen, chachaSeal } from '../src/_chacha.js';
import {
  type ChaChaBackend,
  getChaChaBackend,
  type MeshErrorCode,
  nobleChaChaBackend,
  xchacha20Poly1305Decrypt,
  xchacha20Poly1305Encrypt,
  xchacha20Poly1305EncryptInto,
} from '../src/index.js';
import { hex, outcome } from './helpers.js';

const sodium = getChaChaBackend('sodium');
const noble = nobleChaChaBackend;
const BACKENDS: readonly ChaChaBackend[] = [sodium, noble];
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const RUNS = { numRuns: 80 };

function flip(a: Uint8Array, bit: number): Uint8Array {
  const copy = new Uint8Array(a);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

describe('sodium and noble agree byte for byte', () => {
  it('XChaCha20-Poly1305 (public API): same bytes, each opens the other', () => {
    fc.assert(
      fc.property(
        bytes(32, 32),
        bytes(24, 24),
        bytes(0, 3000),
        fc.option(bytes(0, 300), { nil: undefined }),
        (key, nonce, pt, aad) => {
          const a = xchacha20Poly1305Encrypt(key, nonce, pt, aad, sodium);
          const b = xchacha20Poly1305Encrypt(key, nonce, pt, aad, noble);
          expect(hex(b)).toBe(hex(a));
          expect(hex(xchacha20Poly1305Decrypt(key, nonce, a, aad, noble))).toBe(hex(pt));
          expect(hex(xchacha20Poly1305Decrypt(key, nonce, b, aad, sodium))).toBe(hex(pt));
          // Into a buffer at an offset: the same bytes.
          const out = new Uint8Array(pt.length + 16 + 7);
          xchacha20Poly1305EncryptInto(key, nonce, pt, aad, out, 7, noble);
          expect(hex(out.subarray(7))).toBe(hex(a));
        },
      ),
      RUNS,
    );
  });

  it('ChaCha20-Poly1305 (RFC 8439, 12-byte nonce)', () => {
    const params: ChaChaParams = { nonceLength: 12 };
    fc.assert(
      fc.property(bytes(32, 32), bytes(12, 12), bytes(0, 2000), bytes(0, 100), (key, nonce, pt, aad) => {
        const a = chachaSeal(params, key, nonce, pt, aad, sodium);
        expect(hex(chachaSeal(params, key, nonce, pt, aad, noble))).toBe(hex(a));
        expect(hex(chachaOpen(params, key, nonce, a, aad, noble))).toBe(hex(pt));
        expect(hex(chachaOpen(params, key, nonce, a, aad, sodium))).toBe(hex(pt));
      }),
      RUNS,
    );
  });

  it('an empty AAD and no AAD are the same AEAD input on both backends', () => {
    fc.assert(
      fc.property(bytes(32, 32), bytes(24, 24), bytes(0, 200), (key, nonce, pt) => {
        const none = hex(xchacha20Poly1305Encrypt(key, nonce, pt, undefined, sodium));
        expect(hex(xchacha20Poly1305Encrypt(key, nonce, pt, new Uint8Array(0), noble))).toBe(none);
        expect(hex(xchacha20Poly1305Encrypt(key, nonce, pt, '', sodium))).toBe(none);
      }),
      { numRuns: 30 },
    );
  });
});

describe('bit flips fail with ERR_DECRYPTION_FAILED', () => {
  /** Flip each bit of nonce | ciphertext+tag | aad; tally the outcomes. */
  function tally(
    backend: ChaChaBackend,
    key: Uint8Array,
    nonce: Uint8Array,
    pt: Uint8Array,
    aad: Uint8Array,
  ) {
    const sealed = xchacha20Poly1305Encrypt(key, nonce, pt, aad, backend);
    const counts = new Map<MeshErrorCode | 'ok', number>();
    const nBits = nonce.length * 8;
    const sBits = sealed.length * 8;
    for (let bit = 0; bit < nBits + sBits + aad.length * 8; bit++) {
      const r =
        bit < nBits
          ? outcome(() => xchacha20Poly1305Decrypt(key, flip(nonce, bit), sealed, aad, backend))
          : bit < nBits + sBits
            ? outcome(() => xchacha20Poly1305Decrypt(key, nonce, flip(sealed, bit - nBits), aad, backend))
            : outcome(() =>
                xchacha20Poly1305Decrypt(key, nonce, sealed, flip(aad, bit - nBits - sBits), backend),
              );
      counts.set(r, (counts.get(r) ?? 0) + 1);
    }
    return { counts, total: nBits + sBits + aad.length * 8 };
  }

  for (const backend of BACKENDS) {
    it(`every bit of one sample on ${backend.name}`, () => {
      const { counts, total } = tally(
        backend,
        new Uint8Array(32).fill(3),
        new Uint8Array(24).fill(4),
        new TextEncoder().encode('attack at dawn'),
        new TextEncoder().encode('orders->payments'),
      );
      expect(total).toBe((24 + 14 + 16 + 16) * 8);
      expect([...counts]).toEqual([['ERR_DECRYPTION_FAILED', total]]);
    });
  }

  it('random bits of random messages, on both backends', () => {
    fc.assert(
      fc.property(
        bytes(32, 32),
        bytes(24, 24),
        bytes(0, 500),
        bytes(1, 64),
        fc.nat(),
        (key, nonce, pt, aad, pick) => {
          const sealed = xchacha20Poly1305Encrypt(key, nonce, pt, aad, sodium);
          const bits = (24 + sealed.length + aad.length) * 8;
          const bit = pick % bits;
          for (const backend of BACKENDS) {
            const r =
              bit < 192
                ? outcome(() => xchacha20Poly1305Decrypt(key, flip(nonce, bit), sealed, aad, backend))
                : bit < 192 + sealed.length * 8
                  ? outcome(() => xchacha20Poly1305Decrypt(key, nonce, flip(sealed, bit - 192), aad, backend))
                  : outcome(() =>
                      xchacha20Poly1305Decrypt(
                        key,
                        nonce,
                        sealed,
                        flip(aad, bit - 192 - sealed.length * 8),
                        backend,
                      ),
                    );
            expect(r).toBe('ERR_DECRYPTION_FAILED');
          }
        },
      ),
      RUNS,
    );
  });
});
