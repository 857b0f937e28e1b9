/**
 * Secret bytes outside Node's shared Buffer pool (internal).
 *
 * `Buffer.from(text, enc)` and `Buffer.allocUnsafe` cut small results from one shared 8 KiB pool, so the
 * bytes of a KEK or key decoded that way stay readable through any other pooled buffer's `.buffer`, long
 * after the copy is wiped. Everything here decodes straight into a fresh `Uint8Array` that owns its whole
 * `ArrayBuffer`, and {@link owned} gives every array this package returns the same property.
 *
 * @module
 * @internal
 */

/** Source of character codes: a string, or bytes read from a file (ASCII). */
type Codes = { readonly length: number; at(i: number): number };

const fromString = (s: string): Codes => ({ length: s.length, at: (i) => s.charCodeAt(i) });
const fromBytes = (b: Uint8Array): Codes => ({ length: b.length, at: (i) => b[i]! });

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function base64Value(c: number): number {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  if (c === 43 || c === 45) return 62; // '+' or '-'
  if (c === 47 || c === 95) return 63; // '/' or '_'
  return -1;
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

/** Start and end of `codes` without surrounding whitespace. */
function trimmed(codes: Codes): [number, number] {
  let start = 0;
  let end = codes.length;
  while (start < end && isSpace(codes.at(start))) start++;
  while (end > start && isSpace(codes.at(end - 1))) end--;
  return [start, end];
}

/** Hex digits into a fresh array, or undefined when not exactly `2 * length` hex digits. */
function decodeHex(codes: Codes, start: number, end: number, length: number): Uint8Array | undefined {
  if (end - start !== 2 * length) return undefined;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const hi = hexValue(codes.at(start + 2 * i));
    const lo = hexValue(codes.at(start + 2 * i + 1));
    if (hi < 0 || lo < 0) {
      out.fill(0);
      return undefined;
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/**
 * Base64 or base64url (one alphabet throughout, padding optional) of exactly `length` bytes into a fresh
 * array, or undefined. Non-zero spare bits are refused, so each key has one spelling.
 */
function decodeBase64(codes: Codes, start: number, end: number, length: number): Uint8Array | undefined {
  let pads = 0;
  while (end > start && codes.at(end - 1) === 61) {
    end--; // '='
    pads++;
  }
  const chars = end - start;
  if (chars !== Math.ceil((length * 4) / 3)) return undefined;
  // Padding is optional, but when present it completes the last quantum exactly (RFC 4648 §4).
  if (pads !== 0 && (chars + pads) % 4 !== 0) return undefined;
  const out = new Uint8Array(length);
  let url: boolean | undefined;
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = start; i < end; i++) {
    const c = codes.at(i);
    const v = base64Value(c);
    if (v < 0) return fail(out);
    if (c === 43 || c === 47 || c === 45 || c === 95) {
      const isUrl = c === 45 || c === 95;
      if (url !== undefined && url !== isUrl) return fail(out);
      url = isUrl;
    }
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if (o !== length || (acc & ((1 << bits) - 1)) !== 0) return fail(out);
  acc = 0;
  return out;
}

function fail(out: Uint8Array): undefined {
  out.fill(0);
  return undefined;
}

/**
 * Decodes a `length`-byte secret written as hex (`2 * length` digits) or base64/base64url, from a string or
 * from ASCII bytes, ignoring surrounding whitespace, into a fresh array. Undefined when it is neither.
 */
export function decodeSecret(text: string | Uint8Array, length: number): Uint8Array | undefined {
  const codes = typeof text === 'string' ? fromString(text) : fromBytes(text);
  const [start, end] = trimmed(codes);
  return decodeHex(codes, start, end, length) ?? decodeBase64(codes, start, end, length);
}

/** Base64url (no padding or with it) of exactly `length` bytes into a fresh array, or undefined. */
export function decodeSecretBase64Url(text: string, length: number): Uint8Array | undefined {
  const codes = fromString(text);
  const [start, end] = trimmed(codes);
  for (let i = start; i < end; i++) {
    const c = codes.at(i);
    if (c === 43 || c === 47) return undefined; // '+' '/': not the URL-safe alphabet
  }
  return decodeBase64(codes, start, end, length);
}

/**
 * `bytes` itself when it owns its whole `ArrayBuffer`, else a copy that does (and the original is wiped
 * when `wipeSource`, because it may be a slice of the shared pool).
 */
export function owned(bytes: Uint8Array, wipeSource = false): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length && !Buffer.isBuffer(bytes)) {
    return bytes;
  }
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (wipeSource) bytes.fill(0);
  return copy;
}
