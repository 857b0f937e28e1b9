/**
 * Wire format of a Mesh stream (envelope v1, algorithm 0x03: streaming AES-256-GCM).
 *
 * ```
 * offset size  field
 * 0      1     version = 0x01
 * 1      1     algorithm = 0x03
 * 2      1     flags: bit1 = padded (the last segment ends in ISO/IEC 7816-4 padding); any other bit is rejected
 * 3      4     key id, u32 BE
 * 7      16    salt (random per stream)
 * 23     7     nonce prefix (random per stream)
 * 30     4     segment size, u32 BE: plaintext bytes in every segment but the last
 * 34     ...   segments: AES-256-GCM(ciphertext || tag 16), no AAD
 * ```
 * Stream key = HKDF-SHA256(ikm = key, salt, info = the 34 header bytes || UTF-8 context), 32 bytes.
 * Nonce of segment i = prefix(7) || u32 BE i || u8 last (0x01 on the final segment, else 0x00).
 *
 * Every header byte is authenticated without per-segment AAD: version, algorithm, flags, key id, salt and
 * segment size through the HKDF inputs, the prefix through every nonce. Index and last flag in the nonce make
 * reordering, truncation and appending fail (the STREAM construction of Hoang, Reyhanitabar, Rogaway and
 * Vizár, "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015, §7; the
 * same layout as Tink's AES-GCM-HKDF streaming AEAD). See docs/FORMAT.md "Streaming (0x03)".
 *
 * @module
 */
import {
  AES_GCM_NONCE_LENGTH,
  AES_GCM_TAG_LENGTH,
  hkdfSha256,
  MeshCryptoError,
  utf8Encode,
} from '@mesh/crypto-core';

/** Envelope version byte shared with the in-memory format. */
export const STREAM_VERSION = 0x01;
/** Algorithm byte of streaming AES-256-GCM (docs/DESIGN.md §3). */
export const STREAM_ALGORITHM = 0x03;
/**
 * Header flag bit1 (the envelope's `FLAG_PADDED`): the stream's last segment is padded, ISO/IEC 7816-4, to
 * its service's bucket (capped at the segment size). The only flag a stream may carry.
 */
export const STREAM_FLAG_PADDED = 0x02;
/** Random HKDF salt per stream. */
export const STREAM_SALT_LENGTH = 16;
/** Random nonce prefix per stream: 12-byte GCM nonce minus u32 index minus u8 last flag. */
export const STREAM_NONCE_PREFIX_LENGTH = 7;
/** Bytes before the first segment. */
export const STREAM_HEADER_LENGTH = 7 + STREAM_SALT_LENGTH + STREAM_NONCE_PREFIX_LENGTH + 4;
/** Plaintext bytes per segment unless the caller chooses otherwise (64 KiB, docs/DESIGN.md §3). */
export const DEFAULT_SEGMENT_SIZE = 65_536;
/** Smallest segment accepted: below this the 16-byte tag per segment dominates. */
export const MIN_SEGMENT_SIZE = 16;
/**
 * Largest segment accepted, on both sides. It bounds what a decryptor buffers for one segment, since the
 * size comes from a header that is authenticated only once the first segment opens.
 */
export const MAX_SEGMENT_SIZE = 16 * 1024 * 1024;
/** The u32 segment counter in the nonce allows 2^32 segments per stream (256 TiB at 64 KiB). */
export const MAX_SEGMENT_INDEX = 0xffff_ffff;
/** Length of the derived per-stream AES-256 key. */
export const STREAM_KEY_LENGTH = 32;
/** GCM tag appended to every segment. */
export const SEGMENT_TAG_LENGTH = AES_GCM_TAG_LENGTH;

/** The fields of a parsed stream header. */
export interface StreamHeader {
  readonly keyId: number;
  readonly salt: Uint8Array;
  readonly noncePrefix: Uint8Array;
  readonly segmentSize: number;
  /** Flag bit1: the last segment's plaintext ends in padding, stripped before it is released. */
  readonly padded: boolean;
  /** The 34 raw header bytes, as bound into the HKDF info. */
  readonly bytes: Uint8Array;
}

/** True when `size` is a valid segment size (integer within the documented bounds). */
export function isValidSegmentSize(size: number): boolean {
  return Number.isInteger(size) && size >= MIN_SEGMENT_SIZE && size <= MAX_SEGMENT_SIZE;
}

