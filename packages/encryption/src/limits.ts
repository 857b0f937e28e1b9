/**
 * The facade's bounds on attacker-controlled work, in one place: the largest plaintext sealed in memory, the
 * largest ciphertext (bytes or text) read, the longest context and service name. Every entry point checks
 * them through the functions below before allocating or doing any cryptographic work, so a hostile size
 * costs a comparison. The root `SECURITY.md` ("Limits") lists them with every other bound of the project.
 *
 * @module
 */
import { EncryptionError, invalidInput, malformed } from './errors.js';
import { MAX_PADDING_BUCKET } from './padding.js';

/**
 * Largest plaintext `encrypt`, `encryptFor` and `enc.fernet.encrypt` seal in memory: 256 MiB (2^28 bytes).
 * Larger data belongs in the streaming format (`encryptStream`), which holds one segment at a time. The
 * value keeps every in-memory ciphertext representable as text: V8 strings hold at most 2^29 - 24
 * characters, and the base64url of an envelope of this size plus its overhead is about 3.6 x 10^8.
 * Past it: `ERR_PLAINTEXT_TOO_LARGE`, before the plaintext is encoded, compressed or encrypted.
 *
 * @example
 * ```ts
 * import { MAX_PLAINTEXT_BYTES } from '@mesh/encryption';
 * const sealed = body.length <= MAX_PLAINTEXT_BYTES ? await enc.encrypt(body) : undefined; // else stream it
 * ```
 */
export const MAX_PLAINTEXT_BYTES = 256 * 1024 * 1024;

/**
 * Room for everything an envelope adds to its plaintext: `MAX_PADDING_BUCKET` (16 MiB) for length-hiding
 * padding (a padded payload grows by less than one bucket) and 1 MiB for headers, nonces, tags and an
 * RSA-wrapped key (2,048 bytes at 16,384 bits), with room to spare.
 */
export const MAX_ENVELOPE_OVERHEAD_BYTES = MAX_PADDING_BUCKET + 1024 * 1024;

/**
 * Largest ciphertext read in memory (envelope or Fernet token bytes): {@link MAX_PLAINTEXT_BYTES} plus
 * {@link MAX_ENVELOPE_OVERHEAD_BYTES}. No envelope this package writes is longer, so a longer one is not
 * ours: `ERR_TOKEN_MALFORMED`, before anything is decoded or decrypted.
 *
 * @example
 * ```ts
 * import { MAX_CIPHERTEXT_BYTES } from '@mesh/encryption';
 * if (request.contentLength > MAX_CIPHERTEXT_BYTES) return reply(413);
 * ```
 */
export const MAX_CIPHERTEXT_BYTES = MAX_PLAINTEXT_BYTES + MAX_ENVELOPE_OVERHEAD_BYTES;

/** Longest ciphertext text (base64url of {@link MAX_CIPHERTEXT_BYTES}, with padding): checked before decoding. */
export const MAX_CIPHERTEXT_TEXT_LENGTH = 4 * Math.ceil(MAX_CIPHERTEXT_BYTES / 3);

/**
 * Longest context, in UTF-8 bytes: 4 KiB. A context names a service, tenant or route (bound as associated
 * data, and into every stream key); it is cached per service, so its length bounds that cache's memory too.
 * Past it: `ERR_INVALID_INPUT` (`ERR_CONFIG_INVALID` for a configured default context).
 *
 * @example
 * ```ts
 * import { MAX_CONTEXT_BYTES } from '@mesh/encryption';
 * const context = `tenant:${tenantId}`; // well under MAX_CONTEXT_BYTES
 * ```
 */
export const MAX_CONTEXT_BYTES = 4096;

/** Longest service name, in UTF-16 code units, in the config and in a call's `service` option. */
export const MAX_SERVICE_NAME_LENGTH = 256;

/**
 * UTF-8 length of `text`, or `undefined` as soon as it passes `max` (no allocation; stops early). A lone
 * surrogate counts 3 bytes, like its replacement; the encoder refuses it later anyway.
 * @internal
 */
export function utf8LengthUpTo(text: string, max: number): number | undefined {
  // Each UTF-16 unit is at least one UTF-8 byte: a longer string is over whatever it holds.
  if (text.length > max) return undefined;
  // Long strings: Node's native count (about 4x the loop below), same rule for lone surrogates.
  if (text.length > 4096 && typeof Buffer === 'function') {
    const length = Buffer.byteLength(text, 'utf8');
    return length > max ? undefined : length;
  }
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
    if (bytes > max) return undefined;
  }
  return bytes;
}

function tooLarge(what: string, limit: number): EncryptionError {
  return new EncryptionError(
    'ERR_PLAINTEXT_TOO_LARGE',
    `${what} is larger than ${limit} bytes, the in-memory limit (stream larger data with encryptStream)`,
  );
}

/**
 * Refuses a plaintext over {@link MAX_PLAINTEXT_BYTES}: bytes by length, a string before it is encoded
 * (its length first, its exact UTF-8 length only when it could be over). `ERR_PLAINTEXT_TOO_LARGE`.
 * @internal
 */
export function checkPlaintextSize(data: Uint8Array | string, limit = MAX_PLAINTEXT_BYTES): void {
  if (typeof data === 'string') {
    // At most 3 bytes per UTF-16 unit: only a string longer than a third of the limit needs counting.
    if (data.length * 3 > limit && utf8LengthUpTo(data, limit) === undefined)
      throw tooLarge('plaintext', limit);
  } else if (data.length > limit) {
    throw tooLarge('plaintext', limit);
  }
}

/** Refuses ciphertext bytes over {@link MAX_CIPHERTEXT_BYTES} (`ERR_TOKEN_MALFORMED`). @internal */
export function checkCiphertextSize(length: number, limit = MAX_CIPHERTEXT_BYTES): void {
  if (length > limit) {
    throw malformed(
      `ciphertext is longer than ${limit} bytes, longer than any envelope or token this package writes`,
    );
  }
}

/** Refuses ciphertext text over {@link MAX_CIPHERTEXT_TEXT_LENGTH}, before decoding (`ERR_TOKEN_MALFORMED`). @internal */
export function checkCiphertextTextLength(length: number, limit = MAX_CIPHERTEXT_TEXT_LENGTH): void {
  if (length > limit) {
    throw malformed(
      `ciphertext text is longer than ${limit} characters, longer than any this package writes`,
    );
  }
}

/**
 * Refuses a context whose UTF-8 form would pass {@link MAX_CONTEXT_BYTES} (`ERR_INVALID_INPUT`), counted
 * without encoding it.
 * @internal
 */
export function checkContextSize(context: string, limit = MAX_CONTEXT_BYTES): void {
  if (utf8LengthUpTo(context, limit) === undefined) {
    throw invalidInput(`context is longer than ${limit} bytes (UTF-8)`);
  }
}

/** Refuses a service name that is empty or longer than {@link MAX_SERVICE_NAME_LENGTH} (`ERR_INVALID_INPUT`). @internal */
export function checkServiceName(service: unknown): asserts service is string {
  if (typeof service !== 'string' || service.length === 0 || service.length > MAX_SERVICE_NAME_LENGTH) {
    throw invalidInput(`service must be a non-empty string of at most ${MAX_SERVICE_NAME_LENGTH} characters`);
  }
}
