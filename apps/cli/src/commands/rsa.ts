/**
 * `meshcrypt rsa keygen|encrypt|decrypt`: RSA key files and encryption for a public key.
 *
 * - `keygen` writes the private key as PKCS#8 PEM with mode 0600, encrypted (PBES2: PBKDF2-HMAC-SHA256 +
 *   AES-256-CBC, which `openssl pkey -passin` opens) when `--passphrase-env` names a passphrase, and the
 *   public key as SPKI PEM. Neither file is ever overwritten.
 * - `encrypt` is the library's `encryptFor`: RSA-OAEP-SHA256 direct (0x04) when the input fits the key,
 *   hybrid RSA-OAEP + AES-256-GCM (0x02) otherwise. `decrypt` is `decryptWith`.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import {
  decryptPrivateKeyPem,
  encryptPrivateKeyPem,
  generateRsaKeyPair,
  type RsaModulusBits,
} from '@mesh/crypto-core';
import { createEncryption } from '@mesh/encryption';
import { CliError, EXIT, usage } from '../errors.js';
import { type Output, openInput, openOutput, readAll, readFileArgument, writeOutput } from '../io.js';

/** Options of the RSA commands. */
export interface RsaOptions {
  bits?: number;
  out?: string;
  pub?: string;
  key?: string;
  passphraseEnv?: string;
  context?: string;
  in?: string;
}

const BITS: readonly number[] = [2048, 3072, 4096];

function passphrase(options: RsaOptions): string | undefined {
  if (options.passphraseEnv === undefined) return undefined;
  const value = process.env[options.passphraseEnv];
  if (value === undefined || value === '') {
    throw usage(`environment variable ${options.passphraseEnv} (passphrase) is not set`);
  }
  return value;
}

/** `rsa keygen --bits N --out PRIVATE.pem --pub PUBLIC.pem [--passphrase-env VAR]`. */
export async function rsaKeygen(options: RsaOptions): Promise<void> {
  const bits = options.bits ?? 3072;
  if (!BITS.includes(bits)) throw usage('--bits must be 2048, 3072 or 4096');
  if (options.out === undefined || options.pub === undefined) {
    throw usage('rsa keygen writes two files: give --out PRIVATE.pem and --pub PUBLIC.pem');
  }
  if (options.out === options.pub) throw usage('--out and --pub must be different files');
  const secret = passphrase(options);
  for (const path of [options.out, options.pub]) {
    if (existsSync(path)) {
      throw new CliError('ERR_FILE_EXISTS', `${path} exists; key files are never overwritten`, EXIT.USAGE);
    }
  }
  // Both temporary files first: a missing or unwritable directory fails before any key exists.
  const privateOut = await openOutput(options.out, {
    mode: 0o600,
    noOverwrite: true,
    purpose: 'private key file',
  });
  let publicOut: Output;
  try {
    publicOut = await openOutput(options.pub, { mode: 0o644, noOverwrite: true, purpose: 'public key file' });
  } catch (error) {
    await privateOut.abort();
    throw error;
  }
  try {
    const pair = await generateRsaKeyPair(bits as RsaModulusBits);
    const privatePem =
      secret === undefined ? pair.privateKeyPem : await encryptPrivateKeyPem(pair.privateKeyPem, secret);
    await endWith(privateOut, privatePem);
    await endWith(publicOut, pair.publicKeyPem);
    // Private key first: a public key without its private key would be a trap for senders.
    await privateOut.commit();
    await publicOut.commit();
  } catch (error) {
    await privateOut.abort();
    await publicOut.abort();
    throw error;
  }
}

function endWith(output: Output, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    output.writable.once('error', reject);
    output.writable.end(text, () => resolve());
  });
}

/** `rsa encrypt --pub PUBLIC.pem [--context TEXT]`. */
export async function rsaEncrypt(options: RsaOptions): Promise<void> {
  if (options.pub === undefined) throw usage('rsa encrypt needs --pub PUBLIC.pem');
  const publicKey = new TextDecoder().decode(await readFileArgument(options.pub, 'public key file'));
  const plaintext = await readAll((await openInput(options.in)).stream);
  const enc = await createEncryption();
  try {
    const sealed = await enc.encryptFor(
      publicKey,
      plaintext,
      options.context === undefined ? {} : { context: options.context },
    );
    await writeOutput(options.out, sealed);
  } finally {
    plaintext.fill(0);
    await enc.close();
  }
}

/** `rsa decrypt --key PRIVATE.pem [--passphrase-env VAR] [--context TEXT]`. */
export async function rsaDecrypt(options: RsaOptions): Promise<void> {
  if (options.key === undefined) throw usage('rsa decrypt needs --key PRIVATE.pem');
  const file = new TextDecoder().decode(await readFileArgument(options.key, 'private key file'));
  const secret = passphrase(options);
  let privateKey = file;
  if (file.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    if (secret === undefined)
      throw usage(`${options.key} is encrypted: give its passphrase with --passphrase-env VAR`);
    try {
      privateKey = await decryptPrivateKeyPem(file, secret);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ERR_DECRYPTION_FAILED') {
        throw new CliError('ERR_DECRYPTION_FAILED', `wrong passphrase for ${options.key}`, EXIT.DATA);
      }
      throw error;
    }
  }
  const ciphertext = await readAll((await openInput(options.in)).stream);
  const enc = await createEncryption();
  try {
    const plaintext = await enc.decryptWith(
      privateKey,
      ciphertext,
      options.context === undefined ? {} : { context: options.context },
    );
    try {
      await writeOutput(options.out, plaintext);
    } finally {
      plaintext.fill(0);
    }
  } finally {
    await enc.close();
  }
}
