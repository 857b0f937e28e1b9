/**
 * ChaCha20-Poly1305 / XChaCha20-Poly1305 suite, run once per backend: every Wycheproof vector of both files,
 * plus the checks of the public XChaCha API (outputs, offsets, overlap, bad input).
 */
import {
  type ChaChaPolyVectors,
  chacha20Poly1305Vectors,
  eachTest,
  xchacha20Poly1305Vectors,
} from '@mesh/test-vectors';
import { describe, expect, it } from 'vitest';
import { type ChaChaParams, chachaOpen, chachaSeal, chachaSealInto } from '../../src/_chacha.js';
import {
  type ChaChaBackend,
  xchacha20Poly1305Decrypt,
  xchacha20Poly1305Encrypt,
  xchacha20Poly1305EncryptInto,
  xchacha20Poly1305SealInto,
} from '../../src/index.js';
import { expectCode, hex, reportVectors, unhex } from '../helpers.js';

const FILES: ReadonlyArray<{ file: string; load: () => ChaChaPolyVectors; params: ChaChaParams }> = [
  { file: 'chacha20_poly1305_test.json', load: chacha20Poly1305Vectors, params: { nonceLength: 12 } },
  { file: 'xchacha20_poly1305_test.json', load: xchacha20Poly1305Vectors, params: { nonceLength: 24 } },
];

/** Expect `a` to be a plain Uint8Array that owns its whole ArrayBuffer. */
export function expectOwnsBuffer(a: Uint8Array): void {
  expect(Object.getPrototypeOf(a)).toBe(Uint8Array.prototype);
  expect(a.byteOffset).toBe(0);
  expect(a.buffer.byteLength).toBe(a.length);
}

