/**
 * Byte helpers: CSPRNG, constant-time comparison, UTF-8, strict base64url, concatenation and wiping.
 *
 * @module
 */
import { allocUninit } from './_alloc.js';
import { assertBytes, isIntegerIn } from './_assert.js';
import { defaultBackend } from './backends/default.js';
import type { SymmetricBackend } from './backends/types.js';
import { MeshCryptoError } from './errors.js';

/** Bytes, or a string taken as its UTF-8 encoding. */
export type BytesLike = Uint8Array | string;

/** Upper bound for one {@link randomBytes} call (64 MiB): a typo must not allocate gigabytes. */
export const MAX_RANDOM_BYTES = 64 * 1024 * 1024;

/**
 * Cryptographically secure random bytes from the backend's CSPRNG (node: OpenSSL `RAND_bytes`).
 *
 * @example
 * ```ts
 * import { randomBytes } from '@mesh/crypto-core';
 * const nonce = randomBytes(12);
 * ```
 */
export function randomBytes(length: number, backend: SymmetricBackend = defaultBackend()): Uint8Array {
  if (!isIntegerIn(length, 0, MAX_RANDOM_BYTES)) {
    throw new MeshCryptoError('ERR_INVALID_INPUT', `length must be an integer in [0, ${MAX_RANDOM_BYTES}]`);
  }
  return backend.randomBytes(length);
}

/**
 * A uniformly random unsigned 32-bit integer (used for key ids).
 *
 * @example
 * ```ts
 * import { randomUint32 } from '@mesh/crypto-core';
 * const keyId = randomUint32(); // 0 ..= 0xffffffff
 * ```
 */
export function randomUint32(): number {
  const b = defaultBackend().randomBytes(4);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/**
 * Compare two byte strings without an early exit on content: the time taken depends only on the lengths.
 * Different lengths return `false` at once (lengths are public: tag and MAC sizes are fixed by the format).
 *
 * @example
 * ```ts
 * import { constantTimeEqual } from '@mesh/crypto-core';
 * constantTimeEqual(expectedTag, receivedTag); // boolean
 * ```
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  assertBytes('a', a);
  assertBytes('b', b);
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

const encoder = new TextEncoder();
// fatal: invalid UTF-8 must not be replaced silently; ignoreBOM: keep a leading U+FEFF, bytes round-trip exactly.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A lone surrogate: a high one not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
type WellFormedCheck = { isWellFormed?: () => boolean };

/** True when `text` is well-formed UTF-16 (no lone surrogate), so it has exactly one UTF-8 encoding. */
function isWellFormed(text: string): boolean {
  const native = (text as unknown as WellFormedCheck).isWellFormed;
  return native !== undefined ? native.call(text) : !LONE_SURROGATE.test(text);
}

/**
 * UTF-8 encode a string into a fresh array of its own (never Node's shared Buffer pool). A string that is
 * not well-formed UTF-16 (a lone surrogate) has no UTF-8 encoding and throws `ERR_INVALID_INPUT`:
 * `TextEncoder` would replace it with U+FFFD, so distinct strings ('a\uD800', 'a\uDFFF', 'a\uFFFD') would
 * become the same bytes, the same associated data or key. `name` is the argument named in the message.
 *
 * @example
 * ```ts
 * import { utf8Encode } from '@mesh/crypto-core';
 * utf8Encode('héllo'); // Uint8Array(6)
 * utf8Encode('tenant-\uD800', 'context'); // throws ERR_INVALID_INPUT
 * ```
 */
export function utf8Encode(text: string, name = 'text'): Uint8Array {
  if (typeof text !== 'string') throw new MeshCryptoError('ERR_INVALID_INPUT', `${name} must be a string`);
  if (!isWellFormed(text)) {
    throw new MeshCryptoError(
      'ERR_INVALID_INPUT',
      `${name} is not well-formed UTF-16 (it has a lone surrogate), so it has no UTF-8 encoding`,
    );
  }
  return encoder.encode(text);
}

/**
 * UTF-8 decode bytes; invalid UTF-8 throws `ERR_INVALID_INPUT` instead of producing U+FFFD.
 *
 * @example
 * ```ts
 * import { utf8Decode } from '@mesh/crypto-core';
 * utf8Decode(new Uint8Array([0x68, 0x69])); // 'hi'
 * ```
 */
export function utf8Decode(bytes: Uint8Array): string {
  assertBytes('bytes', bytes);
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    throw new MeshCryptoError('ERR_INVALID_INPUT', 'bytes are not valid UTF-8', { cause });
  }
}

