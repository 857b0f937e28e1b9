/**
 * Encryption for a peer's RSA public key, any size (docs/DESIGN.md §3, §4 "RSA").
 *
 * - Payload fits RSA-OAEP-SHA256 (<= k - 66 bytes, 190 at 2048 bits): algorithm 0x04, the envelope header
 *   followed by one OAEP block whose label is `header || context` (RFC 8017 §7.1: the label is OAEP's
 *   associated data, so header and context are authenticated exactly as GCM's AAD does for 0x01).
 * - Larger: algorithm 0x02 (hybrid): a fresh AES-256 data key wrapped with RSA-OAEP-SHA256 (empty label),
 *   then `nonce | ct | tag` of AES-256-GCM with AAD = `header || context`.
 *
 * The choice is automatic. The header's key id is the first 4 bytes of SHA-256 over the public key's SPKI
 * DER, so a holder of several private keys knows which one to use, and a wrong key fails fast with
 * `ERR_KEY_NOT_FOUND` instead of a costly RSA decryption.
 *
 * @module
 */
import {
  AES_256_KEY_LENGTH,
  AES_GCM_NONCE_LENGTH,
  aesGcmEncryptInto,
  DecryptionError,
  importRsaPrivateKey,
  importRsaPublicKey,
  type RsaPrivateKey,
  type RsaPublicKey,
  randomBytes,
  rsaKeyId,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
  rsaOaepMaxPlaintextLength,
  wipe,
} from '@mesh/crypto-core';
import {
  EnvelopeAlgorithm,
  type EnvelopeHeader,
  envelopeAad,
  FLAG_PADDED,
  GCM_BODY_OVERHEAD,
  HEADER_LENGTH,
  openGcmAt,
  readHybridBody,
  writeHeader,
} from './envelope.js';
import { EncryptionError, invalidInput, malformed, unsupported } from './errors.js';
import { type PaddingPolicy, paddedLength, padToNew, writePadding } from './padding.js';

/** A public key as PEM (SPKI) text, DER bytes, or already imported. */
export type PublicKeyInput = string | Uint8Array | RsaPublicKey;
/** A private key as PKCS#8 PEM text or already imported. */
export type PrivateKeyInput = string | RsaPrivateKey;

/** Import (or pass through) a public key; bad input is `ERR_INVALID_INPUT`. */
export function toPublicKey(key: PublicKeyInput): RsaPublicKey {
  if (typeof key === 'string' || key instanceof Uint8Array) return importRsaPublicKey(key);
  if (typeof key === 'object' && key !== null && key.spkiDer instanceof Uint8Array) return key;
  throw invalidInput('public key must be PEM text, SPKI DER bytes or an imported RsaPublicKey');
}

/** Import (or pass through) a private key; bad input is `ERR_INVALID_INPUT`. */
export function toPrivateKey(key: PrivateKeyInput): RsaPrivateKey {
  if (typeof key === 'string') return importRsaPrivateKey(key);
  if (typeof key === 'object' && key !== null && key.pkcs8Der instanceof Uint8Array) return key;
  throw invalidInput('private key must be PKCS#8 PEM text or an imported RsaPrivateKey');
}

/**
 * Seal `payload` for the holder of `publicKey`: direct RSA-OAEP when it fits, hybrid otherwise.
 * `flags` is written as given; the facade always passes 0 (RSA envelopes are never compressed, since any
 * public-key holder can make one: `readHeader` refuses the flag). With a `padding` policy the payload is
 * padded to its bucket (flag bit1 added), and the choice between direct and hybrid is made on the padded
 * size: direct only when the whole bucket fits one OAEP block, so the algorithm byte reveals no more than
 * the bucket does.
 *
 * @example
 * ```ts
 * const { publicKeyPem, privateKeyPem } = await generateRsaKeyPair(2048);
 * const sealed = sealForPublicKey(importRsaPublicKey(publicKeyPem), utf8Encode('hi'), 0, undefined);
 * ```
 */
