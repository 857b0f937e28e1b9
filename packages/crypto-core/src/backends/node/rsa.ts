/**
 * RSA on node:crypto (OpenSSL): key generation on libuv's thread pool, RSA-OAEP-SHA256 (RFC 8017 §7.1).
 *
 * Parsed keys are cached in a `WeakMap` keyed by the DER byte array the wrapper hands in (the `spkiDer` /
 * `pkcs8Der` of an imported key object), so a key imported once is parsed by OpenSSL once. Imported keys are
 * immutable by contract: mutating their DER bytes after first use is not supported.
 *
 * @module
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
} from 'node:crypto';
import type { RsaBackend, RsaKeyPairPem } from '../types.js';

const publicKeys = new WeakMap<Uint8Array, KeyObject>();
const privateKeys = new WeakMap<Uint8Array, KeyObject>();

function publicKeyObject(spkiDer: Uint8Array): KeyObject {
  let key = publicKeys.get(spkiDer);
  if (key === undefined) {
    key = createPublicKey({ key: asBuffer(spkiDer), format: 'der', type: 'spki' });
    publicKeys.set(spkiDer, key);
  }
  return key;
}

function privateKeyObject(pkcs8Der: Uint8Array): KeyObject {
  let key = privateKeys.get(pkcs8Der);
  if (key === undefined) {
    key = createPrivateKey({ key: asBuffer(pkcs8Der), format: 'der', type: 'pkcs8' });
    privateKeys.set(pkcs8Der, key);
  }
  return key;
}

/** A Buffer view over the same memory (no copy). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A plain `Uint8Array` view of a Buffer, so callers never depend on Buffer-only methods. */
function asBytes(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * RSA primitives on node:crypto. Used by `nodeBackend`; prefer the public wrappers in `rsa.ts`, which validate
 * inputs and type the errors.
 *
 * @example
 * ```ts
 * import { nodeRsa } from './backends/node/rsa.js';
 * const { publicKeyPem, privateKeyPem } = await nodeRsa.generateRsaKeyPair(2048);
 * ```
 */
export const nodeRsa: RsaBackend = {
  generateRsaKeyPair(modulusBits: number): Promise<RsaKeyPairPem> {
    // The callback form runs OpenSSL's prime search on libuv's thread pool, off the event loop.
    return new Promise((resolve, reject) => {
      generateKeyPair(
        'rsa',
        {
          modulusLength: modulusBits,
          publicExponent: 0x10001,
          publicKeyEncoding: { type: 'spki', format: 'pem' },
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        },
        (err, publicKeyPem, privateKeyPem) => {
          if (err) reject(err);
          else resolve({ publicKeyPem, privateKeyPem });
        },
      );
    });
  },

  rsaOaepEncrypt(spkiDer: Uint8Array, plaintext: Uint8Array, label: Uint8Array | undefined): Uint8Array {
    return asBytes(
      publicEncrypt(
        {
          key: publicKeyObject(spkiDer),
          padding: constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: 'sha256', // OpenSSL uses the OAEP hash for MGF1 too: MGF1-SHA256.
          ...(label !== undefined && label.length > 0 ? { oaepLabel: asBuffer(label) } : {}),
        },
        asBuffer(plaintext),
      ),
    );
  },

  rsaOaepDecrypt(
    pkcs8Der: Uint8Array,
    ciphertext: Uint8Array,
    label: Uint8Array | undefined,
  ): Uint8Array | undefined {
    const key = privateKeyObject(pkcs8Der);
    try {
      return asBytes(
        privateDecrypt(
          {
            key,
            padding: constants.RSA_PKCS1_OAEP_PADDING,
            oaepHash: 'sha256',
            ...(label !== undefined && label.length > 0 ? { oaepLabel: asBuffer(label) } : {}),
          },
          asBuffer(ciphertext),
        ),
      );
    } catch {
      // RFC 8017 §7.1.2 note: the failure reason must not be observable; the wrapper throws one error.
      return undefined;
    }
  },
};