/** A Buffer view over the same memory (no copy), for Node's fast base64 paths. */
function view(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Base64url (RFC 4648 §5) without padding.
 *
 * @example
 * ```ts
 * import { base64UrlEncode } from '@mesh/crypto-core';
 * base64UrlEncode(new Uint8Array([0xfb, 0xff])); // '-_8'
 * ```
 */
export function base64UrlEncode(bytes: Uint8Array): string {
  assertBytes('bytes', bytes);
  return view(bytes).toString('base64url');
}

/** Value of a base64url alphabet character (RFC 4648 Table 2 with §5's `-` and `_`). */
const BASE64URL_VALUE = (c: number): number =>
  c >= 65 && c <= 90
    ? c - 65
    : c >= 97 && c <= 122
      ? c - 71
      : c >= 48 && c <= 57
        ? c + 4
        : c === 45
          ? 62
          : 63;

/**
 * Strict base64url decode (RFC 4648 §5): only the URL-safe alphabet, `=` padding optional but correct when
 * present, and the unused low bits of the last character must be zero (RFC 4648 §3.5, canonical encoding),
 * so every byte string has exactly one accepted text form. Anything else throws `ERR_INVALID_INPUT`.
 *
 * @example
 * ```ts
 * import { base64UrlDecode } from '@mesh/crypto-core';
 * base64UrlDecode('-_8');  // Uint8Array [0xfb, 0xff]
 * base64UrlDecode('-_8='); // same
 * ```
 */
export function base64UrlDecode(text: string): Uint8Array {
  if (typeof text !== 'string') throw new MeshCryptoError('ERR_INVALID_INPUT', 'text must be a string');
  let end = text.length;
  if (end > 0 && text.charCodeAt(end - 1) === 61 /* = */) {
    end--;
    if (end > 0 && text.charCodeAt(end - 1) === 61) end--;
    // Padding, when present, completes the last quantum to 4 characters (RFC 4648 §4); a third '=' stays in
    // the body and fails below.
    if (text.length % 4 !== 0) throw invalidBase64();
  }
  const rem = end % 4;
  if (rem === 1) throw invalidBase64();
  // Node's decoder is lenient: it also takes '+' and '/', truncates characters above U+00FF to their low
  // byte, skips other characters and stops at '='. Without a regex (2 ms per MiB): reject '+', '/' and
  // non-ASCII text outright, then any skipped or stopping character shows as a short output.
  if (
    text.indexOf('+') !== -1 ||
    text.indexOf('/') !== -1 ||
    Buffer.byteLength(text, 'utf8') !== text.length
  ) {
    throw invalidBase64();
  }
  // Decoded straight into fresh, unpooled memory: `Buffer.from(text, 'base64url')` would leave the bytes
  // (often a key) in Node's shared pool, readable through any later pooled Buffer's `.buffer`.
  const expected = Math.floor((end * 3) / 4);
  const out = allocUninit(expected);
  const written =
    expected === 0 ? 0 : Buffer.from(out.buffer, 0, expected).write(text.slice(0, end), 'base64url');
  if (written !== expected) {
    out.fill(0);
    throw invalidBase64();
  }
  if (rem !== 0) {
    const last = BASE64URL_VALUE(text.charCodeAt(end - 1));
    // 2 chars carry 8 bits (4 spare), 3 chars carry 16 bits (2 spare); spare bits must be zero.
    if ((rem === 2 && (last & 0x0f) !== 0) || (rem === 3 && (last & 0x03) !== 0)) {
      out.fill(0);
      throw invalidBase64();
    }
  }
  return out;
}

function invalidBase64(): MeshCryptoError {
  return new MeshCryptoError('ERR_INVALID_INPUT', 'invalid base64url text');
}

/**
 * Concatenate byte strings into one new array.
 *
 * @example
 * ```ts
 * import { concatBytes } from '@mesh/crypto-core';
 * concatBytes(new Uint8Array([1]), new Uint8Array([2, 3])); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const [i, p] of parts.entries()) {
    assertBytes(`parts[${i}]`, p);
    length += p.length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Bytes as given (no copy), or a string's UTF-8 encoding ({@link utf8Encode}: a string that is not
 * well-formed UTF-16 is refused). Anything else throws `ERR_INVALID_INPUT`.
 *
 * @example
 * ```ts
 * import { toBytes } from '@mesh/crypto-core';
 * toBytes('hi'); // Uint8Array [0x68, 0x69]
 * ```
 */
export function toBytes(data: BytesLike, name = 'data'): Uint8Array {
  if (typeof data === 'string') return utf8Encode(data, name);
  if (data instanceof Uint8Array) return data;
  throw new MeshCryptoError('ERR_INVALID_INPUT', 'data must be a Uint8Array or a string');
}

/**
 * Zero-fill a temporary that held secret material. Best effort: JavaScript may have copied it elsewhere,
 * but the buffers we own no longer hold the secret.
 *
 * @example
 * ```ts
 * import { wipe } from '@mesh/crypto-core';
 * const tmp = deriveSomething();
 * try { use(tmp); } finally { wipe(tmp); }
 * ```
 */
export function wipe(bytes: Uint8Array): void {
  bytes.fill(0);
}
