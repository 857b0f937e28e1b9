/**
 * The facade holds keys (through its key manager, its derived subkeys and its Fernet instances): neither
 * `util.inspect` (any depth, hidden properties included) nor `JSON.stringify` of it, of its `fernet` API or
 * of a stream it made may show any key byte, in any form a log could carry it.
 */
import { inspect } from 'node:util';
import { deriveSubkey } from '@mesh/keys';
import { describe, expect, it } from 'vitest';
import { makeEncryption } from './support/setup.js';

function forms(secret: Uint8Array): string[] {
  const b = Buffer.from(secret);
  const window = b.subarray(0, 12);
  return [
    b.toString('latin1'),
    b.toString('hex'),
    b.toString('base64'),
    b.toString('base64url'),
    window.toString('hex'),
    window.toString('base64').slice(0, 12),
    window.toString('base64url').slice(0, 12),
    Array.from(window).join(', '), // util.inspect's rendering of a Uint8Array
  ];
}

function expectNoSecret(name: string, value: unknown, secrets: readonly Uint8Array[]): void {
  const printed = [
    inspect(value, { depth: Number.POSITIVE_INFINITY }),
    inspect(value, {
      depth: Number.POSITIVE_INFINITY,
      showHidden: true,
      maxArrayLength: Number.POSITIVE_INFINITY,
      maxStringLength: Number.POSITIVE_INFINITY,
    }),
    JSON.stringify(value) ?? '',
  ];
  for (const raw of printed) {
    const text = raw.replace(/\s+/g, ' ');
    for (const secret of secrets) {
      for (const form of forms(secret))
        expect(text.includes(form), `${name} prints a key (${form})`).toBe(false);
    }
  }
}

describe('the facade does not print its keys', () => {
  it('util.inspect and JSON.stringify of the facade, its fernet API and its streams', async () => {
    const enc = await makeEncryption({ keyDerivation: true });
    // Use every key so that caches (derived subkeys, Fernet instances) are populated.
    const gcm = await enc.keys.acquireEncryptionKey('aes-256-gcm');
    const fernet = await enc.keys.acquireEncryptionKey('fernet');
    await enc.decrypt(await enc.encrypt('hello'));
    await enc.fernet.decrypt(await enc.fernet.encrypt('hello'));
    const secrets = [gcm.material, fernet.material, deriveSubkey(gcm.material, 'orders', 32)];

    expectNoSecret('facade', enc, secrets);
    expectNoSecret('facade.fernet', enc.fernet, secrets);
    expectNoSecret('encryptStream', enc.encryptStream({ context: 'x' }), secrets);
    const printed = inspect(enc);
    expect(printed).toContain('orders'); // says what it is: service and keyring, nothing secret
    expect(JSON.stringify(enc)).toContain('orders');
    // The public surface still works.
    expect(enc.config.service).toBe('orders');
    expect(enc.keys.keys().length).toBeGreaterThan(0);
  });
});
