/**
 * RSA envelopes (0x02 hybrid, 0x04 direct) carry no sender authentication: anyone with the public key can
 * seal a valid one. So they never set the compressed flag, and a received one with the flag set is refused
 * (`ERR_TOKEN_MALFORMED`) before anything is decrypted or inflated: otherwise any public-key holder could
 * make the key holder inflate a small envelope up to the bomb limit.
 */
import { deflateSync } from 'node:zlib';
import { aesGcmEncrypt, importRsaPublicKey, randomBytes, rsaKeyId, rsaOaepEncrypt } from '@mesh/crypto-core';
import { describe, expect, it } from 'vitest';
import { codeOf, jsonPayload, makeEncryption, rsaPair, syncCodeOf } from './support/setup.js';

function header(algorithm: number, flags: number, keyId: number): Uint8Array {
  return Uint8Array.of(
    1,
    algorithm,
    flags,
    keyId >>> 24,
    (keyId >>> 16) & 0xff,
    (keyId >>> 8) & 0xff,
    keyId & 0xff,
  );
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

/** What an attacker with only the public key can build: a valid hybrid envelope with the flag set. */
function forgedHybrid(publicKeyPem: string, payload: Uint8Array, context: string): Uint8Array {
  const pub = importRsaPublicKey(publicKeyPem);
  const h = header(0x02, 0x01, rsaKeyId(pub));
  const dataKey = randomBytes(32);
  const wrapped = rsaOaepEncrypt(pub, dataKey);
  const nonce = randomBytes(12);
  const body = aesGcmEncrypt(dataKey, nonce, payload, concat(h, new TextEncoder().encode(context)));
  return concat(h, Uint8Array.of(wrapped.length >> 8, wrapped.length & 0xff), wrapped, nonce, body);
}

function forgedDirect(publicKeyPem: string, payload: Uint8Array): Uint8Array {
  const pub = importRsaPublicKey(publicKeyPem);
  const h = header(0x04, 0x01, rsaKeyId(pub));
  return concat(h, rsaOaepEncrypt(pub, payload, { label: h }));
}

describe('RSA envelopes and the compressed flag', () => {
  it('encryptFor never compresses, whatever the policy', async () => {
    const enc = await makeEncryption({ compression: { thresholdBytes: 0, minSavingsRatio: 0 } });
    const { publicKeyPem, privateKeyPem } = await rsaPair();
    const data = jsonPayload(20_000); // compresses ~5x: the GCM envelope would set the flag
    expect(enc.inspect(await enc.encrypt(data)).compressed).toBe(true);
    for (const payload of [data, 'x'.repeat(100)]) {
      const sealed = await enc.encryptFor(publicKeyPem, payload, { context: 'ctx' });
      expect(sealed[2], 'flags byte').toBe(0);
      expect(enc.inspect(sealed).compressed).toBe(false);
      expect(new TextDecoder().decode(await enc.decryptWith(privateKeyPem, sealed, { context: 'ctx' }))).toBe(
        payload,
      );
    }
  });

  it('a forged hybrid bomb with the flag set is refused before inflation', async () => {
    const enc = await makeEncryption();
    const { publicKeyPem, privateKeyPem } = await rsaPair();
    const bomb = deflateSync(new Uint8Array(32 * 1024 * 1024)); // ~32 KB that inflates to 32 MiB
    const envelope = forgedHybrid(publicKeyPem, bomb, 'ctx');
    expect(await codeOf(enc.decryptWith(privateKeyPem, envelope, { context: 'ctx' }))).toBe(
      'ERR_TOKEN_MALFORMED',
    );
    expect(syncCodeOf(() => enc.inspect(envelope))).toBe('ERR_TOKEN_MALFORMED');
    // The same envelope given to decrypt(): refused by the same header rule.
    expect(await codeOf(enc.decrypt(envelope, { context: 'ctx' }))).toBe('ERR_TOKEN_MALFORMED');
  });

  it('a forged direct envelope with the flag set is refused', async () => {
    const enc = await makeEncryption();
    const { publicKeyPem, privateKeyPem } = await rsaPair();
    const envelope = forgedDirect(publicKeyPem, deflateSync(new Uint8Array(100_000)));
    expect(await codeOf(enc.decryptWith(privateKeyPem, envelope))).toBe('ERR_TOKEN_MALFORMED');
    expect(syncCodeOf(() => enc.inspect(envelope))).toBe('ERR_TOKEN_MALFORMED');
  });
});
