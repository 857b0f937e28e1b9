/**
 * RSA key pairs on disk (docs/DESIGN.md §4): the public key as PEM SPKI, the private key only as encrypted PKCS#8
 * (PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, RFC 8018 §6.2; `openssl pkey -passin` opens it),
 * written atomically with mode 0600.
 *
 * @module
 */
import { join } from 'node:path';
import {
  constantTimeEqual,
  decryptPrivateKeyPem,
  encryptPrivateKeyPem,
  importRsaPrivateKey,
  importRsaPublicKey,
  type RsaKeyPairPem,
} from '@mesh/crypto-core';
import { writeFileAtomic } from './_atomic-file.js';
import { BoundedReadError, readRegularFile } from './_bounded-read.js';
import { KeyError, KeyStoreError } from './errors.js';

/** Options of {@link saveRsaKeyPair}. */
export interface SaveRsaKeyPairOptions {
  /** File name stem: `<basename>-public.pem`, `<basename>-private.pem`. Default `'rsa'`. */
  basename?: string;
  /** PBKDF2 iterations for the private key, default 600,000. */
  iterations?: number;
  /** Replace existing files; default false (a private key is never overwritten by accident). */
  overwrite?: boolean;
}

/**
 * Writes `pair` into `dir`: the public key as PEM (mode 0644) and the private key encrypted under
 * `passphrase` as PKCS#8 (mode 0600). Each file is written atomically (temp, fsync, rename/link).
 *
 * @throws {KeyError} `ERR_INVALID_INPUT` (empty passphrase, keys that do not form a pair, bad basename),
 *   `ERR_CONFIG_INVALID` (a file exists and `overwrite` is not set).
 * @example
 * ```ts
 * import { generateRsaKeyPair } from '@mesh/crypto-core';
 * const paths = await saveRsaKeyPair('.mesh', await generateRsaKeyPair(3072), process.env.RSA_PASSPHRASE!);
 * ```
 */
export async function saveRsaKeyPair(
  dir: string,
  pair: RsaKeyPairPem,
  passphrase: string,
  options: SaveRsaKeyPairOptions = {},
): Promise<{ publicKeyPath: string; privateKeyPath: string }> {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new KeyError('ERR_INVALID_INPUT', 'passphrase must be a non-empty string');
  }
  const stem = options.basename ?? 'rsa';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(stem)) {
    throw new KeyError('ERR_INVALID_INPUT', 'basename must be a plain file name');
  }
  const pub = importRsaPublicKey(pair.publicKeyPem);
  const priv = importRsaPrivateKey(pair.privateKeyPem);
  if (!constantTimeEqual(pub.spkiDer, priv.publicKey.spkiDer)) {
    throw new KeyError('ERR_INVALID_INPUT', 'public and private key do not form a pair');
  }
  const encrypted = await encryptPrivateKeyPem(
    pair.privateKeyPem,
    passphrase,
    options.iterations === undefined ? {} : { iterations: options.iterations },
  );
  const publicKeyPath = join(dir, `${stem}-public.pem`);
  const privateKeyPath = join(dir, `${stem}-private.pem`);
  const overwrite = options.overwrite ?? false;
  try {
    // Private key first: a public key without its private key would be a trap for senders.
    await writeFileAtomic(privateKeyPath, encrypted, { mode: 0o600, overwrite });
    await writeFileAtomic(publicKeyPath, pub.pem, { mode: 0o644, overwrite });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyError(
        'ERR_CONFIG_INVALID',
        `key file exists in ${dir}; pass overwrite: true to replace it`,
      );
    }
    throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `cannot write RSA key files in ${dir}`, { cause: e });
  }
  return { publicKeyPath, privateKeyPath };
}

/** PEM files of RSA keys up to 16384 bits are a few KiB; anything past this bound is not one. */
const MAX_KEY_FILE_BYTES = 64 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

async function readKeyFile(path: string): Promise<string> {
  try {
    // Regular files only, read with a bound: a FIFO or /dev/zero at the path fails instead of hanging.
    const bytes = await readRegularFile(path, MAX_KEY_FILE_BYTES);
    try {
      return utf8.decode(bytes);
    } finally {
      bytes.fill(0);
    }
  } catch (e) {
    if (e instanceof BoundedReadError || e instanceof TypeError) {
      throw new KeyError('ERR_CONFIG_INVALID', `${path} is not a PEM key file (${(e as Error).message})`, {
        cause: e,
      });
    }
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KeyError('ERR_KEY_NOT_FOUND', `no key file ${path}`, { cause: e });
    }
    throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `cannot read ${path}`, { cause: e });
  }
}

/**
 * Reads an encrypted PKCS#8 private key and returns it decrypted as PKCS#8 PEM. Unencrypted private keys
 * are refused: this layer never reads a private key stored in the clear.
 *
 * @throws {MeshCryptoError} `ERR_DECRYPTION_FAILED` for a wrong passphrase; {@link KeyError}
 *   `ERR_KEY_NOT_FOUND` (no file), `ERR_CONFIG_INVALID` (not an encrypted PKCS#8 key).
 * @example
 * ```ts
 * const privateKeyPem = await loadRsaPrivateKey('.mesh/rsa-private.pem', process.env.RSA_PASSPHRASE!);
 * ```
 */
export async function loadRsaPrivateKey(
  path: string,
  passphrase: string,
  options: { maxIterations?: number } = {},
): Promise<string> {
  const text = await readKeyFile(path);
  if (!text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    throw new KeyError('ERR_CONFIG_INVALID', `${path} is not an encrypted PKCS#8 private key`);
  }
  return decryptPrivateKeyPem(text, passphrase, options);
}

/**
 * Reads and validates a PEM SPKI public key.
 *
 * @throws {KeyError} `ERR_KEY_NOT_FOUND` (no file); crypto-core's `ERR_INVALID_INPUT` for a bad key.
 * @example
 * ```ts
 * const peer = await loadRsaPublicKey('.mesh/rsa-public.pem');
 * ```
 */
export async function loadRsaPublicKey(path: string): Promise<string> {
  return importRsaPublicKey(await readKeyFile(path)).pem;
}
