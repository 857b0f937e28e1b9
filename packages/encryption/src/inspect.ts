/**
 * `inspect`: what a ciphertext is, read from its header, without any key and without decrypting.
 *
 * Nothing reported here is authenticated (that needs the key): use it to route, to count ciphertexts per
 * key before retiring one, or to debug, never to make a security decision.
 *
 * @module
 */
import {
  type AlgorithmName,
  algorithmName,
  EnvelopeAlgorithm,
  HEADER_LENGTH,
  MIN_GCM_ENVELOPE_LENGTH,
  readHeader,
  readHybridBody,
} from './envelope.js';
import { MIN_XCHACHA_ENVELOPE_LENGTH } from './envelope-xchacha.js';
import { malformed } from './errors.js';
import { decodeText, parseCiphertext } from './input.js';

/** What {@link inspect} reports. */
export interface CiphertextInfo {
  /** `envelope-v1` for mesh envelopes (any algorithm), `fernet` for Fernet tokens. */
  readonly format: 'envelope-v1' | 'fernet';
  readonly algorithm: AlgorithmName;
  /** Keyring key id (0x01, 0x03), RSA key id (0x02, 0x04); absent for Fernet, which has none. */
  readonly keyId?: number;
  /** The header's compressed flag (always false for Fernet). */
  readonly compressed: boolean;
  /** The header's padded flag, bit1: the payload was padded to a bucket (always false for Fernet). */
  readonly padded: boolean;
  /** Fernet only: the token's creation time in seconds since the epoch (not verified: no key was used). */
  readonly timestamp?: number;
}

/** Fernet: version 1 | timestamp 8 | IV 16 | ciphertext (>= 1 block of 16) | HMAC 32. */
const FERNET_MIN_LENGTH = 1 + 8 + 16 + 16 + 32;
/** Streaming header: 7 + salt 16 + nonce prefix 7 + u32 segment size (see stream/format.ts). */
const STREAM_MIN_LENGTH = HEADER_LENGTH + 16 + 7 + 4;

/**
 * Describe a ciphertext (envelope bytes or text, Fernet token text or bytes) without decrypting it.
 * Malformed input gets the same typed errors as `decrypt`: `ERR_TOKEN_MALFORMED`,
 * `ERR_UNSUPPORTED_ALGORITHM`, `ERR_INVALID_INPUT` for a wrong type.
 *
 * @example
 * ```ts
 * const info = inspect(await enc.encrypt('hello'));
 * // { format: 'envelope-v1', algorithm: 'aes-256-gcm', keyId: 2868151398, compressed: false, padded: false }
 * ```
 */
export function inspect(ciphertext: Uint8Array | string): CiphertextInfo {
  const parsed = parseCiphertext(ciphertext);
  if (parsed.kind === 'fernet') return inspectFernet(parsed.token);
  const bytes = parsed.bytes;
  const header = readHeader(bytes);
  switch (header.algorithm) {
    case EnvelopeAlgorithm.AES_256_GCM:
      if (bytes.length < MIN_GCM_ENVELOPE_LENGTH) throw malformed('envelope is shorter than nonce and tag');
      break;
    case EnvelopeAlgorithm.HYBRID_RSA_OAEP_AES_256_GCM:
      readHybridBody(bytes);
      break;
    case EnvelopeAlgorithm.RSA_OAEP_SHA256:
      if (bytes.length === HEADER_LENGTH) throw malformed('RSA envelope has no body');
      break;
    case EnvelopeAlgorithm.XCHACHA20_POLY1305:
      if (bytes.length < MIN_XCHACHA_ENVELOPE_LENGTH)
        throw malformed('envelope is shorter than nonce and tag');
      break;
    case EnvelopeAlgorithm.STREAM_AES_256_GCM:
      if (bytes.length < STREAM_MIN_LENGTH) throw malformed('stream header is truncated');
      // Streams define only the padded flag (no per-segment compression): same rule as the stream decryptor.
      if (header.compressed) throw malformed('unknown flags in stream header');
      break;
  }
  return {
    format: 'envelope-v1',
    algorithm: algorithmName(header.algorithm),
    keyId: header.keyId,
    compressed: header.compressed,
    padded: header.padded,
  };
}

function inspectFernet(token: string): CiphertextInfo {
  const bytes = decodeText(token);
  // Fernet spec: ciphertext is whole AES blocks, at least one (PKCS#7 always pads).
  if (bytes[0] !== 0x80 || bytes.length < FERNET_MIN_LENGTH || (bytes.length - 57) % 16 !== 0) {
    throw malformed('not a well-formed Fernet token');
  }
  const high = ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0;
  const low = ((bytes[5]! << 24) | (bytes[6]! << 16) | (bytes[7]! << 8) | bytes[8]!) >>> 0;
  if (high >= 0x200000) throw malformed('Fernet timestamp out of range'); // > 2^53: not a safe integer
  return {
    format: 'fernet',
    algorithm: 'fernet',
    compressed: false,
    padded: false,
    timestamp: high * 2 ** 32 + low,
  };
}
