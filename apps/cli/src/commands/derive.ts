/**
 * `meshcrypt derive --password-stdin --salt HEX --iterations N [--length BYTES]`: PBKDF2-HMAC-SHA256
 * (RFC 8018), the key as hex. The password is read from stdin only: never from argv, where `ps` shows it.
 *
 * @module
 */
import { pbkdf2Sha256 } from '@mesh/crypto-core';
import { usage } from '../errors.js';
import { readSecretFromStdin } from '../io.js';
import { printJson } from '../print.js';

/** Options of `derive`. */
export interface DeriveOptions {
  passwordStdin?: boolean;
  salt: string;
  iterations: number;
  length: number;
  json?: boolean;
}

/** Parses even-length hex into bytes (`ERR_USAGE` otherwise). */
export function parseHex(text: string, what: string): Uint8Array {
  if (text.length === 0 || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw usage(`${what} must be a non-empty, even number of hex digits`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** `derive`: prints the derived key as lowercase hex (or `--json` with the parameters). */
export async function deriveCommand(options: DeriveOptions): Promise<void> {
  if (!options.passwordStdin) throw usage('derive reads the password from stdin: pass --password-stdin');
  const salt = parseHex(options.salt, '--salt');
  const password = await readSecretFromStdin('the password');
  const key = await pbkdf2Sha256(password, salt, options.iterations, options.length);
  const hex = Buffer.from(key.buffer, key.byteOffset, key.length).toString('hex');
  key.fill(0);
  if (options.json) {
    return printJson({
      algorithm: 'pbkdf2-hmac-sha256',
      salt: options.salt.toLowerCase(),
      iterations: options.iterations,
      length: options.length,
      key: hex,
    });
  }
  process.stdout.write(`${hex}\n`);
}
