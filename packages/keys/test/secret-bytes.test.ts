/** The pool-free decoders of KEKs and Fernet keys (internal module). */
import { expect, it } from 'vitest';
import { decodeSecret, decodeSecretBase64Url } from '../src/_secret-bytes.js';

it('secret decoding: hex (any case), base64, base64url, whitespace; one spelling per key; no mixed alphabets', () => {
  const k = crypto.getRandomValues(new Uint8Array(32));
  const b = Buffer.from(k.buffer);
  for (const t of [
    b.toString('hex'),
    b.toString('hex').toUpperCase(),
    b.toString('base64'),
    b.toString('base64url'),
    ` ${b.toString('base64')}\n`,
  ])
    expect(decodeSecret(t, 32)).toEqual(k);
  expect(decodeSecret(`${b.toString('base64')}=`, 32)).toBeUndefined();
  expect(decodeSecret(b.toString('hex').slice(1), 32)).toBeUndefined();
  expect(decodeSecretBase64Url(b.toString('base64url'), 32)).toEqual(k);
  expect(decodeSecretBase64Url(`${b.toString('base64url')}=`, 32)).toEqual(k);
  const f = Buffer.from(new Uint8Array(32).fill(0xfb).buffer).toString('base64');
  expect(f.includes('+') || f.includes('/')).toBe(true);
  expect(decodeSecretBase64Url(f, 32)).toBeUndefined();
});
