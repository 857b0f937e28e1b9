/**
 * Symmetric primitives on node:crypto (OpenSSL). The default, fast backend.
 *
 * Performance notes (measured by `pnpm --filter @mesh/crypto-core bench`): at 1 MiB a freshly allocated output Buffer page-faults
 * (glibc gives each large allocation a new mmap), which costs more than the AES work itself. So when the
 * caller supplies the output (`*Into`), ciphers are fed in {@link CHUNK}-sized pieces and each piece's (small,
 * heap-recycled) output is copied into the caller's buffer. When the result is a new array anyway (detached
 * GCM seal/open), node:crypto's own `update` output is returned as is: a second array plus a copy would only
 * add work. Inputs are passed as views, never copied.
 *
 * @module
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  pbkdf2,
  randomFillSync,
} from 'node:crypto';
import { allocUninit } from '../../_alloc.js';
import { pkcs7PaddingLength } from '../../_pkcs7.js';
import type { SymmetricBackend } from '../types.js';

/** Input slice fed to OpenSSL per `update` call: below glibc's mmap threshold, so outputs reuse heap memory. */
const CHUNK = 64 * 1024;

/**
 * Largest input given to one `update` when the output is node:crypto's own buffer (detached GCM, CBC decrypt): OpenSSL's
 * `EVP_CipherUpdate` takes an `int` length, so stay well below 2^31. Up to this size a single `update` beats
 * {@link CHUNK}ed copying into a preallocated array at every size measured (128 KiB: 1.2x, 1 MiB: 2x, 8 MiB:
 * 2x): the output has to be a fresh array either way, and the copy is pure overhead.
 */
const SINGLE_UPDATE_MAX = 2 ** 30;

/** OpenSSL 3 caps the GCM IV at 128 bytes (EVP_CTRL_AEAD_SET_IVLEN). */
const GCM_MAX_NONCE = 128;

/** node:crypto's `hkdf` refuses `info` longer than 1024 bytes; longer info takes the HMAC path (RFC 5869 §2). */
const NODE_HKDF_MAX_INFO = 1024;

type GcmName = 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm';
type CbcName = 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc';

function gcmName(key: Uint8Array): GcmName {
  return key.length === 16 ? 'aes-128-gcm' : key.length === 24 ? 'aes-192-gcm' : 'aes-256-gcm';
}

function cbcName(key: Uint8Array): CbcName {
  return key.length === 16 ? 'aes-128-cbc' : key.length === 24 ? 'aes-192-cbc' : 'aes-256-cbc';
}

/** Stream `input` through `update` in chunks, copying each output into `out`; returns the end offset. */
function pump(
  update: (chunk: Uint8Array) => Buffer,
  input: Uint8Array,
  out: Uint8Array,
  outOffset: number,
): number {
  let o = outOffset;
  if (input.length <= CHUNK) {
    const r = update(input);
    out.set(r, o);
    return o + r.length;
  }
  for (let i = 0; i < input.length; i += CHUNK) {
    const r = update(input.subarray(i, Math.min(i + CHUNK, input.length)));
    out.set(r, o);
    o += r.length;
  }
  return o;
}

/**
 * node:crypto's output as a plain `Uint8Array` over the same memory. Its outputs own their whole
 * `ArrayBuffer` (Node 20: `update`/`getAuthTag` never slice a pool); should a runtime ever hand out a pooled
 * slice, copy it rather than expose the pool's neighbours through `.buffer`.
 */
function own(b: Buffer): Uint8Array {
  if (b.byteOffset === 0 && b.buffer.byteLength === b.byteLength) {
    return new Uint8Array(b.buffer, 0, b.byteLength);
  }
  return new Uint8Array(b);
}

