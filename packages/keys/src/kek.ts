/**
 * Key-encryption keys (KEKs): resolve a {@link KekSource} to 32 bytes and split them, with HKDF-SHA256
 * (RFC 5869), into independent subkeys for sealing material, the document MAC and the KEK check value,
 * so that no key serves two purposes.
 *
 * @module
 */
import {
  base64UrlDecode,
  base64UrlEncode,
  DEFAULT_PBKDF2_ITERATIONS,
  DecryptionError,
  hkdfSha256,
  MAX_PBKDF2_ITERATIONS,
  MIN_ACCEPTED_PBKDF2_ITERATIONS,
  pbkdf2Sha256,
  randomBytes,
  utf8Encode,
  wipe,
} from '@mesh/crypto-core';
import { BoundedReadError, readRegularFile } from './_bounded-read.js';
import { decodeSecret } from './_secret-bytes.js';
import { KeyError } from './errors.js';
import type { KekSource, StoredKekParams } from './types.js';

/** Length of every KEK, raw or derived. */
export const KEK_LENGTH = 32;
const KEK_SALT_LENGTH = 16;
/**
 * Lowest PBKDF2 iteration count ever accepted for a passphrase KEK, new or stored (NIST SP 800-132 §5.2's
 * minimum, crypto-core's `MIN_ACCEPTED_PBKDF2_ITERATIONS`). A stored count must also be at least the
 * configured one (`iterations`, default 600,000); the ceiling is `maxKekIterations` (default crypto-core's
 * `MAX_PBKDF2_ITERATIONS`, 10,000,000). Both are checked before any derivation.
 */
export const MIN_KEK_ITERATIONS = MIN_ACCEPTED_PBKDF2_ITERATIONS;
/** A KEK file is 64 hex digits or 44 base64 characters plus whitespace: anything larger is not one. */
const MAX_KEK_FILE_BYTES = 4_096;
const HKDF_SALT = utf8Encode('mesh-keyring/v1 kek');

/** A KEK of the wrong kind is a wrong KEK: the same typed error, with the reason kept as the cause. */
function wrongKind(what: string): DecryptionError {
  return new DecryptionError({
    cause: new KeyError('ERR_CONFIG_INVALID', `keyring is sealed under ${what}`),
  });
}

/** Subkeys of one KEK plus the parameters to store beside the keyring. @internal */
export interface KekKeys {
  readonly params: StoredKekParams;
  readonly sealKey: Uint8Array;
  readonly macKey: Uint8Array;
  readonly checkKey: Uint8Array;
}

/**
 * Decodes a raw KEK written as 64 hex digits or base64 / base64url (padding optional), from a string or the
 * bytes of a file, straight into a fresh array (never Node's shared Buffer pool).
 * @internal
 */
export function decodeRawKek(text: string | Uint8Array, origin: string): Uint8Array {
  const bytes = decodeSecret(text, KEK_LENGTH);
  if (!bytes) {
    // Never echo the value: it is (or is close to) a secret.
    throw new KeyError(
      'ERR_CONFIG_INVALID',
      `KEK from ${origin} must be 32 bytes written as 64 hex digits or base64/base64url`,
    );
  }
  return bytes;
}

function splitKek(kek: Uint8Array, params: StoredKekParams): KekKeys {
  const keys: KekKeys = {
    params,
    sealKey: hkdfSha256(kek, HKDF_SALT, utf8Encode('seal'), 32),
    macKey: hkdfSha256(kek, HKDF_SALT, utf8Encode('mac'), 32),
    checkKey: hkdfSha256(kek, HKDF_SALT, utf8Encode('check'), 32),
  };
  return keys;
}

/**
 * Resolves `source` into KEK subkeys. For a passphrase, `stored` (the keyring's recorded parameters) gives
 * salt and iterations; without it fresh parameters are chosen. Iterations read from a stored document are
 * capped by `maxIterations` (a hostile document must not make us spin for hours).
 * @internal
 */
