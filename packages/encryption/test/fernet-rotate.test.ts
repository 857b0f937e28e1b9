/**
 * `enc.fernet.rotate` is MultiFernet.rotate: it takes a Fernet token and returns a Fernet token. Any other
 * ciphertext (a GCM, RSA or stream envelope, as text or bytes) is refused with a typed error instead of being
 * rewrapped into an envelope, which a caller expecting a Fernet token would store as one.
 */
import { describe, expect, it } from 'vitest';
import { codeOf, makeEncryption, rsaPair } from './support/setup.js';

describe('fernet.rotate takes Fernet tokens only', () => {
  it('refuses envelopes of every kind', async () => {
    const enc = await makeEncryption();
    const { publicKeyPem } = await rsaPair();
    const gcm = await enc.encryptToString('hello');
    const rsa = Buffer.from(await enc.encryptFor(publicKeyPem, 'hello')).toString('base64url');
    for (const envelope of [gcm, rsa, Buffer.from(await enc.encrypt('x')).toString('base64url')]) {
      expect(await codeOf(enc.fernet.rotate(envelope))).toBe('ERR_TOKEN_MALFORMED');
    }
    expect(await codeOf(enc.fernet.rotate(42 as unknown as string))).toBe('ERR_INVALID_INPUT');
    // The envelope is untouched and still opens as before.
    expect(await enc.decryptToString(gcm)).toBe('hello');
  });

  it('rotates a Fernet token to the new primary, keeping its timestamp', async () => {
    const enc = await makeEncryption();
    const token = await enc.fernet.encrypt('legacy');
    await enc.rotate({ algorithm: 'fernet' });
    const rotated = await enc.fernet.rotate(token);
    expect(rotated).not.toBe(token);
    expect(enc.inspect(rotated).format).toBe('fernet');
    expect(enc.inspect(rotated).timestamp).toBe(enc.inspect(token).timestamp);
    expect(await enc.fernet.decryptToString(rotated)).toBe('legacy');
  });
});