/**
 * Serialises a stream header.
 *
 * @example
 * ```ts
 * const header = encodeStreamHeader(0x01020304, randomBytes(16), randomBytes(7), 65536);
 * header.length; // 34
 * ```
 */
export function encodeStreamHeader(
  keyId: number,
  salt: Uint8Array,
  noncePrefix: Uint8Array,
  segmentSize: number,
  flags = 0,
): Uint8Array {
  const out = new Uint8Array(STREAM_HEADER_LENGTH);
  const view = new DataView(out.buffer);
  out[0] = STREAM_VERSION;
  out[1] = STREAM_ALGORITHM;
  out[2] = flags;
  view.setUint32(3, keyId >>> 0, false);
  out.set(salt, 7);
  out.set(noncePrefix, 7 + STREAM_SALT_LENGTH);
  view.setUint32(7 + STREAM_SALT_LENGTH + STREAM_NONCE_PREFIX_LENGTH, segmentSize, false);
  return out;
}

/**
 * Parses the 34 header bytes. Throws `ERR_TOKEN_MALFORMED` naming the bad field; the stream decryptor
 * reports it to its caller wrapped as `ERR_DECRYPTION_FAILED` (the header is not yet authenticated, so a bad
 * field is indistinguishable from tampering).
 *
 * @example
 * ```ts
 * const { keyId, segmentSize } = parseStreamHeader(firstBytes.subarray(0, STREAM_HEADER_LENGTH));
 * ```
 */
export function parseStreamHeader(bytes: Uint8Array): StreamHeader {
  if (bytes.length !== STREAM_HEADER_LENGTH) throw malformed('stream header is truncated');
  if (bytes[0] !== STREAM_VERSION) throw malformed('unsupported envelope version');
  if (bytes[1] !== STREAM_ALGORITHM) throw malformed('not a streaming (0x03) envelope');
  // Flag bits that are not defined must be 0. Streams define only bit1 (padded): no per-segment compression.
  if ((bytes[2]! & ~STREAM_FLAG_PADDED) !== 0) throw malformed('unknown flags in stream header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const segmentSize = view.getUint32(7 + STREAM_SALT_LENGTH + STREAM_NONCE_PREFIX_LENGTH, false);
  if (!isValidSegmentSize(segmentSize)) throw malformed('segment size out of bounds');
  const copy = bytes.slice();
  return {
    keyId: view.getUint32(3, false),
    salt: copy.subarray(7, 7 + STREAM_SALT_LENGTH),
    noncePrefix: copy.subarray(7 + STREAM_SALT_LENGTH, 7 + STREAM_SALT_LENGTH + STREAM_NONCE_PREFIX_LENGTH),
    segmentSize,
    padded: bytes[2] === STREAM_FLAG_PADDED,
    bytes: copy,
  };
}

/**
 * Derives the per-stream key: HKDF-SHA256 (RFC 5869) with the header's salt, and the whole header followed
 * by the UTF-8 context as info. The header has a fixed length, so header || context is unambiguous.
 *
 * @example
 * ```ts
 * const streamKey = deriveStreamKey(active.material, header, 'orders->payments');
 * ```
 */
export function deriveStreamKey(keyMaterial: Uint8Array, header: Uint8Array, context: string): Uint8Array {
  const salt = header.subarray(7, 7 + STREAM_SALT_LENGTH);
  const ctx = utf8Encode(context, 'context');
  const info = new Uint8Array(header.length + ctx.length);
  info.set(header, 0);
  info.set(ctx, header.length);
  return hkdfSha256(keyMaterial, salt, info, STREAM_KEY_LENGTH);
}

/**
 * A reusable 12-byte nonce for one stream: prefix || u32 BE index || u8 last. `set` rewrites the last five
 * bytes in place (the cipher copies the nonce, so one buffer serves every segment).
 */
export class SegmentNonce {
  readonly bytes = new Uint8Array(AES_GCM_NONCE_LENGTH);
  readonly #view = new DataView(this.bytes.buffer);

  constructor(noncePrefix: Uint8Array) {
    this.bytes.set(noncePrefix, 0);
  }

  /** Points the nonce at segment `index`, marked final when `last`. */
  set(index: number, last: boolean): Uint8Array {
    this.#view.setUint32(STREAM_NONCE_PREFIX_LENGTH, index, false);
    this.bytes[AES_GCM_NONCE_LENGTH - 1] = last ? 1 : 0;
    return this.bytes;
  }
}

function malformed(message: string): MeshCryptoError {
  return new MeshCryptoError('ERR_TOKEN_MALFORMED', message);
}