export async function resolveKek(
  source: KekSource,
  stored: StoredKekParams | undefined,
  options: { maxIterations?: number } = {},
): Promise<KekKeys> {
  if (typeof source !== 'object' || source === null) {
    throw new KeyError('ERR_CONFIG_INVALID', 'kek must be { passphrase } | { env } | { file } | { key }');
  }
  if ('passphrase' in source) {
    if (typeof source.passphrase !== 'string' || source.passphrase.length === 0) {
      throw new KeyError('ERR_CONFIG_INVALID', 'kek passphrase must be a non-empty string');
    }
    if (stored && stored.type !== 'passphrase') throw wrongKind('a raw KEK, not a passphrase');
    let salt: Uint8Array;
    let iterations: number;
    const configured = source.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
    if (!Number.isSafeInteger(configured) || configured < MIN_KEK_ITERATIONS) {
      throw new KeyError('ERR_CONFIG_INVALID', `kek iterations must be an integer >= ${MIN_KEK_ITERATIONS}`);
    }
    if (stored) {
      salt = base64UrlDecode(stored.salt);
      iterations = stored.iterations;
      // The kek field is not covered by anything we can check before deriving: a document must never talk
      // us down to fewer iterations than we are configured for (a storage attacker's offline-guessing aid).
      if (iterations < configured) {
        throw new KeyError(
          'ERR_KEY_DERIVATION',
          `stored KEK iterations (${iterations}) are below the configured ${configured}; refused (use rekey to change them)`,
        );
      }
    } else {
      salt = randomBytes(KEK_SALT_LENGTH);
      iterations = configured;
    }
    const maxIterations = options.maxIterations ?? MAX_PBKDF2_ITERATIONS;
    if (!Number.isSafeInteger(iterations) || iterations < MIN_KEK_ITERATIONS || iterations > maxIterations) {
      throw new KeyError(
        'ERR_KEY_DERIVATION',
        `KEK iterations must be an integer in ${MIN_KEK_ITERATIONS}..${maxIterations}`,
      );
    }
    const kek = await pbkdf2Sha256(source.passphrase, salt, iterations, KEK_LENGTH, { maxIterations });
    try {
      return splitKek(kek, {
        type: 'passphrase',
        kdf: 'pbkdf2-hmac-sha256',
        salt: base64UrlEncode(salt),
        iterations,
      });
    } finally {
      wipe(kek);
    }
  }
  if (stored && stored.type !== 'raw') throw wrongKind('a passphrase, not a raw KEK');
  let kek: Uint8Array;
  if ('key' in source) {
    if (!(source.key instanceof Uint8Array) || source.key.length !== KEK_LENGTH) {
      throw new KeyError('ERR_CONFIG_INVALID', 'kek key must be 32 bytes');
    }
    kek = new Uint8Array(KEK_LENGTH);
    kek.set(source.key);
  } else if ('env' in source) {
    const value = process.env[source.env];
    if (value === undefined || value === '') {
      throw new KeyError('ERR_CONFIG_INVALID', `environment variable ${source.env} (KEK) is not set`);
    }
    kek = decodeRawKek(value, `environment variable ${source.env}`);
  } else if ('file' in source) {
    let bytes: Uint8Array;
    try {
      bytes = await readRegularFile(source.file, MAX_KEK_FILE_BYTES);
    } catch (cause) {
      const why = cause instanceof BoundedReadError ? `: ${cause.message}` : '';
      throw new KeyError('ERR_CONFIG_INVALID', `cannot read KEK file ${source.file}${why}`, { cause });
    }
    try {
      kek = decodeRawKek(bytes, `file ${source.file}`);
    } finally {
      bytes.fill(0);
    }
  } else {
    throw new KeyError('ERR_CONFIG_INVALID', 'kek must be { passphrase } | { env } | { file } | { key }');
  }
  try {
    return splitKek(kek, { type: 'raw' });
  } finally {
    wipe(kek);
  }
}

/** True when `keys` were derived for exactly these stored parameters (no need to derive again). @internal */
export function kekMatches(keys: KekKeys, stored: StoredKekParams): boolean {
  const a = keys.params;
  if (a.type !== stored.type) return false;
  if (a.type === 'raw') return true;
  return stored.type === 'passphrase' && a.salt === stored.salt && a.iterations === stored.iterations;
}
