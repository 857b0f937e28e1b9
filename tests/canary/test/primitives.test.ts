/**
 * Canary test of `@mesh/crypto-core`, `@mesh/compression` and `@mesh/metrics`: every public operation, on its
 * success path and its failure paths (wrong key, tampered data, bad input that contains a secret), on both
 * crypto backends where they differ, leaves no canary in what it throws (with causes and properties), logs or
 * warns; objects that hold keys print none; the metrics exposition of a real prom-client registry holds none
 * after every recorder was fed canary strings.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import {
  CompressionPolicyResolver,
  compress,
  createDecompressStream,
  decompress,
  maybeCompress,
  pakoEngine,
  validatePolicy,
} from '@mesh/compression';
import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  aesGcmDecrypt,
  aesGcmEncrypt,
  aesGcmEncryptInto,
  aesGcmOpenDetached,
  aesGcmSeal,
  base64UrlDecode,
  base64UrlEncode,
  copyToSecureBytes,
  decryptPrivateKeyPem,
  encryptPrivateKeyPem,
  Fernet,
  forgeBackend,
  hkdfSha256,
  hmacSha256,
  hmacSha256Verify,
  importRsaPrivateKey,
  importRsaPublicKey,
  MultiFernet,
  nodeBackend,
  pbkdf2Sha256,
  pemDecode,
  pemEncode,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
  sha256,
  toBytes,
  utf8Decode,
  xchacha20Poly1305Decrypt,
  xchacha20Poly1305Encrypt,
} from '@mesh/crypto-core';
import {
  failureReasonOf,
  NoopCollector,
  PrometheusCollector,
  parseKeyId,
  safeCollector,
} from '@mesh/metrics';
import { describe, expect, it } from 'vitest';
import { Canaries, expectClean, expectPrintsClean, Probe } from './scanner.js';

const canaries = new Canaries();
const probe = new Probe(canaries);

const key = canaries.bytes('aes key');
const wrongKey = canaries.bytes('wrong aes key');
const nonce = new Uint8Array(12).fill(1);
const plaintext = canaries.bytes('binary plaintext', 48);
const textPlaintext = canaries.text('text plaintext', 40);
const context = canaries.text('context');
const password = canaries.text('password');
const passphrase = canaries.text('pkcs8 passphrase');
const badConfigSecret = canaries.text('secret pasted into a config value');

describe('crypto-core', () => {
  for (const backend of [nodeBackend, forgeBackend]) {
    it(`AES-GCM, AES-CBC, HMAC, HKDF on ${backend.name}: success and failure paths`, async () => {
      const sealed = await probe.succeeds('gcm encrypt', () =>
        aesGcmEncrypt(key, nonce, plaintext, context, backend),
      );
      await probe.succeeds('gcm decrypt', () => aesGcmDecrypt(key, nonce, sealed, context, backend));
      await probe.fails('gcm wrong key', () => aesGcmDecrypt(wrongKey, nonce, sealed, context, backend));
      await probe.fails('gcm wrong aad', () => aesGcmDecrypt(key, nonce, sealed, `${context}!`, backend));
      const tampered = Uint8Array.from(sealed);
      tampered[3]! ^= 1;
      await probe.fails('gcm tampered', () => aesGcmDecrypt(key, nonce, tampered, context, backend));
      await probe.fails('gcm truncated', () =>
        aesGcmDecrypt(key, nonce, sealed.subarray(0, 10), context, backend),
      );
      await probe.fails('gcm key of 31 secret bytes', () =>
        aesGcmEncrypt(key.subarray(1), nonce, plaintext, undefined, backend),
      );
      await probe.fails('gcm nonce made of key bytes', () =>
        aesGcmEncrypt(key, key.subarray(0, 11), plaintext, undefined, backend),
      );
      await probe.fails('gcm plaintext with a lone surrogate', () =>
        aesGcmEncrypt(key, nonce, `${textPlaintext}\uD800`, undefined, backend),
      );
      await probe.fails('gcm aad with a lone surrogate', () =>
        aesGcmEncrypt(key, nonce, plaintext, `${context}\uDFFF`, backend),
      );
      await probe.fails('gcm into a short buffer', () =>
        aesGcmEncryptInto(key, nonce, plaintext, undefined, new Uint8Array(8), 0, backend),
      );
      const detached = await probe.succeeds('gcm seal', () =>
        aesGcmSeal(key, nonce, plaintext, context, backend),
      );
      await probe.fails('gcm open detached, wrong key', () =>
        aesGcmOpenDetached(wrongKey, nonce, detached.ciphertext, detached.tag, context, backend),
      );
      const iv = new Uint8Array(16).fill(2);
      const cbc = await probe.succeeds('cbc encrypt', () => aesCbcEncrypt(key, iv, plaintext, backend));
      await probe.fails('cbc wrong key (padding)', () => aesCbcDecrypt(wrongKey, iv, cbc, backend));
      await probe.fails('cbc iv made of key bytes', () =>
        aesCbcDecrypt(key, key.subarray(0, 15), cbc, backend),
      );
      const mac = await probe.succeeds('hmac', () => hmacSha256(key, plaintext, backend));
      expect(
        await probe.succeeds('hmac verify, wrong key', () =>
          hmacSha256Verify(wrongKey, plaintext, mac, backend),
        ),
      ).toBe(false);
      await probe.fails('hmac verify, tag of key bytes', () =>
        hmacSha256Verify(key, plaintext, key.subarray(0, 5), backend),
      );
      await probe.succeeds('sha256', () => sha256(plaintext, backend));
      await probe.succeeds('hkdf', () => hkdfSha256(key, '', context, 32, backend));
      await probe.fails('hkdf bad length', () => hkdfSha256(key, '', context, 0, backend));
      await probe.fails('hkdf info with a lone surrogate', () =>
        hkdfSha256(key, '', `${context}\uD800`, 32, backend),
      );
    });

    it(`Fernet and MultiFernet on ${backend.name}`, async () => {
      const fernetKey = canaries.bytes(`fernet key ${backend.name}`);
      const other = canaries.bytes(`other fernet key ${backend.name}`);
      const f = new Fernet(base64UrlEncode(fernetKey), { backend });
      const token = await probe.succeeds('fernet encrypt', () => f.encrypt(textPlaintext));
      await probe.succeeds('fernet decrypt', () => f.decrypt(token));
      await probe.fails('fernet wrong key', () => new Fernet(other, { backend }).decrypt(token));
      await probe.fails('fernet expired', () =>
        f.decrypt(token, { ttl: 1, now: Math.floor(Date.now() / 1000) + 3600 }),
      );
      await probe.fails('fernet tampered', () => f.decrypt(`${token.slice(0, 20)}A${token.slice(21)}`));
      await probe.fails('fernet token that is a secret', () => f.decrypt(badConfigSecret));
      await probe.fails('fernet key text that is a secret', () => new Fernet(badConfigSecret));
      await probe.fails('fernet key of 31 secret bytes', () => new Fernet(fernetKey.subarray(1)));
      await probe.fails(
        'fernet key as hex of the key',
        () => new Fernet(Buffer.from(fernetKey).toString('hex')),
      );
      const multi = new MultiFernet([new Fernet(other, { backend }), f]);
      await probe.succeeds('multifernet decrypt', () => multi.decrypt(token));
      await probe.succeeds('multifernet rotate', () => multi.rotate(token));
      await probe.fails('multifernet wrong keys', () =>
        new MultiFernet([new Fernet(other, { backend })]).decrypt(token),
      );
      expectPrintsClean(canaries, 'Fernet and MultiFernet', f, multi);
    });
  }

  it('XChaCha20-Poly1305, PBKDF2, bytes helpers, guarded memory', async () => {
    const xnonce = new Uint8Array(24).fill(3);
    const sealed = await probe.succeeds('xchacha encrypt', () =>
      xchacha20Poly1305Encrypt(key, xnonce, plaintext, context),
    );
    await probe.succeeds('xchacha decrypt', () => xchacha20Poly1305Decrypt(key, xnonce, sealed, context));
    await probe.fails('xchacha wrong key', () => xchacha20Poly1305Decrypt(wrongKey, xnonce, sealed, context));
    await probe.fails('xchacha key of 31 secret bytes', () =>
      xchacha20Poly1305Encrypt(key.subarray(1), xnonce, plaintext),
    );
    await probe.succeeds('pbkdf2', () => pbkdf2Sha256(password, 'salt', 1_000, 32));
    await probe.fails('pbkdf2 bad iterations', () => pbkdf2Sha256(password, 'salt', 0, 32));
    await probe.fails('pbkdf2 password with a lone surrogate', () =>
      pbkdf2Sha256(`${password}\uD800`, 'salt', 1, 32),
    );
    await probe.fails('base64url of a secret with junk', () => base64UrlDecode(`${badConfigSecret}!`));
    await probe.fails('utf8 decode of secret bytes', () => utf8Decode(Uint8Array.from([...key, 0xff, 0xfe])));
    await probe.fails('toBytes of a secret with a lone surrogate', () => toBytes(`${textPlaintext}\uD800`));
    const guarded = await probe.succeeds('guarded copy', () => copyToSecureBytes(key));
    expect(guarded.length).toBe(32);
  });

  it('RSA-OAEP, PEM and encrypted PKCS#8', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const other = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    for (const [label, pem] of [
      ['rsa private key', privateKey],
      ['other rsa private key', other.privateKey],
    ] as const) {
      // The secret parts of each key (d, p, q, dP, dQ, qInv), and its PEM body as a whole.
      const jwk = importRsaPrivateKeyJwk(pem);
      for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
        canaries.add(`${label} ${part}`, Buffer.from(jwk[part], 'base64url'));
      }
    }
    const mine = await probe.succeeds('import private key', () => importRsaPrivateKey(privateKey));
    const wrapped = await probe.succeeds('oaep encrypt', () =>
      rsaOaepEncrypt(publicKey, plaintext.subarray(0, 32), { label: context }),
    );
    await probe.succeeds('oaep decrypt', () => rsaOaepDecrypt(mine, wrapped, { label: context }));
    for (const backend of [nodeBackend, forgeBackend]) {
      await probe.fails(`oaep decrypt with another key (${backend.name})`, () =>
        rsaOaepDecrypt(other.privateKey, wrapped, { label: context, backend }),
      );
      await probe.fails(`oaep decrypt, wrong label (${backend.name})`, () =>
        rsaOaepDecrypt(mine, wrapped, { backend }),
      );
    }
    await probe.fails('import private key as a public key', () => importRsaPublicKey(privateKey));
    await probe.fails('import a truncated private key', () => importRsaPrivateKey(privateKey.slice(0, 900)));
    const body = privateKey.split('\n').slice(1, -2).join('');
    await probe.fails('import a private key PEM with a broken line', () =>
      importRsaPrivateKey(
        `-----BEGIN PRIVATE KEY-----\n${body.slice(0, 64)}!\n${body.slice(65)}\n-----END PRIVATE KEY-----\n`,
      ),
    );
    await probe.fails('import a private key under the wrong label', () =>
      importRsaPrivateKey(privateKey.replaceAll('PRIVATE KEY', 'CERTIFICATE')),
    );
    await probe.fails('pem decode of a secret', () => pemDecode(badConfigSecret));
    await probe.fails('pem with a secret as its label', () =>
      pemEncode(`${badConfigSecret}-----`, new Uint8Array(1)),
    );
    const atRest = await probe.succeeds('encrypt pkcs8', () =>
      encryptPrivateKeyPem(privateKey, passphrase, { iterations: 1_000 }),
    );
    await probe.succeeds('decrypt pkcs8', () => decryptPrivateKeyPem(atRest, passphrase));
    await probe.fails('decrypt pkcs8, wrong passphrase', () =>
      decryptPrivateKeyPem(atRest, `${passphrase}x`),
    );
    await probe.fails('decrypt pkcs8, forge, wrong passphrase', () =>
      decryptPrivateKeyPem(atRest, `${passphrase}x`, { backend: forgeBackend }),
    );
    await probe.fails('decrypt pkcs8 given the unencrypted key', () =>
      decryptPrivateKeyPem(privateKey, passphrase),
    );
    await probe.fails('encrypt pkcs8, empty passphrase', () => encryptPrivateKeyPem(privateKey, ''));
    await probe.fails('encrypt pkcs8, passphrase with a lone surrogate', () =>
      encryptPrivateKeyPem(privateKey, `${passphrase}\uD800`, { iterations: 1_000 }),
    );
    expectPrintsClean(canaries, 'RsaPrivateKey', mine);
  });
});

describe('compression', () => {
  it('compress, decompress, streams and policies, on both engines', async () => {
    const data = new TextEncoder().encode(textPlaintext.repeat(50));
    for (const engine of [undefined, pakoEngine]) {
      const options = engine === undefined ? {} : { engine };
      const z = await probe.succeeds('compress', () => compress(data, options));
      await probe.succeeds('decompress', () => decompress(z, { maxInflatedBytes: data.length, ...options }));
      await probe.fails('decompress past the limit', () =>
        decompress(z, { maxInflatedBytes: 100, ...options }),
      );
      await probe.fails('decompress of secret bytes', () =>
        decompress(plaintext, { maxInflatedBytes: 1 << 20, ...options }),
      );
      await probe.fails('decompress truncated', () =>
        decompress(z.subarray(0, 20), { maxInflatedBytes: 1 << 20, ...options }),
      );
      const corrupt = Uint8Array.from(z);
      corrupt[10]! ^= 0xff;
      await probe.fails('decompress corrupted', () =>
        decompress(corrupt, { maxInflatedBytes: 1 << 20, ...options }),
      );
      await probe.fails(
        'decompress stream of secret bytes',
        () =>
          new Promise((resolve, reject) => {
            const s = createDecompressStream({ maxInflatedBytes: 1 << 20, ...options });
            s.on('data', () => {});
            s.on('error', reject);
            s.on('end', resolve);
            s.end(Buffer.from(plaintext));
          }),
      );
      await probe.succeeds('maybeCompress', () => maybeCompress(data, validatePolicy({})));
    }
    await probe.fails('policy with a secret as a value', () =>
      validatePolicy({ level: badConfigSecret as never }),
    );
    await probe.fails('policy with a secret as a threshold', () =>
      validatePolicy({ thresholdBytes: badConfigSecret as never }),
    );
    await probe.fails(
      'resolver with a secret as a value',
      () =>
        new CompressionPolicyResolver({ services: { a: { maxInflatedBytes: badConfigSecret as never } } }),
    );
  });
});

describe('metrics', () => {
  it('no recorder turns a canary into a label; the exposition of a real registry holds none', async () => {
    const c = new PrometheusCollector();
    const registry = c.registry;
    const secret = badConfigSecret;
    await probe.succeeds('record everything with canary inputs', () => {
      c.recordOperation('encrypt', 'aes-256-gcm', 'success', 0.001, 10, 20);
      c.recordOperation(secret as never, secret as never, secret as never, 0.001, 10, 20);
      c.recordFailure(secret as never);
      c.recordFailure(failureReasonOf(Object.assign(new Error(secret), { code: secret })));
      c.recordKeyUse(secret);
      c.recordKeyUse(Buffer.from(key).toString('hex'));
      c.recordRotation(secret as never);
      c.setKeyAge(secret, Date.now());
      c.removeKey(secret);
      c.recordCompression(100, 50);
    });
    expect(parseKeyId(secret)).toBeUndefined();
    const safe = safeCollector(
      {
        ...new NoopCollector(),
        recordOperation: () => {
          throw new Error(`collector broke on ${secret}`);
        },
      } as never,
      { errorsTo: c },
    );
    await probe.succeeds('safe collector swallowing an error that holds a secret', () =>
      safe.recordOperation('encrypt', 'aes-256-gcm', 'failure', 0, 0, 0),
    );
    await probe.fails(
      'collector with a secret as its prefix',
      () => new PrometheusCollector({ prefix: `${secret}-` }),
    );
    const text = await registry.metrics();
    const json = JSON.stringify(await registry.getMetricsAsJSON());
    expectClean(canaries, 'prometheus exposition', text, json);
    expect(text).toContain('mesh_crypto_operations_total');
    expectPrintsClean(canaries, 'collectors', c, safe);
  });
});

/** The private components of a PEM key, for registering them as secrets. */
function importRsaPrivateKeyJwk(pem: string): Record<'d' | 'p' | 'q' | 'dp' | 'dq' | 'qi', string> {
  return createPrivateKey(pem).export({ format: 'jwk' }) as never;
}
