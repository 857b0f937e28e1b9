/**
 * Symmetric primitives on node-forge (pure JavaScript): an independent second implementation and the backend
 * for runtimes without node:crypto. Never imports node:crypto; where forge lacks a primitive (HKDF) or gets
 * one wrong for our purposes (CBC unpadding, GCM tag comparison, PBKDF2 that blocks), it is built here from
 * forge's AES and HMAC.
 *
 * @module
 */
import * as forgeNs from 'node-forge';
import { pkcs7PaddingLength } from '../../_pkcs7.js';
import type { SymmetricBackend } from '../types.js';
import { fromBinary, toBinary, writeBinary } from './binary.js';

// node-forge is CommonJS: under Node's ESM loader everything hangs off `default`; bundlers may flatten it.
const forge: typeof forgeNs = (forgeNs as unknown as { default?: typeof forgeNs }).default ?? forgeNs;

/** How long one synchronous PBKDF2 slice may run before yielding to the event loop (ms). */
const PBKDF2_SLICE_MS = 8;

/** forge's `finish(pad)` accepts a padding callback; its typings omit the parameter. */
type FinishWithPad = (
  pad: (blockSize: number, buffer: forgeNs.util.ByteStringBuffer, decrypt: boolean) => boolean,
) => boolean;

const yieldToLoop: () => Promise<void> =
  typeof setImmediate === 'function'
    ? () => new Promise((resolve) => setImmediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0));

function forgeHmac(key: Uint8Array): forgeNs.hmac.HMAC {
  const h = forge.hmac.create();
  h.start('sha256', toBinary(key));
  return h;
}

/** Restart an HMAC with the key it already holds (forge: `start(null, null)`). */
function restart(h: forgeNs.hmac.HMAC): void {
  (h.start as unknown as (md: null, key: null) => void)(null, null);
}

