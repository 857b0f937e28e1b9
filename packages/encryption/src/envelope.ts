/**
 * Mesh envelope v1: the binary header codec and the AES-256-GCM body (docs/DESIGN.md §3, docs/FORMAT.md).
 *
 * ```
 * 0   u8   version = 0x01
 * 1   u8   algorithm (0x01 GCM | 0x02 hybrid | 0x03 streaming | 0x04 RSA-OAEP direct | 0x05 XChaCha20-Poly1305)
 * 2   u8   flags: bit0 = payload zlib-compressed; bit1 = payload padded (ISO/IEC 7816-4, after compression);
 *           every other bit must be 0
 * 3   u32  key id, big-endian
 * 7   ...  body (GCM: nonce 12 | ciphertext | tag 16)
 * ```
 * The AEAD associated data is `header (7 bytes) || UTF-8 context`, so a flipped flag, key id or context
 * fails authentication. The sealed envelope is built in ONE allocation: header, nonce and
 * `ciphertext || tag` are written in place (crypto-core's `aesGcmEncryptInto`), never concatenated.
 *
 * @module
 */
import {
  AES_256_KEY_LENGTH,
  AES_GCM_NONCE_LENGTH,
  AES_GCM_TAG_LENGTH,
  aesGcmDecrypt,
  aesGcmEncryptInto,
  randomNonceInto,
} from '@mesh/crypto-core';
import { malformed, unsupported } from './errors.js';
import { writePadding } from './padding.js';

/** The only envelope version this package reads and writes. */
export const ENVELOPE_VERSION = 0x01;
/** Header length in bytes: version, algorithm, flags, u32 key id. */
export const HEADER_LENGTH = 7;

/**
 * Algorithm identifiers (header byte 1). Part of the wire format: never renumber.
 *
 * @example
 * ```ts
 * readHeader(await enc.encrypt('x')).algorithm === EnvelopeAlgorithm.AES_256_GCM; // true
 * ```
 */
export const EnvelopeAlgorithm = {
  /** AES-256-GCM under a keyring key; body = nonce 12 | ciphertext | tag 16. */
  AES_256_GCM: 0x01,
  /** RSA-OAEP-SHA256 wraps a fresh AES-256-GCM key; body = u16 len | wrapped key | nonce | ct | tag. */
  HYBRID_RSA_OAEP_AES_256_GCM: 0x02,
  /** Segmented streaming AES-256-GCM (see `src/stream/`). */
  STREAM_AES_256_GCM: 0x03,
  /** RSA-OAEP-SHA256 directly over a small payload; OAEP label = header || context. */
  RSA_OAEP_SHA256: 0x04,
  /** XChaCha20-Poly1305 under a keyring key; body = nonce 24 | ciphertext | tag 16 (`envelope-xchacha.ts`). */
  XCHACHA20_POLY1305: 0x05,
} as const;

/** A value of {@link EnvelopeAlgorithm}. */
export type EnvelopeAlgorithmId = (typeof EnvelopeAlgorithm)[keyof typeof EnvelopeAlgorithm];

/** Human-readable algorithm names, as reported by `inspect` and used as metrics label values (closed set). */
export type AlgorithmName =
  | 'aes-256-gcm'
  | 'hybrid-rsa-oaep-aes-256-gcm'
  | 'stream-aes-256-gcm'
  | 'rsa-oaep-sha256'
  | 'xchacha20-poly1305'
  | 'fernet';

const ALGORITHM_NAMES: Readonly<Record<number, AlgorithmName>> = {
  [EnvelopeAlgorithm.AES_256_GCM]: 'aes-256-gcm',
  [EnvelopeAlgorithm.HYBRID_RSA_OAEP_AES_256_GCM]: 'hybrid-rsa-oaep-aes-256-gcm',
  [EnvelopeAlgorithm.STREAM_AES_256_GCM]: 'stream-aes-256-gcm',
  [EnvelopeAlgorithm.RSA_OAEP_SHA256]: 'rsa-oaep-sha256',
  [EnvelopeAlgorithm.XCHACHA20_POLY1305]: 'xchacha20-poly1305',
};

/**
 * The name of an algorithm id (throws `ERR_UNSUPPORTED_ALGORITHM` for an unknown id).
 *
 * @example
 * ```ts
 * algorithmName(0x02); // 'hybrid-rsa-oaep-aes-256-gcm'
 * ```
 */
