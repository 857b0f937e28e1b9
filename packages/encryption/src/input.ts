/**
 * Input coercion shared by every entry point: what the facade accepts, and the typed error otherwise.
 *
 * Plaintext: `Uint8Array` (Buffers included) or a well-formed string (UTF-8). Ciphertext: envelope bytes, envelope text
 * (base64url, padding optional), a Fernet token (text starting with `g`, i.e. a first byte of 0x80), the raw
 * Fernet bytes (first byte 0x80) or the token's ASCII bytes. Anything else (numbers, null, objects) is
 * `ERR_INVALID_INPUT`; text that is not base64url is `ERR_TOKEN_MALFORMED`.
 *
 * @module
 */
import { base64UrlDecode, base64UrlEncode, utf8Encode } from '@mesh/crypto-core';
import { invalidInput, malformed } from './errors.js';
import {
  checkCiphertextSize,
  checkCiphertextTextLength,
  checkContextSize,
  checkPlaintextSize,
} from './limits.js';

/** What `encrypt` accepts. */
export type PlaintextInput = Uint8Array | string;
/** What `decrypt`, `rewrap` and `inspect` accept. */
export type CiphertextInput = Uint8Array | string;

/** First byte of a Fernet token (Fernet spec: version 0x80). */
export const FERNET_VERSION_BYTE = 0x80;
/** ASCII `g`: the first base64url character of any byte 0x80-0x83, so of every Fernet token text. */
const ASCII_G = 0x67;

/**
 * Plaintext to bytes without copying bytes; strings are UTF-8 encoded into a fresh array of their own
 * (`TextEncoder`, never `Buffer.from`, which would copy the plaintext into Node's shared pool where any later
 * pooled Buffer's `.buffer` exposes it). The caller wipes that array once sealed. A plaintext over
 * `MAX_PLAINTEXT_BYTES` is `ERR_PLAINTEXT_TOO_LARGE`, before a string is encoded.
 */
export function plaintextBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) {
    checkPlaintextSize(data);
    return data;
  }
  // crypto-core's utf8Encode: TextEncoder, after refusing a string that is not well-formed UTF-16 (a lone
  // surrogate would silently become U+FFFD).
  if (typeof data === 'string') {
    checkPlaintextSize(data);
    return utf8Encode(data, 'plaintext');
  }
  throw invalidInput(`plaintext must be a Uint8Array or a string, not ${describe(data)}`);
}

/** A ciphertext, classified without decrypting. */
export type ParsedCiphertext =
  | { readonly kind: 'fernet'; readonly token: string; readonly text: boolean; readonly ascii?: boolean }
  | { readonly kind: 'envelope'; readonly bytes: Uint8Array; readonly text: boolean };

/**
 * Classify a ciphertext: Fernet token or mesh envelope. `text` records whether it came as a string, so
 * `rewrap` can answer in the same form. Text over `MAX_CIPHERTEXT_TEXT_LENGTH` and bytes over
 * `MAX_CIPHERTEXT_BYTES` are `ERR_TOKEN_MALFORMED` before anything is decoded.
 */
export function parseCiphertext(input: unknown): ParsedCiphertext {
  if (typeof input === 'string') {
    if (input.length === 0) throw malformed('ciphertext is empty');
    checkCiphertextTextLength(input.length);
    // A Fernet token's first byte is 0x80, so its text starts with 'g'; an envelope's (0x01) with 'A'.
    if (input.charCodeAt(0) === ASCII_G) return { kind: 'fernet', token: input, text: true };
    return { kind: 'envelope', bytes: decodeText(input), text: true };
  }
  if (input instanceof Uint8Array) {
    if (input.length === 0) throw malformed('ciphertext is empty');
    checkCiphertextSize(input.length);
    if (input[0] === FERNET_VERSION_BYTE)
      return { kind: 'fernet', token: base64UrlEncode(input), text: false };
    if (input[0] === ASCII_G) return { kind: 'fernet', token: asciiText(input), text: false, ascii: true };
    return { kind: 'envelope', bytes: input, text: false };
  }
  throw invalidInput(`ciphertext must be a Uint8Array or a string, not ${describe(input)}`);
}

/** base64url text to bytes; bad text is `ERR_TOKEN_MALFORMED` (it is a ciphertext, not a generic input). */
export function decodeText(text: string): Uint8Array {
  try {
    return base64UrlDecode(text);
  } catch (error) {
    throw malformed('ciphertext text is not base64url', error);
  }
}

/** Validate a context option: a string (possibly empty) of at most `MAX_CONTEXT_BYTES` in UTF-8, or absent. */
export function checkContext(context: unknown): string | undefined {
  if (context === undefined) return context;
  if (typeof context !== 'string') throw invalidInput(`context must be a string, not ${describe(context)}`);
  checkContextSize(context);
  return context;
}

/**
 * UTF-8 bytes of a context; empty or absent context means "no context" (AAD = header only). A context that
 * is not well-formed UTF-16 is `ERR_INVALID_INPUT`: 'tenant-\uD800', 'tenant-\uDFFF' and 'tenant-\uFFFD'
 * would otherwise all give the same associated data.
 */
export function encodeContext(context: string | undefined): Uint8Array | undefined {
  if (context === undefined || context.length === 0) return undefined;
  return utf8Encode(context, 'context');
}

function asciiText(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return text;
}

/** Type name for messages; never the value itself (it may be a secret). */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
