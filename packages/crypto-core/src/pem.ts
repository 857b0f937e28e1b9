/**
 * PEM, the textual encoding of DER (RFC 7468).
 *
 * Encoding writes what OpenSSL writes: `-----BEGIN <label>-----`, base64 in 64-character lines, `\n` endings.
 * Decoding is RFC 7468 §3's *strict* grammar with two allowances: CRLF or LF line endings and whitespace
 * around the block. Exactly one block, canonical base64, no explanatory text, no RFC 1421 headers.
 *
 * @module
 */
import { MeshCryptoError } from './errors.js';

/**
 * A decoded PEM block.
 *
 * @example
 * ```ts
 * import { pemDecode } from '@mesh/crypto-core';
 * const block: PemBlock = pemDecode(text); // { label: 'PUBLIC KEY', der: Uint8Array(294) }
 * ```
 */
export interface PemBlock {
  /** The label between `-----BEGIN ` and `-----`, e.g. `PUBLIC KEY`. */
  readonly label: string;
  /** The DER bytes. */
  readonly der: Uint8Array;
}

// RFC 7468 §3: label = [ labelchar *( ["-" / SP] labelchar ) ], labelchar = %x21-2C / %x2E-7E.
const LABEL = /^(?:[\x21-\x2c\x2e-\x7e](?:[- ]?[\x21-\x2c\x2e-\x7e])*)?$/;
/**
 * Longest PEM text {@link pemDecode} reads, in characters (1 MiB): an RSA-16384 private key is about 13 KB,
 * so the bound is generous for every key while keeping the work on hostile text (split, base64) finite.
 * Longer input is `ERR_INVALID_INPUT` before any parsing.
 *
 * @example
 * ```ts
 * import { MAX_PEM_LENGTH } from '@mesh/crypto-core';
 * if (text.length > MAX_PEM_LENGTH) reject('not a key file');
 * ```
 */
export const MAX_PEM_LENGTH = 1 << 20;
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

function invalid(message: string): MeshCryptoError {
  return new MeshCryptoError('ERR_INVALID_INPUT', message);
}

/**
 * Encode DER bytes as PEM (RFC 7468 §2), with 64-character base64 lines and a trailing newline.
 *
 * @throws `ERR_INVALID_INPUT` when `label` is not a valid RFC 7468 label.
 * @example
 * ```ts
 * import { pemEncode, pemDecode } from '@mesh/crypto-core';
 * const pem = pemEncode('PUBLIC KEY', spkiDer); // '-----BEGIN PUBLIC KEY-----\nMIIB...\n-----END PUBLIC KEY-----\n'
 * pemDecode(pem, 'PUBLIC KEY').der; // equals spkiDer
 * ```
 */
export function pemEncode(label: string, der: Uint8Array): string {
  if (typeof label !== 'string' || !LABEL.test(label)) throw invalid('invalid PEM label');
  if (!(der instanceof Uint8Array)) throw invalid('PEM content must be bytes');
  const body = base64Encode(der);
  let out = `-----BEGIN ${label}-----\n`;
  for (let i = 0; i < body.length; i += 64) out += `${body.slice(i, i + 64)}\n`;
  return `${out}-----END ${label}-----\n`;
}

/**
 * Decode exactly one PEM block, strictly.
 *
 * @param expectedLabel when given, the block's label must equal it (e.g. `'PRIVATE KEY'`).
 * @throws `ERR_INVALID_INPUT` for anything that is not one well-formed block (bad armour, mismatched or
 *   unexpected label, characters outside base64, non-canonical padding, empty body);
 *   `ERR_UNSUPPORTED_ALGORITHM` for legacy RFC 1421 encrypted PEM (`Proc-Type:` headers).
 * @example
 * ```ts
 * import { pemDecode } from '@mesh/crypto-core';
 * const { label, der } = pemDecode(text); // label: 'PUBLIC KEY', der: SubjectPublicKeyInfo bytes
 * ```
 */
export function pemDecode(pem: string, expectedLabel?: string): PemBlock {
  if (typeof pem !== 'string') throw invalid('PEM input must be a string');
  if (pem.length > MAX_PEM_LENGTH) throw invalid(`PEM input is longer than ${MAX_PEM_LENGTH} characters`);
  // Line by line, no backtracking regular expression over the whole input (hostile PEM must stay linear).
  const lines = pem.trim().split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.endsWith('\r')) lines[i] = line.slice(0, -1);
  }
  if (lines.length < 3) throw invalid('not a single PEM block');
  const begin = armour(lines[0] as string, '-----BEGIN ');
  const end = armour(lines[lines.length - 1] as string, '-----END ');
  if (begin === undefined || end === undefined || begin !== end || !LABEL.test(begin)) {
    throw invalid('not a single PEM block, or its labels are invalid or differ');
  }
  if (expectedLabel !== undefined && begin !== expectedLabel) {
    throw invalid(`expected a PEM block labelled "${expectedLabel}"`);
  }
  const body = lines.slice(1, -1);
  if (body.some((l) => l.startsWith('Proc-Type:'))) {
    // RFC 1421 encryption headers (`openssl -traditional -aes256`): MD5-based KDF, unsupported on purpose.
    throw new MeshCryptoError(
      'ERR_UNSUPPORTED_ALGORITHM',
      'legacy encrypted PEM (Proc-Type) is not supported; use encrypted PKCS#8',
    );
  }
  // §3 strict: only base64 lines between the armour; trailing blanks on a line are tolerated.
  const der = base64Decode(body.map((l) => l.trimEnd()).join(''));
  if (der === undefined || der.length === 0) throw invalid('PEM body is not canonical base64');
  return { label: begin, der };
}

/** The label inside `-----BEGIN <label>-----` / `-----END <label>-----`, or `undefined`. */
function armour(line: string, prefix: string): string | undefined {
  return line.startsWith(prefix) && line.endsWith('-----') && line.length >= prefix.length + 5
    ? line.slice(prefix.length, -5)
    : undefined;
}

/** Standard base64 (RFC 4648 §4) with padding. */
function base64Encode(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += `${B64[n >>> 18]}${B64[(n >>> 12) & 63]}${B64[(n >>> 6) & 63]}${B64[n & 63]}`;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += `${B64[n >>> 18]}${B64[(n >>> 12) & 63]}==`;
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += `${B64[n >>> 18]}${B64[(n >>> 12) & 63]}${B64[(n >>> 6) & 63]}=`;
  }
  return out;
}

/** Strict standard base64: length a multiple of 4, padding only at the end, zero unused bits (RFC 4648 §3.5). */
function base64Decode(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j);
      let v = c < 128 ? (B64_INDEX[c] as number) : -1;
      if (v < 0) {
        if (c === 0x3d && last && j >= 4 - pad)
          v = 0; // '=' only in the final padding positions
        else return undefined;
      }
      n = (n << 6) | v;
    }
    if (last && pad === 2 && (n & 0xffff) !== 0) return undefined;
    if (last && pad === 1 && (n & 0xff) !== 0) return undefined;
    out[o++] = n >>> 16;
    if (o < out.length) out[o++] = (n >>> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}
