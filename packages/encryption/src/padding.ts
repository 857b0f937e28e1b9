/**
 * Length hiding: the opt-in padding policy of a service, and the one padding rule every mode reads
 * (docs/FORMAT.md "Padding (flag bit1)").
 *
 * Compress-then-encrypt leaks a secret mixed with attacker-chosen data through the ciphertext length
 * (CRIME, BREACH). With a policy, the payload (after compression) is padded to a bucket before it is
 * encrypted, so the length reveals only the bucket:
 *
 * - `{ multipleOf: N }`: the next multiple of N bytes (constant overhead, below N).
 * - `{ powerOfTwo: true, minBytes, maxBytes }`: the next power of two, at least `minBytes`; above `maxBytes`
 *   the next multiple of `maxBytes` (so the overhead stays below 2x and below `maxBytes`).
 *
 * The padding is ISO/IEC 7816-4: one 0x80 byte right after the payload, then zeros up to the bucket. It is
 * inside the AEAD plaintext, and header flag bit1 (`FLAG_PADDED`, itself authenticated) says it is there.
 * A reader needs no policy: it strips whatever padding the writer added; a padded plaintext without the 0x80
 * marker is `ERR_DECRYPTION_FAILED`, like any other forgery.
 *
 * @module
 */
import { DecryptionError, wipe } from '@mesh/crypto-core';
import { configInvalid } from './errors.js';

/**
 * A service's padding policy as configured (`padding` at the top level or under `services.<name>`).
 * `false` (the default) pads nothing.
 *
 * @example
 * ```ts
 * const a: PaddingConfig = { multipleOf: 256 };
 * const b: PaddingConfig = { powerOfTwo: true, minBytes: 256, maxBytes: 65536 };
 * ```
 */
export type PaddingConfig =
  | false
  | {
      /** Pad to the next multiple of this many bytes: an integer from 2 to 16 MiB. */
      readonly multipleOf: number;
    }
  | {
      /** Pad to the next power of two. */
      readonly powerOfTwo: true;
      /** Smallest bucket, a power of two from 16 to 16 MiB. Default 256. */
      readonly minBytes?: number;
      /** Largest power-of-two bucket (a power of two >= minBytes, at most 16 MiB); above it, multiples of it. Default 1 MiB. */
      readonly maxBytes?: number;
    };

/** A validated padding policy, every default filled in (`ResolvedService.padding`). */
export type PaddingPolicy =
  | { readonly multipleOf: number }
  | { readonly powerOfTwo: true; readonly minBytes: number; readonly maxBytes: number };

/** Largest bucket step a policy may name (16 MiB): bounds the padding any one message can get. */
export const MAX_PADDING_BUCKET = 16 * 1024 * 1024;
/** Defaults of `{ powerOfTwo: true }`. */
export const DEFAULT_PADDING_MIN_BYTES = 256;
export const DEFAULT_PADDING_MAX_BYTES = 1024 * 1024;
/** First padding byte (ISO/IEC 7816-4); every later one is 0x00. */
export const PADDING_MARKER = 0x80;

/**
 * Validate a `padding` config value (`field` names it in the error). `undefined` = inherit, `false` = off.
 * Throws `ERR_CONFIG_INVALID`.
 */
export function resolvePadding(value: unknown, field: string): PaddingPolicy | false | undefined {
  if (value === undefined || value === false) return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw configInvalid(
      field,
      'must be false, { multipleOf: N } or { powerOfTwo: true, minBytes?, maxBytes? }',
    );
  }
  const v = value as Record<string, unknown>;
  const keys = Object.keys(v);
  if ('multipleOf' in v) {
    for (const k of keys)
      if (k !== 'multipleOf') throw configInvalid(`${field}.${k}`, 'is not a known option with multipleOf');
    const n = v.multipleOf;
    if (!Number.isSafeInteger(n) || (n as number) < 2 || (n as number) > MAX_PADDING_BUCKET) {
      throw configInvalid(`${field}.multipleOf`, `must be an integer from 2 to ${MAX_PADDING_BUCKET}`);
    }
    return Object.freeze({ multipleOf: n as number });
  }
  if ('powerOfTwo' in v) {
    for (const k of keys) {
      if (k !== 'powerOfTwo' && k !== 'minBytes' && k !== 'maxBytes') {
        throw configInvalid(`${field}.${k}`, 'is not a known option with powerOfTwo');
      }
    }
    if (v.powerOfTwo !== true)
      throw configInvalid(`${field}.powerOfTwo`, 'must be true (use padding: false to turn padding off)');
    const minBytes = powerOfTwoIn(v.minBytes, `${field}.minBytes`, 16, DEFAULT_PADDING_MIN_BYTES);
    const maxBytes = powerOfTwoIn(v.maxBytes, `${field}.maxBytes`, minBytes, DEFAULT_PADDING_MAX_BYTES);
    return Object.freeze({ powerOfTwo: true as const, minBytes, maxBytes });
  }
  throw configInvalid(
    field,
    'must be false, { multipleOf: N } or { powerOfTwo: true, minBytes?, maxBytes? }',
  );
}

