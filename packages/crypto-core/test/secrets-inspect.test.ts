/**
 * Objects that hold secrets never print them: `util.inspect` (at any depth, even with hidden properties) and
 * `JSON.stringify` of a Fernet, a MultiFernet or an imported RSA private key contain no key bytes, in any of
 * the forms a log could carry them (raw latin1, hex, base64, base64url, util.inspect's decimal byte list).
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Fernet, generateRsaKeyPair, importRsaPrivateKey, MultiFernet } from '../src/index.js';

/** Every printable form of (a window of) `secret`. */
function forms(secret: Uint8Array): string[] {
  const b = Buffer.from(secret);
  const window = b.subarray(0, Math.min(12, b.length));
  return [
    b.toString('latin1'),
    b.toString('hex'),
    b.toString('base64'),
    b.toString('base64url'),
    window.toString('hex'),
    window.toString('base64').slice(0, 12),
    window.toString('base64url').slice(0, 12),
    Array.from(window).join(', '), // how util.inspect prints a Uint8Array
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
    const text = raw.replace(/\s+/g, ' '); // util.inspect breaks long byte lists over lines
    for (const secret of secrets) {
      for (const form of forms(secret))
        expect(text.includes(form), `${name} prints a key (${form})`).toBe(false);
    }
  }
}

// Recognisable key bytes (no zero runs that could match by accident).
const KEY = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);

describe('secret-holding objects do not print their secrets', () => {
  it('Fernet and MultiFernet', () => {
    const f = new Fernet(KEY);
    expectNoSecret('Fernet', f, [KEY, KEY.subarray(0, 16), KEY.subarray(16)]);
    expect(inspect(f)).toContain('Fernet');
    const mf = new MultiFernet([f, new Fernet(Fernet.generateKey())]);
    expectNoSecret('MultiFernet', mf, [KEY, KEY.subarray(0, 16), KEY.subarray(16)]);
  });

  it('an imported RSA private key shows its size and id, not its DER', async () => {
    const { privateKeyPem } = await generateRsaKeyPair(2048);
    const key = importRsaPrivateKey(privateKeyPem);
    // The last 64 bytes of the PKCS#8 DER are inside the CRT coefficient qInv: secret.
    const secretTail = key.pkcs8Der.subarray(key.pkcs8Der.length - 64);
    expectNoSecret('RsaPrivateKey', key, [secretTail]);
    expect(inspect(key)).toMatch(/RsaPrivateKey.*2048/);
    // The key still works and still exposes its DER to code that asks for it.
    expect(key.pkcs8Der.length).toBeGreaterThan(1000);
  });
});
