/**
 * `meshcrypt fernet keygen|encrypt|decrypt`: standard Fernet tokens under a key given on the command line
 * (`--key`, explicitly) or in the environment (`--key-env VAR`), byte-compatible with Python's
 * `cryptography.fernet`. No keyring is involved.
 *
 * @module
 */
import { Fernet } from '@mesh/crypto-core';
import { usage } from '../errors.js';
import { openInput, readAll, writeOutput } from '../io.js';

/** Options of the Fernet commands. */
export interface FernetOptions {
  key?: string;
  keyEnv?: string;
  ttl?: number;
  in?: string;
  out?: string;
}

function fernetKey(options: FernetOptions): Fernet {
  if ((options.key === undefined) === (options.keyEnv === undefined)) {
    throw usage('give the Fernet key with exactly one of --key KEY, --key-env VAR');
  }
  let key = options.key;
  if (options.keyEnv !== undefined) {
    key = process.env[options.keyEnv];
    if (key === undefined || key === '') throw usage(`environment variable ${options.keyEnv} is not set`);
  }
  return new Fernet(key!.trim());
}

/** `fernet keygen`: a new key, URL-safe base64 of 32 random bytes (as `Fernet.generate_key()`). */
export async function fernetKeygen(options: { out?: string }): Promise<void> {
  await writeOutput(options.out, `${Fernet.generateKey()}\n`);
}

/** `fernet encrypt`: one token, one line. */
export async function fernetEncrypt(options: FernetOptions): Promise<void> {
  const fernet = fernetKey(options);
  const plaintext = await readAll((await openInput(options.in)).stream);
  try {
    await writeOutput(options.out, `${fernet.encrypt(plaintext)}\n`);
  } finally {
    plaintext.fill(0);
  }
}

/** `fernet decrypt [--ttl SECONDS]`: the plaintext bytes of one token. */
export async function fernetDecrypt(options: FernetOptions): Promise<void> {
  const fernet = fernetKey(options);
  const bytes = await readAll((await openInput(options.in)).stream);
  const token = new TextDecoder('latin1').decode(bytes).trim();
  const plaintext = fernet.decrypt(token, options.ttl === undefined ? {} : { ttl: options.ttl });
  try {
    await writeOutput(options.out, plaintext);
  } finally {
    plaintext.fill(0);
  }
}