export function algorithmName(id: number): AlgorithmName {
  const name = ALGORITHM_NAMES[id];
  if (name === undefined) throw unsupported('unknown envelope algorithm');
  return name;
}

/**
 * Flag bit 0: the payload was zlib-compressed before encryption (authenticated with the header).
 *
 * @example
 * ```ts
 * const compressed = (envelope[2]! & FLAG_COMPRESSED) !== 0;
 * ```
 */
export const FLAG_COMPRESSED = 0x01;
/**
 * Flag bit 1: the payload (after compression) was padded to its service's bucket, ISO/IEC 7816-4 (0x80 then
 * zeros) inside the AEAD plaintext; authenticated with the header (`padding.ts`, docs/FORMAT.md).
 *
 * @example
 * ```ts
 * const padded = (envelope[2]! & FLAG_PADDED) !== 0;
 * ```
 */
export const FLAG_PADDED = 0x02;
/** Every flag bit this version defines; any other bit set is rejected (docs/DESIGN.md §3). */
export const KNOWN_FLAGS = FLAG_COMPRESSED | FLAG_PADDED;

/** GCM body overhead: nonce and tag. */
export const GCM_BODY_OVERHEAD = AES_GCM_NONCE_LENGTH + AES_GCM_TAG_LENGTH;
/** Smallest possible GCM envelope (empty payload): 7 + 12 + 16 = 35 bytes. */
export const MIN_GCM_ENVELOPE_LENGTH = HEADER_LENGTH + GCM_BODY_OVERHEAD;

/** A parsed, validated envelope header. */
export interface EnvelopeHeader {
  readonly version: typeof ENVELOPE_VERSION;
  readonly algorithm: EnvelopeAlgorithmId;
  readonly flags: number;
  readonly keyId: number;
  readonly compressed: boolean;
  /** Flag bit1: the payload carries ISO/IEC 7816-4 padding, stripped after decryption. */
  readonly padded: boolean;
}

/** Write a header at `out[offset..offset+7)`. `keyId` must be a u32. */
export function writeHeader(
  out: Uint8Array,
  offset: number,
  algorithm: EnvelopeAlgorithmId,
  flags: number,
  keyId: number,
): void {
  out[offset] = ENVELOPE_VERSION;
  out[offset + 1] = algorithm;
  out[offset + 2] = flags;
  // u32 big-endian (docs/DESIGN.md §3: "binary, big-endian")
  out[offset + 3] = keyId >>> 24;
  out[offset + 4] = (keyId >>> 16) & 0xff;
  out[offset + 5] = (keyId >>> 8) & 0xff;
  out[offset + 6] = keyId & 0xff;
}

/** The start of every message about input that is not one of our formats. */
const NOT_OURS = 'not a Mesh envelope or Fernet token';

function hexByte(b: number): string {
  return b.toString(16).padStart(2, '0');
}

/**
 * Parse and validate the 7-byte header of an envelope, without touching the body.
 *
 * Checks, in order: length (`ERR_TOKEN_MALFORMED`), version and algorithm (`ERR_UNSUPPORTED_ALGORITHM`),
 * unknown flag bits and the compressed flag on an RSA envelope (`ERR_TOKEN_MALFORMED`).
 *
 * @example
 * ```ts
 * const h = readHeader(envelope);
 * // { version: 1, algorithm: 1, flags: 0, keyId: 0x1234abcd, compressed: false, padded: false }
 * ```
 */
