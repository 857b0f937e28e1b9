/**
 * Key-encryption keys (KEKs): resolve a {@link KekSource} to 32 bytes and split them, with HKDF-SHA256
 * (RFC 5869), into independent subkeys for sealing material, the document MAC and the KEK check value,
 * so that no key serves two purposes.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import {
  base64UrlDecode,
  base64UrlEncode,
  DEFAULT_PBKDF2_ITERATIONS,
  DecryptionError,
  hkdfSha256,
  MAX_PBKDF2_ITERATIONS,
  pbkdf2Sha256,
  randomBytes,
  utf8Encode,
  wipe,
} from '@mesh/crypto-core';
import { KeyError } from './errors.js';
import type { KekSource, StoredKekParams } from './types.js';

/** Length of every KEK, raw or derived. */
export const KEK_LENGTH = 32;
const KEK_SALT_LENGTH = 16;
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
 * Decodes a raw KEK written as 64 hex digits or base64 / base64url (padding optional).
 * @internal
 */
export function decodeRawKek(text: string, origin: string): Uint8Array {
  const t = text.trim();
  let bytes: Uint8Array | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) {
    bytes = Uint8Array.from(Buffer.from(t, 'hex'));
  } else if (/^[A-Za-z0-9+/]{43}=?$/.test(t) || /^[A-Za-z0-9_-]{43}=?$/.test(t)) {
    bytes = base64UrlDecode(t.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  if (!bytes || bytes.length !== KEK_LENGTH) {
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
    if (stored) {
      salt = base64UrlDecode(stored.salt);
      iterations = stored.iterations;
    } else {
      salt = randomBytes(KEK_SALT_LENGTH);
      iterations = source.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
    }
    const maxIterations = options.maxIterations ?? MAX_PBKDF2_ITERATIONS;
    if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > maxIterations) {
      throw new KeyError('ERR_KEY_DERIVATION', `KEK iterations must be an integer in 1..${maxIterations}`);
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
    kek = Uint8Array.from(source.key);
  } else if ('env' in source) {
    const value = process.env[source.env];
    if (value === undefined || value === '') {
      throw new KeyError('ERR_CONFIG_INVALID', `environment variable ${source.env} (KEK) is not set`);
    }
    kek = decodeRawKek(value, `environment variable ${source.env}`);
  } else if ('file' in source) {
    let text: string;
    try {
      text = await readFile(source.file, 'utf8');
    } catch (cause) {
      throw new KeyError('ERR_CONFIG_INVALID', `cannot read KEK file ${source.file}`, { cause });
    }
    kek = decodeRawKek(text, `file ${source.file}`);
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