/** u32 big-endian as a binary string (RFC 8018 §5.2 INT(i)). */
function int32be(i: number): string {
  return String.fromCharCode((i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff);
}

/** Constant-time equality of two byte strings of public length. */
function equalBinary(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The node-forge symmetric backend. */
export const forgeSymmetric: SymmetricBackend = {
  name: 'forge',
  // forge derives J0 by GHASH for any nonce length (NIST SP 800-38D §7.1 step 2); cap at a sane size.
  gcmMaxNonceLength: 1024,

  randomBytes(length) {
    return fromBinary(forge.random.getBytesSync(length));
  },

  gcmSealInto(key, nonce, plaintext, aad, out, outOffset) {
    const cipher = forge.cipher.createCipher('AES-GCM', toBinary(key));
    cipher.start({ iv: toBinary(nonce), additionalData: aad ? toBinary(aad) : '', tagLength: 128 });
    cipher.update(forge.util.createBuffer(toBinary(plaintext)));
    cipher.finish();
    const o = writeBinary(cipher.output.getBytes(), out, outOffset);
    return writeBinary(cipher.mode.tag.getBytes(), out, o);
  },

  gcmSeal(key, nonce, plaintext, aad) {
    const sealed = new Uint8Array(plaintext.length + 16);
    forgeSymmetric.gcmSealInto(key, nonce, plaintext, aad, sealed, 0);
    // Two arrays that each own their memory (a subarray would keep the other part reachable via `.buffer`).
    return { ciphertext: sealed.slice(0, plaintext.length), tag: sealed.slice(plaintext.length) };
  },

  gcmOpenDetached(key, nonce, ciphertext, tag, aad) {
    const decipher = forge.cipher.createDecipher('AES-GCM', toBinary(key));
    // forge compares tags with `!==` (early exit). Give it a dummy tag, ignore its verdict and compare the
    // computed tag ourselves in constant time.
    decipher.start({
      iv: toBinary(nonce),
      additionalData: aad ? toBinary(aad) : '',
      tagLength: tag.length * 8,
      tag: forge.util.createBuffer('\0'.repeat(tag.length)),
    });
    decipher.update(forge.util.createBuffer(toBinary(ciphertext)));
    decipher.finish();
    const computed = decipher.mode.tag.getBytes();
    const plaintext = decipher.output.getBytes();
    return equalBinary(computed, toBinary(tag)) ? fromBinary(plaintext) : undefined;
  },

  cbcEncrypt(key, iv, plaintext) {
    const out = new Uint8Array((Math.floor(plaintext.length / 16) + 1) * 16);
    forgeSymmetric.cbcEncryptInto(key, iv, plaintext, out, 0);
    return out;
  },

  cbcEncryptInto(key, iv, plaintext, out, outOffset) {
    const cipher = forge.cipher.createCipher('AES-CBC', toBinary(key));
    cipher.start({ iv: toBinary(iv) });
    cipher.update(forge.util.createBuffer(toBinary(plaintext)));
    cipher.finish(); // forge's default CBC padding is PKCS#7
    return writeBinary(cipher.output.getBytes(), out, outOffset);
  },

  cbcDecrypt(key, iv, ciphertext) {
    if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) return undefined;
    const decipher = forge.cipher.createDecipher('AES-CBC', toBinary(key));
    decipher.start({ iv: toBinary(iv) });
    decipher.update(forge.util.createBuffer(toBinary(ciphertext)));
    // Keep the padding: a no-op unpad callback; we check PKCS#7 strictly below.
    (decipher.finish as unknown as FinishWithPad)(() => true);
    const padded = decipher.output.getBytes();
    const pad = pkcs7PaddingLength(fromBinary(padded.slice(-16)));
    if (pad === 0) return undefined;
    // Exactly the plaintext's length: the returned array owns its buffer and holds no padding.
    const plaintext = new Uint8Array(padded.length - pad);
    writeBinary(padded.slice(0, plaintext.length), plaintext, 0);
    return plaintext;
  },

  hmacSha256(key, ...parts) {
    const h = forgeHmac(key);
    for (const p of parts) h.update(toBinary(p));
    return fromBinary(h.digest().getBytes());
  },

  sha256(data) {
    return fromBinary(forge.md.sha256.create().update(toBinary(data)).digest().getBytes());
  },

  hkdfSha256(ikm, salt, info, length) {
    // RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM); an empty salt is HashLen zeros, which HMAC pads to the same.
    const extract = forgeHmac(salt);
    extract.update(toBinary(ikm));
    const prk = extract.digest().getBytes();
    // §2.3: T(i) = HMAC-Hash(PRK, T(i-1) | info | i), OKM = first L octets of T(1) | T(2) | ...
    const expand = forge.hmac.create();
    expand.start('sha256', prk);
    const infoBin = toBinary(info);
    const okm = new Uint8Array(length);
    let t = '';
    for (let i = 1, o = 0; o < length; i++) {
      if (i > 1) restart(expand);
      expand.update(t + infoBin + String.fromCharCode(i));
      t = expand.digest().getBytes();
      writeBinary(t.slice(0, Math.min(32, length - o)), okm, o);
      o += 32;
    }
    return okm;
  },

  async pbkdf2Sha256(password, salt, iterations, length) {
    // RFC 8018 §5.2. forge's own pbkdf2 silently delegates to node:crypto on Node, and its async form runs
    // one setImmediate per iteration; this loop yields by elapsed time instead.
    const prf = forgeHmac(password);
    const saltBin = toBinary(salt);
    const dk = new Uint8Array(length);
    const t = new Uint8Array(32);
    let deadline = performance.now() + PBKDF2_SLICE_MS;
    for (let block = 1, o = 0; o < length; block++, o += 32) {
      restart(prf);
      prf.update(saltBin + int32be(block));
      let u = prf.digest().getBytes();
      for (let k = 0; k < 32; k++) t[k] = u.charCodeAt(k);
      for (let j = 2; j <= iterations; j++) {
        restart(prf);
        prf.update(u);
        u = prf.digest().getBytes();
        for (let k = 0; k < 32; k++) t[k]! ^= u.charCodeAt(k);
        if ((j & 127) === 0 && performance.now() > deadline) {
          await yieldToLoop();
          deadline = performance.now() + PBKDF2_SLICE_MS;
        }
      }
      dk.set(t.subarray(0, Math.min(32, length - o)), o);
    }
    t.fill(0);
    return dk;
  },
};