export function readHeader(bytes: Uint8Array): EnvelopeHeader {
  // Foreign input (valid base64url or bytes that are no envelope) says so: what an operator who pasted the
  // wrong column or file needs to read. The codes stay those of the failure class.
  if (bytes.length < HEADER_LENGTH) {
    throw malformed(`${NOT_OURS} (shorter than the 7-byte envelope header)`);
  }
  if (bytes[0] !== ENVELOPE_VERSION) {
    throw unsupported(`${NOT_OURS} (unsupported envelope version 0x${hexByte(bytes[0]!)})`);
  }
  const algorithm = bytes[1]!;
  if (ALGORITHM_NAMES[algorithm] === undefined)
    throw unsupported(`unknown envelope algorithm 0x${hexByte(algorithm)}`);
  const flags = bytes[2]!;
  if ((flags & ~KNOWN_FLAGS) !== 0) throw malformed('envelope has unknown flag bits set');
  // Anyone with the public key can seal a valid RSA envelope: nothing authenticates its sender, so a
  // compressed one would let any public-key holder make the key holder inflate up to the bomb limit. RSA
  // envelopes never carry the flag (encryptFor never sets it); a received one with it set is refused here,
  // before any decryption or inflation, for every entry point.
  if ((flags & FLAG_COMPRESSED) !== 0 && isRsaAlgorithm(algorithm)) {
    throw malformed('RSA envelopes (0x02, 0x04) never set the compressed flag');
  }
  const keyId = ((bytes[3]! << 24) | (bytes[4]! << 16) | (bytes[5]! << 8) | bytes[6]!) >>> 0;
  return {
    version: ENVELOPE_VERSION,
    algorithm: algorithm as EnvelopeAlgorithmId,
    flags,
    keyId,
    compressed: (flags & FLAG_COMPRESSED) !== 0,
    padded: (flags & FLAG_PADDED) !== 0,
  };
}

/** True for the RSA algorithms (0x02 hybrid, 0x04 direct), whose envelopes anyone with the public key can make. */
export function isRsaAlgorithm(algorithm: number): boolean {
  return (
    algorithm === EnvelopeAlgorithm.HYBRID_RSA_OAEP_AES_256_GCM ||
    algorithm === EnvelopeAlgorithm.RSA_OAEP_SHA256
  );
}

/**
 * Associated data = the header bytes as they appear on the wire, followed by the UTF-8 context.
 * With no context the header view itself is the AAD (no copy).
 */
export function envelopeAad(header: Uint8Array, context: Uint8Array | undefined): Uint8Array {
  if (context === undefined || context.length === 0) return header;
  const aad = new Uint8Array(header.length + context.length);
  aad.set(header, 0);
  aad.set(context, header.length);
  return aad;
}

/**
 * Seal `payload` as an AES-256-GCM envelope (algorithm 0x01) in one allocation.
 *
 * `nonce` is for test vectors only; production calls omit it and get 12 random bytes from crypto-core's pooled
 * CSPRNG (`randomNonceInto`: every byte handed out once) (NIST SP 800-38D §8.2.2:
 * random nonces are safe while a key seals fewer than 2^32 messages, which the keyring's
 * `maxEncryptionsPerKey` enforces).
 *
 * @example
 * ```ts
 * const env = sealGcmEnvelope(key32, 0x1234abcd, 0, utf8Encode('hi'), utf8Encode('orders'));
 * ```
 */
export function sealGcmEnvelope(
  key: Uint8Array,
  keyId: number,
  flags: number,
  payload: Uint8Array,
  context: Uint8Array | undefined,
  nonce?: Uint8Array,
): Uint8Array {
  const out = allocate(MIN_GCM_ENVELOPE_LENGTH + payload.length);
  writeHeader(out, 0, EnvelopeAlgorithm.AES_256_GCM, flags, keyId);
  // The nonce goes straight into the envelope from crypto-core's CSPRNG pool (each byte handed out once).
  if (nonce === undefined) randomNonceInto(out, HEADER_LENGTH, AES_GCM_NONCE_LENGTH);
  else out.set(nonce, HEADER_LENGTH);
  const header = out.subarray(0, HEADER_LENGTH);
  const end = aesGcmEncryptInto(
    key,
    out.subarray(HEADER_LENGTH, HEADER_LENGTH + AES_GCM_NONCE_LENGTH),
    payload,
    envelopeAad(header, context),
    out,
    HEADER_LENGTH + AES_GCM_NONCE_LENGTH,
  );
  // Defensive: an uninitialised buffer must be fully written before it leaves this function.
  if (end !== out.length) throw new Error('internal: GCM output length mismatch');
  return out;
}

/**
 * {@link sealGcmEnvelope} with the payload padded to `padded` bytes (> `payload.length`, see `padding.ts`):
 * the payload is copied into the envelope, its padding written after it, and the whole is encrypted in place,
 * so a padded envelope is still one allocation. `flags` must include `FLAG_PADDED`.
 */
