/**
 * The two keyring-key envelopes side by side: AES-256-GCM (0x01) and XChaCha20-Poly1305 (0x05). Same header,
 * same AAD (`header || context`), same compression and padding flags; they differ only in cipher and nonce length. The
 * facade seals with the cipher its service chose and opens whichever one the header names.
 *
 * @module
 */
import type { EnvelopeCipher } from './config.js';
import {
  EnvelopeAlgorithm,
  type EnvelopeAlgorithmId,
  MIN_GCM_ENVELOPE_LENGTH,
  openGcmEnvelope,
  sealGcmEnvelope,
  sealPaddedGcmEnvelope,
} from './envelope.js';
import {
  MIN_XCHACHA_ENVELOPE_LENGTH,
  openXChaChaEnvelope,
  sealPaddedXChaChaEnvelope,
  sealXChaChaEnvelope,
} from './envelope-xchacha.js';

/** The cipher of an envelope algorithm sealed under a keyring key, or `undefined` for every other algorithm. */
export function cipherOfEnvelope(algorithm: EnvelopeAlgorithmId): EnvelopeCipher | undefined {
  if (algorithm === EnvelopeAlgorithm.AES_256_GCM) return 'aes-256-gcm';
  if (algorithm === EnvelopeAlgorithm.XCHACHA20_POLY1305) return 'xchacha20-poly1305';
  return undefined;
}

/** Smallest valid envelope of `cipher` (empty payload): 35 bytes for GCM, 47 for XChaCha. */
export function minEnvelopeLength(cipher: EnvelopeCipher): number {
  return cipher === 'aes-256-gcm' ? MIN_GCM_ENVELOPE_LENGTH : MIN_XCHACHA_ENVELOPE_LENGTH;
}

/** Seal `payload` under a keyring key of `cipher`, in one allocation. */
export function sealEnvelope(
  cipher: EnvelopeCipher,
  key: Uint8Array,
  keyId: number,
  flags: number,
  payload: Uint8Array,
  context: Uint8Array | undefined,
): Uint8Array {
  return cipher === 'aes-256-gcm'
    ? sealGcmEnvelope(key, keyId, flags, payload, context)
    : sealXChaChaEnvelope(key, keyId, flags, payload, context);
}

/** {@link sealEnvelope} with the payload padded to `padded` bytes (flags include `FLAG_PADDED`), in one allocation. */
export function sealPaddedEnvelope(
  cipher: EnvelopeCipher,
  key: Uint8Array,
  keyId: number,
  flags: number,
  payload: Uint8Array,
  padded: number,
  context: Uint8Array | undefined,
): Uint8Array {
  return cipher === 'aes-256-gcm'
    ? sealPaddedGcmEnvelope(key, keyId, flags, payload, padded, context)
    : sealPaddedXChaChaEnvelope(key, keyId, flags, payload, padded, context);
}

/** Open the body of an envelope of `cipher` (header already parsed); `ERR_DECRYPTION_FAILED` on any forgery. */
export function openEnvelope(
  cipher: EnvelopeCipher,
  key: Uint8Array,
  envelope: Uint8Array,
  context: Uint8Array | undefined,
): Uint8Array {
  return cipher === 'aes-256-gcm'
    ? openGcmEnvelope(key, envelope, context)
    : openXChaChaEnvelope(key, envelope, context);
}
