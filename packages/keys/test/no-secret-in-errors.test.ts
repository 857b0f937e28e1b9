/**
 * Regressions found by the canary test (`tests/canary`): a key store's error must not quote the file it
 * failed to parse (an operator who names the KEK file as the keyring file would find part of the KEK in the
 * error's `cause`), and a derived password key must not print its key, even with hidden properties shown.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { format, inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { derivePasswordKey, FileKeyStore, PasswordKeyCache } from '../src/index.js';
import { tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => cleanup());

/** Everything an error exposes down its cause chain, as one text. */
function exposed(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    parts.push(
      String(e),
      (e as Error).stack ?? '',
      inspect(e, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
    );
  }
  return parts.join('\n');
}

describe('no secret in errors or printed objects', () => {
  it('a keyring file that is not JSON: the error does not quote it (here: a KEK file named as the keyring)', async () => {
    const kekHex = 'de0ced5d7b41f0c2a9e8d7c6b5a4938271605f4e3d2c1b0a99887766554433221';
    const path = join(dir, 'kek.hex');
    await writeFile(path, `${kekHex}\n`);
    const error = await new FileKeyStore({ path }).load('default').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_KEYSTORE_CORRUPT' });
    expect((error as Error).message).toContain('not valid JSON');
    const text = exposed(error);
    for (let i = 0; i + 6 <= kekHex.length; i++) expect(text).not.toContain(kekHex.slice(i, i + 6));
  });

  it('a derived password key prints its parameters only, even with hidden properties shown', async () => {
    const derived = await derivePasswordKey('correct horse battery staple', { iterations: 1_000 });
    const cached = await new PasswordKeyCache().derive('correct horse battery staple', derived.params);
    const keyHex = Buffer.from(derived.key).toString('hex');
    for (const value of [derived, cached]) {
      const printed = [
        inspect(value),
        inspect(value, { showHidden: true, depth: Number.POSITIVE_INFINITY }),
        format('%o', value),
        format('%O', value),
        JSON.stringify(value),
      ];
      for (const text of printed) {
        expect(text).not.toContain(keyHex.slice(0, 12));
        expect(text).not.toMatch(new RegExp(`\\b${[...derived.key.subarray(0, 4)].join(',\\s*')}\\b`));
      }
      expect(inspect(value, { showHidden: true })).toContain('pbkdf2-hmac-sha256');
    }
  });
});