export function sealPaddedGcmEnvelope(
  key: Uint8Array,
  keyId: number,
  flags: number,
  payload: Uint8Array,
  padded: number,
  context: Uint8Array | undefined,
  nonce?: Uint8Array,
): Uint8Array {
  const body = HEADER_LENGTH + AES_GCM_NONCE_LENGTH;
  const out = allocate(MIN_GCM_ENVELOPE_LENGTH + padded);
  writeHeader(out, 0, EnvelopeAlgorithm.AES_256_GCM, flags, keyId);
  if (nonce === undefined) randomNonceInto(out, HEADER_LENGTH, AES_GCM_NONCE_LENGTH);
  else out.set(nonce, HEADER_LENGTH);
  out.set(payload, body);
  writePadding(out, body, payload.length, padded);
  const end = aesGcmEncryptInto(
    key,
    out.subarray(HEADER_LENGTH, body),
    out.subarray(body, body + padded),
    envelopeAad(out.subarray(0, HEADER_LENGTH), context),
    out,
    body,
  );
  if (end !== out.length) throw new Error('internal: GCM output length mismatch');
  return out;
}

/**
 * Open the GCM body of an envelope whose header was already parsed by {@link readHeader}.
 * Throws `ERR_TOKEN_MALFORMED` when the body is too short and `ERR_DECRYPTION_FAILED` when authentication
 * fails (wrong key, wrong context, any modified byte).
 */
export function openGcmEnvelope(
  key: Uint8Array,
  envelope: Uint8Array,
  context: Uint8Array | undefined,
): Uint8Array {
  if (envelope.length < MIN_GCM_ENVELOPE_LENGTH) throw malformed('envelope is shorter than nonce and tag');
  return openGcmAt(key, envelope, HEADER_LENGTH, context);
}

/** Decrypt `nonce | ct | tag` found at `bodyOffset`, with AAD = header || context. */
export function openGcmAt(
  key: Uint8Array,
  envelope: Uint8Array,
  bodyOffset: number,
  context: Uint8Array | undefined,
): Uint8Array {
  const nonceEnd = bodyOffset + AES_GCM_NONCE_LENGTH;
  return aesGcmDecrypt(
    key,
    envelope.subarray(bodyOffset, nonceEnd),
    envelope.subarray(nonceEnd),
    envelopeAad(envelope.subarray(0, HEADER_LENGTH), context),
  );
}

/** Layout of a hybrid (0x02) body, as views into the envelope. */
export interface HybridBody {
  readonly wrappedKey: Uint8Array;
  /** Offset of `nonce | ct | tag` inside the envelope. */
  readonly gcmOffset: number;
}

/**
 * Split a hybrid body: `u16 wrapped-key length | wrapped key | nonce 12 | ct | tag 16`.
 * A length that points past the end (e.g. 65535 in a short envelope) is `ERR_TOKEN_MALFORMED`: nothing is
 * allocated from an attacker-chosen length.
 */
export function readHybridBody(envelope: Uint8Array): HybridBody {
  if (envelope.length < HEADER_LENGTH + 2) throw malformed('hybrid envelope is truncated');
  const wrappedLength = (envelope[HEADER_LENGTH]! << 8) | envelope[HEADER_LENGTH + 1]!;
  const start = HEADER_LENGTH + 2;
  if (wrappedLength === 0 || start + wrappedLength + GCM_BODY_OVERHEAD > envelope.length) {
    throw malformed('hybrid envelope has an impossible wrapped-key length');
  }
  return { wrappedKey: envelope.subarray(start, start + wrappedLength), gcmOffset: start + wrappedLength };
}

/**
 * A fresh array for an envelope that owns its whole `ArrayBuffer`, never `Buffer.allocUnsafe`: below 4 KiB
 * that slices Node's shared pool, and the envelope's `.buffer` would then expose whatever else lives there
 * (other callers' plaintexts, keys). Up to 64 KiB a zero-filled `new Uint8Array` is also the fastest choice
 * (1 KiB seal: 1.17x a pooled allocUnsafe, allocUnsafeSlow 0.91x); above, allocUnsafeSlow skips the fill.
 * Every byte is written before use.
 */
function allocate(length: number): Uint8Array {
  if (length <= 64 * 1024 || typeof Buffer !== 'function') return new Uint8Array(length);
  const b = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(b.buffer, 0, length);
}

/** Key length the envelope requires (AES-256). */
export const ENVELOPE_KEY_LENGTH = AES_256_KEY_LENGTH;