/** The node:crypto symmetric backend. */
export const nodeSymmetric: SymmetricBackend = {
  name: 'node',
  gcmMaxNonceLength: GCM_MAX_NONCE,

  randomBytes(length) {
    // randomFillSync into a fresh (unpooled) array: a pooled Buffer would expose its neighbours via `.buffer`.
    return randomFillSync(new Uint8Array(length));
  },

  gcmSealInto(key, nonce, plaintext, aad, out, outOffset) {
    // GCM's default tag is 16 bytes; no options object (parsing one costs ~1 µs per call at 1 KiB).
    const cipher = createCipheriv(gcmName(key), key, nonce);
    if (aad !== undefined && aad.length > 0) cipher.setAAD(aad);
    let o: number;
    if (plaintext.length <= CHUNK) {
      // The common message: one update, no closure for pump (this runs once per envelope).
      const r = cipher.update(plaintext);
      out.set(r, outOffset);
      o = outOffset + r.length;
    } else {
      o = pump((c) => cipher.update(c), plaintext, out, outOffset);
    }
    const rest = cipher.final(); // GCM is a stream mode: always empty; final() computes the tag.
    if (rest.length > 0) {
      out.set(rest, o);
      o += rest.length;
    }
    out.set(cipher.getAuthTag(), o);
    return o + 16;
  },

  gcmSeal(key, nonce, plaintext, aad) {
    const cipher = createCipheriv(gcmName(key), key, nonce);
    if (aad !== undefined && aad.length > 0) cipher.setAAD(aad);
    let ciphertext: Uint8Array;
    if (plaintext.length <= SINGLE_UPDATE_MAX) {
      // One update: node:crypto's output is already a fresh buffer of exactly plaintext.length bytes; hand
      // it over as is (no second allocation, no copy).
      ciphertext = own(cipher.update(plaintext));
    } else {
      ciphertext = allocUninit(plaintext.length); // GCM is a stream mode: update() writes every byte
      pump((c) => cipher.update(c), plaintext, ciphertext, 0);
    }
    cipher.final(); // always empty for GCM
    return { ciphertext, tag: own(cipher.getAuthTag()) };
  },

  gcmOpenDetached(key, nonce, ciphertext, tag, aad) {
    const decipher =
      tag.length === 16
        ? createDecipheriv(gcmName(key), key, nonce)
        : createDecipheriv(gcmName(key), key, nonce, { authTagLength: tag.length });
    decipher.setAuthTag(tag);
    if (aad !== undefined && aad.length > 0) decipher.setAAD(aad);
    let plain: Uint8Array;
    if (ciphertext.length <= SINGLE_UPDATE_MAX) {
      // One update: its output is a fresh, unpooled buffer of exactly ciphertext.length bytes, handed back
      // as is once the tag has verified.
      plain = own(decipher.update(ciphertext));
    } else {
      plain = allocUninit(ciphertext.length); // GCM is a stream mode: update() writes every byte
      pump((c) => decipher.update(c), ciphertext, plain, 0);
    }
    try {
      decipher.final(); // verifies the tag (OpenSSL compares in constant time, CRYPTO_memcmp)
    } catch {
      plain.fill(0); // never leave unauthenticated plaintext behind
      return undefined;
    }
    return plain;
  },

  cbcEncrypt(key, iv, plaintext) {
    const out = allocUninit((Math.floor(plaintext.length / 16) + 1) * 16); // filled exactly
    nodeSymmetric.cbcEncryptInto(key, iv, plaintext, out, 0);
    return out;
  },

  cbcEncryptInto(key, iv, plaintext, out, outOffset) {
    const cipher = createCipheriv(cbcName(key), key, iv);
    const o = pump((c) => cipher.update(c), plaintext, out, outOffset);
    const last = cipher.final(); // the PKCS#7-padded final block(s)
    out.set(last, o);
    return o + last.length;
  },

  cbcDecrypt(key, iv, ciphertext) {
    if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) return undefined;
    const decipher = createDecipheriv(cbcName(key), key, iv);
    // Padding checked below, not by OpenSSL: with it on, `update` holds the last block back and `final`
    // returns it separately, so the plaintext would need a second array and two copies. Off, one `update`
    // returns every block in node:crypto's own fresh buffer.
    decipher.setAutoPadding(false);
    let padded: Uint8Array;
    if (ciphertext.length <= SINGLE_UPDATE_MAX) {
      padded = own(decipher.update(ciphertext));
    } else {
      padded = allocUninit(ciphertext.length); // CBC without padding writes every block
      pump((c) => decipher.update(c), ciphertext, padded, 0);
    }
    decipher.final(); // nothing left: whole blocks, no padding to strip
    const end = padded.length - pkcs7PaddingLength(padded.subarray(padded.length - 16));
    if (end === padded.length) {
      padded.fill(0); // invalid padding: never leave the decrypted blocks behind
      return undefined;
    }
    // The plaintext must own its buffer (a view would keep the padding reachable through `.buffer`), and
    // node:crypto writes only into arrays it allocates: one copy of the plaintext, then the padded
    // decryption is wiped.
    const plaintext = allocUninit(end);
    plaintext.set(padded.subarray(0, end));
    padded.fill(0);
    return plaintext;
  },

  hmacSha256(key, ...parts) {
    const h = createHmac('sha256', key);
    for (const p of parts) h.update(p);
    const d = h.digest();
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  },

  sha256(data) {
    const d = createHash('sha256').update(data).digest();
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  },

  hkdfSha256(ikm, salt, info, length) {
    if (info.length <= NODE_HKDF_MAX_INFO) {
      return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
    }
    // RFC 5869 §2.2 extract, §2.3 expand, on HMAC-SHA256.
    const prk = nodeSymmetric.hmacSha256(salt, ikm);
    const okm = new Uint8Array(length);
    let t: Uint8Array = new Uint8Array(0);
    for (let i = 1, o = 0; o < length; i++) {
      t = nodeSymmetric.hmacSha256(prk, t, info, Uint8Array.of(i));
      okm.set(t.subarray(0, Math.min(32, length - o)), o);
      o += 32;
    }
    prk.fill(0);
    return okm;
  },

  pbkdf2Sha256(password, salt, iterations, length) {
    // crypto.pbkdf2 runs on libuv's thread pool: the event loop stays free however many iterations.
    return new Promise((resolve, reject) => {
      pbkdf2(password, salt, iterations, length, 'sha256', (err, key) => {
        if (err) reject(err);
        else resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
      });
    });
  },
};
