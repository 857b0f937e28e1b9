/**
 * The XChaCha20-Poly1305 body of envelope v1 (algorithm 0x05, docs/FORMAT.md):
 *
 * ```
 * 0    7    header (algorithm 0x05, key id = keyring key of algorithm 'xchacha20-poly1305')
 * 7    24   nonce (random per message)
 * 31   n    ciphertext (n = payload length)
 * 31+n 16   Poly1305 tag
 * ```
 * Same rules as AES-256-GCM (0x01): AAD = `header || UTF-8 context`, the compressed flag in the header, the
 * envelope built in one allocation. The difference is the nonce: 192 random bits, so a key can seal any
 * number of messages in practice and the keyring needs no usage-based rotation for these keys.
 *
 * @module
 */
import {
  randomNonceInto,
  XCHACHA20_POLY1305_NONCE_LENGTH,
  XCHACHA20_POLY1305_TAG_LENGTH,
  xchacha20Poly1305Decrypt,
  xchacha20Poly1305EncryptInto,
  xchacha20Poly1305SealInto,
} from '@mesh/crypto-core';
import { EnvelopeAlgorithm, envelopeAad, HEADER_LENGTH, writeHeader } from './envelope.js';
import { malformed } from './errors.js';
import { writePadding } from './padding.js';

/** XChaCha body overhead: nonce and tag. */
export const XCHACHA_BODY_OVERHEAD = XCHACHA20_POLY1305_NONCE_LENGTH + XCHACHA20_POLY1305_TAG_LENGTH;
/** Smallest possible XChaCha envelope (empty payload): 7 + 24 + 16 = 47 bytes. */
export const MIN_XCHACHA_ENVELOPE_LENGTH = HEADER_LENGTH + XCHACHA_BODY_OVERHEAD;

const BODY = HEADER_LENGTH + XCHACHA20_POLY1305_NONCE_LENGTH;

/**
 * Seal `payload` as an XChaCha20-Poly1305 envelope (algorithm 0x05) in one allocation that owns its whole
 * `ArrayBuffer`. `nonce` is for test vectors only; production calls omit it and get 24 random bytes.
 *
 * @example
 * ```ts
 * const env = sealXChaChaEnvelope(key32, 0x1234abcd, 0, utf8Encode('hi'), utf8Encode('orders'));
 * ```
 */
export function sealXChaChaEnvelope(
  key: Uint8Array,
  keyId: number,
  flags: number,
  payload: Uint8Array,
  context: Uint8Array | undefined,
  nonce?: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(MIN_XCHACHA_ENVELOPE_LENGTH + payload.length);
  writeHeader(out, 0, EnvelopeAlgorithm.XCHACHA20_POLY1305, flags, keyId);
  const aad = envelopeAad(out.subarray(0, HEADER_LENGTH), context);
  let end: number;
  if (nonce === undefined) {
    // The backend's CSPRNG writes the nonce in place (libsodium's randombytes_buf on the sodium backend).
    end = xchacha20Poly1305SealInto(key, payload, aad, out, HEADER_LENGTH);
  } else {
    out.set(nonce, HEADER_LENGTH);
    end = xchacha20Poly1305EncryptInto(key, out.subarray(HEADER_LENGTH, BODY), payload, aad, out, BODY);
  }
  if (end !== out.length) throw new Error('internal: XChaCha20-Poly1305 output length mismatch');
  return out;
}

/**
 * {@link sealXChaChaEnvelope} with the payload padded to `padded` bytes (see `padding.ts`), in one allocation:
 * the payload is copied into the envelope, padded there and encrypted in place. The nonce is drawn from
 * crypto-core's CSPRNG pool (`randomNonceInto`) before the plaintext is written. `flags` must include
 * `FLAG_PADDED`.
 */
export function sealPaddedXChaChaEnvelope(
  key: Uint8Array,
  keyId: number,
  flags: number,
  payload: Uint8Array,
  padded: number,
  context: Uint8Array | undefined,
  nonce?: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(MIN_XCHACHA_ENVELOPE_LENGTH + padded);
  writeHeader(out, 0, EnvelopeAlgorithm.XCHACHA20_POLY1305, flags, keyId);
  if (nonce === undefined) randomNonceInto(out, HEADER_LENGTH, XCHACHA20_POLY1305_NONCE_LENGTH);
  else out.set(nonce, HEADER_LENGTH);
  out.set(payload, BODY);
  writePadding(out, BODY, payload.length, padded);
  const end = xchacha20Poly1305EncryptInto(
    key,
    out.subarray(HEADER_LENGTH, BODY),
    out.subarray(BODY, BODY + padded),
    envelopeAad(out.subarray(0, HEADER_LENGTH), context),
    out,
    BODY,
  );
  if (end !== out.length) throw new Error('internal: XChaCha20-Poly1305 output length mismatch');
  return out;
}

/**
 * Open the body of an XChaCha envelope whose header was already parsed (`readHeader`). Throws
 * `ERR_TOKEN_MALFORMED` when the body is shorter than nonce and tag and `ERR_DECRYPTION_FAILED` when
 * authentication fails (wrong key, wrong context, any modified byte).
 */
export function openXChaChaEnvelope(
  key: Uint8Array,
  envelope: Uint8Array,
  context: Uint8Array | undefined,
): Uint8Array {
  if (envelope.length < MIN_XCHACHA_ENVELOPE_LENGTH)
    throw malformed('envelope is shorter than nonce and tag');
  return xchacha20Poly1305Decrypt(
    key,
    envelope.subarray(HEADER_LENGTH, BODY),
    envelope.subarray(BODY),
    envelopeAad(envelope.subarray(0, HEADER_LENGTH), context),
  );
}