function powerOfTwoIn(value: unknown, field: string, min: number, fallback: number): number {
  const n = value === undefined ? Math.max(fallback, min) : value;
  if (
    !Number.isSafeInteger(n) ||
    (n as number) < min ||
    (n as number) > MAX_PADDING_BUCKET ||
    ((n as number) & ((n as number) - 1)) !== 0
  ) {
    throw configInvalid(field, `must be a power of two from ${min} to ${MAX_PADDING_BUCKET}`);
  }
  return n as number;
}

/**
 * The padded length of a `length`-byte payload: the smallest bucket that holds the payload and the 0x80
 * marker (so always greater than `length`).
 *
 * @example
 * ```ts
 * paddedLength({ multipleOf: 256 }, 255); // 256
 * paddedLength({ multipleOf: 256 }, 256); // 512: the marker needs a byte
 * paddedLength({ powerOfTwo: true, minBytes: 256, maxBytes: 65536 }, 300); // 512
 * ```
 */
export function paddedLength(policy: PaddingPolicy, length: number): number {
  const needed = length + 1;
  if ('multipleOf' in policy) return Math.ceil(needed / policy.multipleOf) * policy.multipleOf;
  if (needed <= policy.minBytes) return policy.minBytes;
  if (needed > policy.maxBytes) return Math.ceil(needed / policy.maxBytes) * policy.maxBytes;
  // needed <= maxBytes <= 2^24: clz32 gives the next power of two exactly.
  return 2 ** (32 - Math.clz32(needed - 1));
}

/**
 * Write the padding of a payload already at `out[offset, offset + length)`: 0x80, then zeros up to
 * `offset + padded`. Zeros are written, not assumed: `out` may be uninitialised memory.
 */
export function writePadding(out: Uint8Array, offset: number, length: number, padded: number): void {
  out[offset + length] = PADDING_MARKER;
  out.fill(0, offset + length + 1, offset + padded);
}

/**
 * `payload` padded to `padded` bytes, in a new array that owns its whole buffer (the caller wipes it: it
 * holds the plaintext). For codecs that cannot seal in place (RSA-OAEP).
 */
export function padToNew(payload: Uint8Array, padded: number): Uint8Array {
  const out = new Uint8Array(padded);
  out.set(payload, 0);
  out[payload.length] = PADDING_MARKER;
  return out;
}

/**
 * Length of the payload inside an authenticated padded plaintext: the index of its last 0x80 byte, after
 * which every byte is zero. No such byte: `ERR_DECRYPTION_FAILED` (only a writer that did not follow the
 * format can produce it, so it is reported as any forgery is). Zeros are skipped four bytes at a time where
 * the memory is aligned: a large bucket's padding is then scanned at a small fraction of its decryption cost.
 */
export function unpaddedLength(padded: Uint8Array): number {
  const base = padded.byteOffset;
  let i = padded.length;
  // Bytes from the end until the absolute position `base + i` is 4-aligned ...
  while (i > 0 && ((base + i) & 3) !== 0) {
    const b = padded[i - 1]!;
    if (b !== 0) return markerAt(b, i - 1);
    i--;
  }
  // ... then whole zero words, down to the first word that starts inside the array ...
  const firstWord = Math.ceil(base / 4);
  const endWord = (base + i) / 4;
  if (endWord > firstWord) {
    const words = new Uint32Array(padded.buffer, firstWord * 4, endWord - firstWord);
    let w = words.length;
    while (w > 0 && words[w - 1] === 0) w--;
    i = (firstWord + w) * 4 - base;
  }
  // ... then bytes again: the last non-zero word, or the unaligned head of the array.
  while (i > 0) {
    const b = padded[i - 1]!;
    if (b !== 0) return markerAt(b, i - 1);
    i--;
  }
  throw new DecryptionError();
}

function markerAt(byte: number, index: number): number {
  if (byte !== PADDING_MARKER) throw new DecryptionError();
  return index;
}

/**
 * The payload of an authenticated padded plaintext, in a new array that owns its whole buffer; `padded` is
 * wiped (also when its padding is bad).
 */
export function stripPadding(padded: Uint8Array): Uint8Array {
  try {
    return padded.slice(0, unpaddedLength(padded));
  } finally {
    wipe(padded);
  }
}