export function chachaPolySuite(backend: ChaChaBackend): void {
  describe(`ChaCha20-Poly1305 family on ${backend.name}`, () => {
    for (const { file, load, params } of FILES) {
      it(`passes every Wycheproof vector in ${file}`, () => {
        const vectors = load();
        const all = eachTest(vectors);
        expect(all.length).toBe(vectors.numberOfTests);
        let ran = 0;
        let refusedNonces = 0;
        for (const { group, test } of all) {
          const label = `tcId ${test.tcId}`;
          expect(group.keySize, label).toBe(256);
          expect(group.tagSize, label).toBe(128);
          const key = unhex(test.key);
          const iv = unhex(test.iv);
          const aad = unhex(test.aad);
          const msg = unhex(test.msg);
          const sealed = unhex(test.ct + test.tag);
          const publicApi = params.nonceLength === 24 && iv.length === 24;
          ran++;
          if (iv.length !== params.nonceLength) {
            // Wycheproof marks every other nonce length invalid: refused as bad input before any work.
            expect(test.result, label).toBe('invalid');
            refusedNonces++;
            expectCode(() => chachaSeal(params, key, iv, msg, aad, backend), 'ERR_INVALID_INPUT');
            expectCode(() => chachaOpen(params, key, iv, sealed, aad, backend), 'ERR_INVALID_INPUT');
            continue;
          }
          if (test.result === 'valid') {
            const ours = publicApi
              ? xchacha20Poly1305Encrypt(key, iv, msg, aad, backend)
              : chachaSeal(params, key, iv, msg, aad, backend);
            expect(hex(ours), label).toBe(test.ct + test.tag);
            expectOwnsBuffer(ours);
            const opened = publicApi
              ? xchacha20Poly1305Decrypt(key, iv, sealed, aad, backend)
              : chachaOpen(params, key, iv, sealed, aad, backend);
            expect(hex(opened), label).toBe(test.msg);
            expectOwnsBuffer(opened);
            // Into a caller buffer at an offset, the bytes around it untouched.
            const out = new Uint8Array(5 + sealed.length + 3).fill(0xa5);
            const end = chachaSealInto(params, key, iv, msg, aad, out, 5, backend);
            expect(end, label).toBe(5 + sealed.length);
            expect(hex(out.subarray(5, end)), label).toBe(test.ct + test.tag);
            expect([...out.subarray(0, 5), ...out.subarray(end)].every((b) => b === 0xa5)).toBe(true);
          } else {
            expect(test.result, label).toBe('invalid');
            expectCode(
              () =>
                publicApi
                  ? xchacha20Poly1305Decrypt(key, iv, sealed, aad, backend)
                  : chachaOpen(params, key, iv, sealed, aad, backend),
              'ERR_DECRYPTION_FAILED',
            );
          }
        }
        reportVectors(
          file,
          backend.name,
          ran,
          all.length,
          `${refusedNonces} with other nonce lengths refused with ERR_INVALID_INPUT`,
        );
      });
    }

    it('encrypts in place and with a shifted overlap', () => {
      const key = new Uint8Array(32).fill(7);
      const nonce = new Uint8Array(24).fill(9);
      const msg = new Uint8Array(100_000).map((_, i) => (i * 31) & 0xff);
      const expected = hex(xchacha20Poly1305Encrypt(key, nonce, msg, 'ctx', backend));
      const inPlace = new Uint8Array(msg.length + 16);
      inPlace.set(msg);
      xchacha20Poly1305EncryptInto(key, nonce, inPlace.subarray(0, msg.length), 'ctx', inPlace, 0, backend);
      expect(hex(inPlace)).toBe(expected);
      for (const shift of [3, -3]) {
        const buf = new Uint8Array(msg.length + 16 + 3);
        const from = shift > 0 ? 0 : 3;
        buf.set(msg, from);
        xchacha20Poly1305EncryptInto(
          key,
          nonce,
          buf.subarray(from, from + msg.length),
          'ctx',
          buf,
          from + shift,
          backend,
        );
        expect(hex(buf.subarray(from + shift, from + shift + msg.length + 16))).toBe(expected);
      }
    });

    it('seals with a fresh random nonce into a buffer, in place too, and refuses before writing', () => {
      const key = new Uint8Array(32).fill(5);
      const msg = new TextEncoder().encode('random nonce per message');
      const nonces = new Set<string>();
      for (let i = 0; i < 50; i++) {
        const out = new Uint8Array(3 + 24 + msg.length + 16 + 2).fill(0xee);
        const end = xchacha20Poly1305SealInto(key, msg, 'ctx', out, 3, backend);
        expect(end).toBe(3 + 24 + msg.length + 16);
        expect([out[0], out[1], out[2], out[end], out[end + 1]]).toEqual([0xee, 0xee, 0xee, 0xee, 0xee]);
        const nonce = out.subarray(3, 27);
        nonces.add(hex(nonce));
        expect(hex(out.subarray(27, end))).toBe(
          hex(xchacha20Poly1305Encrypt(key, nonce, msg, 'ctx', backend)),
        );
        expect(hex(xchacha20Poly1305Decrypt(key, nonce, out.subarray(27, end), 'ctx', backend))).toBe(
          hex(msg),
        );
      }
      expect(nonces.size).toBe(50);
      // The plaintext where the nonce goes (a shifted overlap): copied before the nonce overwrites it.
      const buf = new Uint8Array(24 + msg.length + 16);
      buf.set(msg, 0);
      xchacha20Poly1305SealInto(key, buf.subarray(0, msg.length), undefined, buf, 0, backend);
      expect(
        hex(xchacha20Poly1305Decrypt(key, buf.subarray(0, 24), buf.subarray(24), undefined, backend)),
      ).toBe(hex(msg));
      // Refused before anything is written.
      for (const bad of [
        () => xchacha20Poly1305SealInto(new Uint8Array(31), msg, undefined, buf.fill(0), 0, backend),
        () => xchacha20Poly1305SealInto(key, msg, 7 as unknown as string, buf.fill(0), 0, backend),
        () => xchacha20Poly1305SealInto(key, msg, undefined, buf.fill(0), 1, backend),
      ]) {
        expectCode(bad, 'ERR_INVALID_INPUT');
        expect(buf.every((b) => b === 0)).toBe(true);
      }
    });

    it('round-trips sizes from 0 to past 64 KiB; every output owns its memory', () => {
      const key = new Uint8Array(32).fill(1);
      const nonce = new Uint8Array(24).fill(2);
      for (const n of [0, 1, 63, 64, 65, 1024, 65_536, 65_537, 200_000]) {
        const msg = new Uint8Array(n).map((_, i) => i & 0xff);
        const sealed = xchacha20Poly1305Encrypt(key, nonce, msg, 'ctx', backend);
        expect(sealed.length).toBe(n + 16);
        expectOwnsBuffer(sealed);
        const opened = xchacha20Poly1305Decrypt(key, nonce, sealed, 'ctx', backend);
        expect(hex(opened)).toBe(hex(msg));
        expectOwnsBuffer(opened);
        // A view into a larger array (how an envelope hands it over) opens the same.
        const framed = new Uint8Array(n + 16 + 10);
        framed.set(sealed, 4);
        expect(
          hex(xchacha20Poly1305Decrypt(key, nonce, framed.subarray(4, 4 + n + 16), 'ctx', backend)),
        ).toBe(hex(msg));
      }
    });

    it('refuses bad lengths with ERR_INVALID_INPUT and short or altered input with ERR_DECRYPTION_FAILED', () => {
      const key = new Uint8Array(32);
      const nonce = new Uint8Array(24);
      expectCode(
        () => xchacha20Poly1305Encrypt(new Uint8Array(16), nonce, 'x', undefined, backend),
        'ERR_INVALID_INPUT',
      );
      expectCode(
        () => xchacha20Poly1305Encrypt(key, new Uint8Array(12), 'x', undefined, backend),
        'ERR_INVALID_INPUT',
      );
      expectCode(
        () => xchacha20Poly1305Encrypt('k' as unknown as Uint8Array, nonce, 'x', undefined, backend),
        'ERR_INVALID_INPUT',
      );
      expectCode(
        () => xchacha20Poly1305Encrypt(key, nonce, 42 as unknown as Uint8Array, undefined, backend),
        'ERR_INVALID_INPUT',
      );
      expectCode(
        () => xchacha20Poly1305EncryptInto(key, nonce, 'abc', undefined, new Uint8Array(18), 0, backend),
        'ERR_INVALID_INPUT',
      );
      expectCode(
        () => xchacha20Poly1305EncryptInto(key, nonce, 'abc', undefined, new Uint8Array(40), -1, backend),
        'ERR_INVALID_INPUT',
      );
      expectCode(
        () => xchacha20Poly1305EncryptInto(key, nonce, 'abc', undefined, new Uint8Array(40), 1.5, backend),
        'ERR_INVALID_INPUT',
      );
      for (const n of [0, 1, 15]) {
        expectCode(
          () => xchacha20Poly1305Decrypt(key, nonce, new Uint8Array(n), undefined, backend),
          'ERR_DECRYPTION_FAILED',
        );
      }
      const sealed = xchacha20Poly1305Encrypt(key, nonce, 'abc', 'aad', backend);
      expectCode(
        () => xchacha20Poly1305Decrypt(key, nonce, sealed, undefined, backend),
        'ERR_DECRYPTION_FAILED',
      );
      expectCode(() => xchacha20Poly1305Decrypt(key, nonce, sealed, 'aae', backend), 'ERR_DECRYPTION_FAILED');
      expectCode(
        () => xchacha20Poly1305Decrypt(new Uint8Array(32).fill(1), nonce, sealed, 'aad', backend),
        'ERR_DECRYPTION_FAILED',
      );
      expect(new TextDecoder().decode(xchacha20Poly1305Decrypt(key, nonce, sealed, 'aad', backend))).toBe(
        'abc',
      );
    });
  });
}
