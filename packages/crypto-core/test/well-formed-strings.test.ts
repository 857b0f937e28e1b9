/**
 * A string that is not well-formed UTF-16 (a lone surrogate) has no UTF-8 encoding; `TextEncoder` would
 * silently replace it with U+FFFD, so two distinct strings ('a\uD800', 'a\uDFFF', 'a\uFFFD') would become the
 * same bytes: the same AAD, label, key or plaintext. Wherever a string becomes bytes, it is refused instead.
 */
import { describe, expect, it } from 'vitest';
import {
  aesGcmEncrypt,
  encryptPrivateKeyPem,
  Fernet,
  generateRsaKeyPair,
  hkdfSha256,
  hmacSha256,
  pbkdf2Sha256,
  randomBytes,
  rsaOaepEncrypt,
  toBytes,
  utf8Encode,
} from '../src/index.js';
import { expectCode, expectRejectCode } from './helpers.js';

const LONE = ['tenant-\uD800', 'tenant-\uDFFF', '\uDC00x', 'x\uD83D'];

describe('strings that are not well-formed UTF-16 are refused with ERR_INVALID_INPUT', () => {
  it('utf8Encode and toBytes', () => {
    for (const s of LONE) {
      expectCode(() => utf8Encode(s), 'ERR_INVALID_INPUT');
      expectCode(() => toBytes(s), 'ERR_INVALID_INPUT');
    }
    // A surrogate pair is well-formed: one code point, four UTF-8 bytes.
    expect(Array.from(utf8Encode('\uD83D\uDE00'))).toEqual([0xf0, 0x9f, 0x98, 0x80]);
    expect(utf8Encode('tenant-\uFFFD').length).toBe(10);
  });

  it('AES-GCM plaintext and AAD, HMAC, HKDF, Fernet', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    for (const s of LONE) {
      expectCode(() => aesGcmEncrypt(key, nonce, 'x', s), 'ERR_INVALID_INPUT');
      expectCode(() => aesGcmEncrypt(key, nonce, s), 'ERR_INVALID_INPUT');
      expectCode(() => hmacSha256(key, s), 'ERR_INVALID_INPUT');
      expectCode(() => hkdfSha256(key, '', s, 32), 'ERR_INVALID_INPUT');
      expectCode(() => new Fernet(Fernet.generateKey()).encrypt(s), 'ERR_INVALID_INPUT');
    }
  });

  it('RSA-OAEP label and plaintext, PBKDF2 password, PKCS#8 passphrase', async () => {
    const { publicKeyPem, privateKeyPem } = await generateRsaKeyPair(2048);
    for (const s of LONE) {
      expectCode(() => rsaOaepEncrypt(publicKeyPem, 'x', { label: s }), 'ERR_INVALID_INPUT');
      expectCode(() => rsaOaepEncrypt(publicKeyPem, s), 'ERR_INVALID_INPUT');
    }
    await expectRejectCode(pbkdf2Sha256('pass\uD800', 'salt', 1, 32), 'ERR_INVALID_INPUT');
    await expectRejectCode(encryptPrivateKeyPem(privateKeyPem, 'pass\uDFFF'), 'ERR_INVALID_INPUT');
  });
});