export function sealForPublicKey(
  publicKey: RsaPublicKey,
  payload: Uint8Array,
  flags: number,
  context: Uint8Array | undefined,
  padding?: PaddingPolicy,
): Uint8Array {
  const keyId = rsaKeyId(publicKey);
  const padded = padding === undefined ? payload.length : paddedLength(padding, payload.length);
  const headerFlags = padding === undefined ? flags : flags | FLAG_PADDED;
  if (padded <= rsaOaepMaxPlaintextLength(publicKey.bits)) {
    const header = new Uint8Array(HEADER_LENGTH);
    writeHeader(header, 0, EnvelopeAlgorithm.RSA_OAEP_SHA256, headerFlags, keyId);
    // OAEP takes one message: a padded one is built apart (and wiped: it is the plaintext).
    const message = padding === undefined ? payload : padToNew(payload, padded);
    let block: Uint8Array;
    try {
      block = rsaOaepEncrypt(publicKey, message, { label: envelopeAad(header, context) });
    } finally {
      if (message !== payload) wipe(message);
    }
    const out = new Uint8Array(HEADER_LENGTH + block.length);
    out.set(header, 0);
    out.set(block, HEADER_LENGTH);
    return out;
  }
  const dataKey = randomBytes(AES_256_KEY_LENGTH);
  try {
    const wrapped = rsaOaepEncrypt(publicKey, dataKey);
    const gcmOffset = HEADER_LENGTH + 2 + wrapped.length;
    const ctOffset = gcmOffset + AES_GCM_NONCE_LENGTH;
    const out = new Uint8Array(gcmOffset + GCM_BODY_OVERHEAD + padded);
    writeHeader(out, 0, EnvelopeAlgorithm.HYBRID_RSA_OAEP_AES_256_GCM, headerFlags, keyId);
    out[HEADER_LENGTH] = wrapped.length >>> 8;
    out[HEADER_LENGTH + 1] = wrapped.length & 0xff;
    out.set(wrapped, HEADER_LENGTH + 2);
    // A fresh key per message makes any nonce safe; a random one costs nothing and keeps the layout uniform.
    out.set(randomBytes(AES_GCM_NONCE_LENGTH), gcmOffset);
    let plaintext = payload;
    if (padding !== undefined) {
      // Padded in place inside the envelope, then encrypted in place: no second copy of the plaintext.
      out.set(payload, ctOffset);
      writePadding(out, ctOffset, payload.length, padded);
      plaintext = out.subarray(ctOffset, ctOffset + padded);
    }
    aesGcmEncryptInto(
      dataKey,
      out.subarray(gcmOffset, ctOffset),
      plaintext,
      envelopeAad(out.subarray(0, HEADER_LENGTH), context),
      out,
      ctOffset,
    );
    return out;
  } finally {
    wipe(dataKey);
  }
}

/**
 * Open an 0x02 or 0x04 envelope with `privateKey`. Returns the payload (never compressed: `readHeader`
 * refuses the flag on RSA envelopes; still padded when flag bit1 is set: the caller strips it). Errors: another key's envelope -> `ERR_KEY_NOT_FOUND`; 0x01/0x03 -> `ERR_UNSUPPORTED_ALGORITHM`;
 * impossible lengths -> `ERR_TOKEN_MALFORMED`; anything that fails authentication -> `ERR_DECRYPTION_FAILED`.
 */
export function openWithPrivateKey(
  privateKey: RsaPrivateKey,
  envelope: Uint8Array,
  header: EnvelopeHeader,
  context: Uint8Array | undefined,
): Uint8Array {
  const direct = header.algorithm === EnvelopeAlgorithm.RSA_OAEP_SHA256;
  if (!direct && header.algorithm !== EnvelopeAlgorithm.HYBRID_RSA_OAEP_AES_256_GCM) {
    throw unsupported('not an RSA envelope: decrypt it with decrypt()');
  }
  // k = ceil(bits / 8) (RFC 8017 §2): a 2050-bit modulus takes 257 bytes. Rounding down made every
  // envelope for such a key fail as if tampered with.
  const modulusBytes = Math.ceil(privateKey.bits / 8);
  if (direct) {
    if (envelope.length === HEADER_LENGTH) throw malformed('RSA envelope has no body');
  } else {
    readHybridBody(envelope); // structural checks (ERR_TOKEN_MALFORMED) before the key check
  }
  if (header.keyId !== rsaKeyId(privateKey.publicKey)) {
    throw new EncryptionError('ERR_KEY_NOT_FOUND', 'envelope was sealed for another RSA key');
  }
  if (direct) {
    // A block of the wrong size cannot be an OAEP block for this key: same error as a bad block.
    if (envelope.length !== HEADER_LENGTH + modulusBytes) throw new DecryptionError();
    return rsaOaepDecrypt(privateKey, envelope.subarray(HEADER_LENGTH), {
      label: envelopeAad(envelope.subarray(0, HEADER_LENGTH), context),
    });
  }
  const body = readHybridBody(envelope);
  if (body.wrappedKey.length !== modulusBytes) throw new DecryptionError();
  const dataKey = rsaOaepDecrypt(privateKey, body.wrappedKey);
  try {
    if (dataKey.length !== AES_256_KEY_LENGTH) throw new DecryptionError();
    return openGcmAt(dataKey, envelope, body.gcmOffset, context);
  } finally {
    wipe(dataKey);
  }
}
