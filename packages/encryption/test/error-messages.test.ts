/**
 * Errors an operator can act on, without an oracle for a remote caller: one code per failure class, and a
 * message that says what happened. Foreign input (valid base64url, or bytes, that is not an envelope) says
 * "not a Mesh envelope or Fernet token"; every authentication failure (wrong key, wrong context, altered
 * data, in every mode) has the one message "decryption failed (wrong key or context, or the data was
 * altered)", identical whatever the cause.
 */
import { DECRYPTION_FAILED_MESSAGE } from '@mesh/crypto-core';
import { describe, expect, it } from 'vitest';
import { makeEncryption, rsaPair } from './support/setup.js';

const FOREIGN = 'not a Mesh envelope or Fernet token';
const AUTH = 'decryption failed (wrong key or context, or the data was altered)';

async function errorOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('resolved');
}

describe('operator-facing error messages', () => {
  it('foreign input names itself as such, with the code of its class', async () => {
    const enc = await makeEncryption();
    const { privateKeyPem } = await rsaPair();
    const helloWorld = Buffer.from('Hello, world! This is not an envelope.').toString('base64url');
    for (const input of [
      helloWorld,
      new TextEncoder().encode('{"json":true, "long": "enough to be a header"}'),
    ]) {
      const e = await errorOf(enc.decrypt(input));
      expect(e.code).toBe('ERR_UNSUPPORTED_ALGORITHM');
      expect(e.message).toContain(FOREIGN);
      expect((await errorOf(enc.decryptWith(privateKeyPem, input))).message).toContain(FOREIGN);
      expect(() => enc.inspect(input)).toThrow(FOREIGN);
    }
    // Too short to hold a header: malformed, and said to be foreign too.
    const short = await errorOf(enc.decrypt(Buffer.from('hey').toString('base64url')));
    expect(short.code).toBe('ERR_TOKEN_MALFORMED');
    expect(short.message).toContain(FOREIGN);
  });

  it('authentication failures share one message that names the likely causes', async () => {
    expect(DECRYPTION_FAILED_MESSAGE).toBe(AUTH);
    const enc = await makeEncryption();
    const other = await makeEncryption();
    const { publicKeyPem, privateKeyPem } = await rsaPair();
    const sealed = await enc.encrypt('hello', { context: 'a' });
    const altered = Uint8Array.from(sealed);
    altered[altered.length - 1]! ^= 1;
    const token = await enc.fernet.encrypt('hello');
    const rsa = await enc.encryptFor(publicKeyPem, 'hello', { context: 'a' });
    const failures = [
      enc.decrypt(sealed, { context: 'b' }), // wrong context
      enc.decrypt(altered, { context: 'a' }), // altered
      enc.decrypt(sealed), // missing context
      other.fernet.decrypt(token), // wrong key
      enc.decryptWith(privateKeyPem, rsa, { context: 'b' }),
    ];
    for (const failure of failures) {
      const e = await errorOf(failure);
      expect(e.code).toBe('ERR_DECRYPTION_FAILED');
      expect(e.message).toBe(AUTH);
    }
  });
});
