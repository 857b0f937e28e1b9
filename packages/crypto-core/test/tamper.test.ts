/**
 * Tampering: every single-bit flip of a GCM nonce, ciphertext, tag or AAD, and of a Fernet token, is rejected
 * with the exact error code. Exhaustive over every bit of one sample per backend, plus random samples.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  base64UrlEncode,
  Fernet,
  type MeshErrorCode,
  type SymmetricBackend,
} from '../src/index.js';
import { BACKENDS, hex, outcome } from './helpers.js';

function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes); // a copy even for a Buffer (whose slice() is a view)
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

/** Flip each bit of nonce | ciphertext | tag | aad in turn; count the flips that decrypt. */
function gcmFlipOutcomes(
  backend: SymmetricBackend,
  key: Uint8Array,
  nonce: Uint8Array,
  pt: Uint8Array,
  aad: Uint8Array,
  bits: Iterable<number>,
): Map<string, number> {
  const sealed = aesGcmEncrypt(key, nonce, pt, aad, backend);
  const tally = new Map<string, number>();
  const nonceBits = nonce.length * 8;
  const sealedBits = sealed.length * 8;
  for (const bit of bits) {
    let result: MeshErrorCode | 'ok';
    if (bit < nonceBits) result = outcome(() => aesGcmDecrypt(key, flip(nonce, bit), sealed, aad, backend));
    else if (bit < nonceBits + sealedBits) {
      result = outcome(() => aesGcmDecrypt(key, nonce, flip(sealed, bit - nonceBits), aad, backend));
    } else
      result = outcome(() =>
        aesGcmDecrypt(key, nonce, sealed, flip(aad, bit - nonceBits - sealedBits), backend),
      );
    tally.set(result, (tally.get(result) ?? 0) + 1);
  }
  return tally;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The error the token must give when `tokenBytes` is the (possibly altered) decoded token. */
function expectedForBytes(tokenBytes: Uint8Array): MeshErrorCode {
  return tokenBytes[0] !== 0x80 ? 'ERR_TOKEN_MALFORMED' : 'ERR_DECRYPTION_FAILED';
}

/**
 * Independent model of the strict base64url reader: what must a Fernet token text with one altered character
 * give? Uses Node's decoder plus re-encoding, not our parser.
 */
function expectedForText(text: string, original: Uint8Array): MeshErrorCode {
  const body = text.replace(/=+$/, '');
  const padding = text.length - body.length;
  const canonical =
    /^[A-Za-z0-9_-]*$/.test(body) && (padding === 0 || text.length % 4 === 0) && body.length % 4 !== 1;
  if (!canonical) return 'ERR_TOKEN_MALFORMED';
  const decoded = Buffer.from(body, 'base64url');
  if (decoded.toString('base64url') !== body) return 'ERR_TOKEN_MALFORMED'; // non-zero spare bits
  if (padding !== 0 && padding !== (4 - (body.length % 4)) % 4) return 'ERR_TOKEN_MALFORMED';
  if (decoded.length !== original.length) return 'ERR_TOKEN_MALFORMED';
  return expectedForBytes(decoded);
}

for (const backend of BACKENDS) {
  describe(`tampering on ${backend.name}`, () => {
    it('every single-bit flip of GCM nonce, ciphertext, tag and AAD fails with ERR_DECRYPTION_FAILED', () => {
      const key = new Uint8Array(32).map((_, i) => i * 7);
      const nonce = new Uint8Array(12).map((_, i) => i + 100);
      const pt = new TextEncoder().encode('attack at dawn, bring coffee');
      const aad = new TextEncoder().encode('orders->payments');
      const total = (nonce.length + pt.length + 16 + aad.length) * 8;
      const tally = gcmFlipOutcomes(backend, key, nonce, pt, aad, range(total));
      expect(Object.fromEntries(tally)).toEqual({ ERR_DECRYPTION_FAILED: total });
    });

    it('random GCM messages: random single-bit flips fail with ERR_DECRYPTION_FAILED', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.uint8Array({ minLength: 12, maxLength: 12 }),
          fc.uint8Array({ maxLength: 300 }),
          fc.uint8Array({ minLength: 1, maxLength: 40 }),
          fc.nat(),
          (key, nonce, pt, aad, r) => {
            const total = (12 + pt.length + 16 + aad.length) * 8;
            const tally = gcmFlipOutcomes(backend, key, nonce, pt, aad, [r % total]);
            expect(Object.fromEntries(tally)).toEqual({ ERR_DECRYPTION_FAILED: 1 });
          },
        ),
        { numRuns: 100 },
      );
    });

    it('every single-bit flip of a decoded Fernet token fails with the exact code (with and without TTL)', () => {
      const f = new Fernet(
        new Uint8Array(32).map((_, i) => 255 - i),
        { backend },
      );
      const t = 1_700_000_000;
      const token = f.encrypt('a Fernet token under attack', { now: t });
      const bytes = Buffer.from(token, 'base64url');
      const counts: Record<string, number> = {};
      for (let bit = 0; bit < bytes.length * 8; bit++) {
        const altered = flip(bytes, bit);
        const text = base64UrlEncode(altered);
        const expected = expectedForBytes(altered);
        expect(
          outcome(() => f.decrypt(text)),
          `bit ${bit}`,
        ).toBe(expected);
        // With a TTL the MAC is still checked first: an altered timestamp never yields ERR_TOKEN_EXPIRED.
        expect(
          outcome(() => f.decrypt(text, { ttl: 60, now: t })),
          `bit ${bit}`,
        ).toBe(expected);
        counts[expected] = (counts[expected] ?? 0) + 1;
      }
      // The 8 bits of the version byte give ERR_TOKEN_MALFORMED; every other bit ERR_DECRYPTION_FAILED.
      expect(counts).toEqual({ ERR_TOKEN_MALFORMED: 8, ERR_DECRYPTION_FAILED: bytes.length * 8 - 8 });
      expect(hex(f.decrypt(token))).toBe(hex(new TextEncoder().encode('a Fernet token under attack')));
    });

    it('every single-bit flip of a Fernet token text is rejected with the code the base64 model predicts', () => {
      const f = new Fernet(new Uint8Array(32).fill(9), { backend });
      const token = f.encrypt('x'.repeat(20), { now: 1_000 }); // 89 bytes: ends in one '=' of padding
      expect(token.endsWith('=')).toBe(true);
      const original = Buffer.from(token, 'base64url');
      const counts: Record<string, number> = {};
      for (let i = 0; i < token.length; i++) {
        for (let b = 0; b < 8; b++) {
          const c = String.fromCharCode(token.charCodeAt(i) ^ (1 << b));
          const text = token.slice(0, i) + c + token.slice(i + 1);
          const expected = expectedForText(text, original);
          expect(
            outcome(() => f.decrypt(text)),
            `char ${i} bit ${b}: ${JSON.stringify(text.slice(i - 2, i + 3))}`,
          ).toBe(expected);
          counts[expected] = (counts[expected] ?? 0) + 1;
        }
      }
      expect(counts.ok).toBeUndefined();
      expect(counts.ERR_DECRYPTION_FAILED).toBeGreaterThan(0);
      expect(counts.ERR_TOKEN_MALFORMED).toBeGreaterThan(0);
    });
  });
}
